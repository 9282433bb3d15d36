"""The risk score of a KYC case: signals, weighed by the rules of the case's configuration.

Signals (``RiskSignal``): document validity (every required document present, passed the
content checks, not expired, a proof of address within its maximum age), the sanctions
screening (a hit at or above the rule's threshold, or no screening at all), data consistency
(name and date of birth as printed on the identity document against the profile), a
high-risk country of residence or nationality, and the device signals of sign-ins (a new
device; a sign-in country other than the profile's). A fired signal adds its rule's weight
once, whatever number of reasons it gives; each reason has a stable code and a translated
text. Reasons can name screening hits: they are for Compliance only (``kyc.view_aml_notes``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pycountry
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from brokerdesk.modules.audit.services import audit_record, json_normalise
from brokerdesk.modules.identity.devices import LOCAL, device_is_new
from brokerdesk.modules.identity.security_models import LoginEvent
from brokerdesk.modules.kyc import defaults
from brokerdesk.modules.kyc.files import ACCEPTED
from brokerdesk.modules.kyc.models import (
    KycCase,
    KycConfiguration,
    KycProfile,
    RiskAssessment,
    RiskPolicy,
    RiskRule,
    RiskSignal,
)
from brokerdesk.modules.kyc.screening import name_normalise, name_score, screening_latest

ActorLike = Any

REASON_TEXTS: dict[str, Any] = {
    "document_missing": gettext_lazy("%(kind)s is missing."),
    "document_refused": gettext_lazy("%(kind)s was refused by a reviewer."),
    "document_unchecked": gettext_lazy("%(kind)s did not pass the file checks."),
    "document_expired": gettext_lazy("%(kind)s expired on %(date)s."),
    "document_expiry_missing": gettext_lazy("%(kind)s has no expiry date."),
    "document_too_old": gettext_lazy("%(kind)s is older than %(days)s days."),
    "screening_missing": gettext_lazy("The client was not screened: no sanctions list loaded."),
    "screening_hit": gettext_lazy(
        "Sanctions screening: %(count)s hit(s), best %(score)s for “%(name)s” (entry %(entry)s)."
    ),
    "profile_missing": gettext_lazy("The profile is not filled in."),
    "identity_data_missing": gettext_lazy(
        "The name or date of birth printed on %(kind)s was not given at upload."
    ),
    "name_mismatch": gettext_lazy(
        "The name on %(kind)s (“%(printed)s”) does not match the profile (“%(profile)s”); "
        "agreement %(score)s, at least %(threshold)s needed."
    ),
    "dob_mismatch": gettext_lazy(
        "The date of birth on %(kind)s (%(printed)s) differs from the profile (%(profile)s)."
    ),
    "high_risk_country": gettext_lazy("High-risk country: %(country)s (%(field)s)."),
    "new_device": gettext_lazy("The latest sign-in came from a new device."),
    "login_country_mismatch": gettext_lazy(
        "The latest sign-in came from %(login)s; the profile says %(profile)s."
    ),
}
FIELD_NAMES = {"residence": gettext_lazy("residence"), "nationality": gettext_lazy("nationality")}


def reason_text(reason: Mapping[str, Any]) -> str:
    """The reviewer's words for a stored reason (translated where it is rendered)."""
    template = REASON_TEXTS.get(str(reason.get("code", "")))
    if template is None:
        return str(reason.get("code", ""))
    params = dict(reason.get("params") or {})
    if "kind" in params:
        params["kind"] = _(str(params["kind"]))
    for key in ("country", "login", "profile"):
        country = (
            pycountry.countries.get(alpha_2=str(params.get(key, ""))) if key in params else None
        )
        if country is not None and reason.get("code") != "name_mismatch":
            params[key] = f"{country.name} ({country.alpha_2})"
    if "field" in params:
        params["field"] = str(FIELD_NAMES.get(params["field"], params["field"]))
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(reason.get("code", ""))


# --- Rules as data ----------------------------------------------------------------------------


def risk_rules_ensure(configuration: KycConfiguration) -> RiskPolicy:
    """The configuration's risk policy and one rule per signal, from the defaults when
    missing (configurations made before the risk rules get them on first use)."""
    policy = RiskPolicy.objects.filter(configuration=configuration).first()
    if policy is None:
        policy, _ = RiskPolicy.objects.get_or_create(
            configuration=configuration,
            defaults={
                "auto_approve_below": defaults.AUTO_APPROVE_BELOW,
                "second_review_from": defaults.SECOND_REVIEW_FROM,
                "high_risk_countries": list(defaults.HIGH_RISK_COUNTRIES),
            },
        )
    have = set(
        RiskRule.objects.filter(configuration=configuration).values_list("signal", flat=True)
    )
    missing = [
        RiskRule(configuration=configuration, signal=signal, weight=weight, threshold=threshold,
                 flags=flags, position=position)
        for position, (signal, weight, threshold, flags) in enumerate(defaults.RISK_RULES)
        if signal not in have
    ]  # fmt: skip
    if missing:
        RiskRule.objects.bulk_create(missing, ignore_conflicts=True)
    return policy


def risk_rules_copy(source: KycConfiguration, target: KycConfiguration) -> None:
    """Give ``target`` the risk policy and rules ``source`` has (an entity's own copy)."""
    policy = risk_rules_ensure(source)
    RiskPolicy.objects.create(
        configuration=target,
        auto_approve_enabled=policy.auto_approve_enabled,
        auto_approve_below=policy.auto_approve_below,
        second_review_from=policy.second_review_from,
        high_risk_countries=list(policy.high_risk_countries),
    )
    RiskRule.objects.bulk_create(
        RiskRule(configuration=target, signal=r.signal, enabled=r.enabled, weight=r.weight,
                 threshold=r.threshold, flags=r.flags, position=r.position)
        for r in source.risk_rules.all()
    )  # fmt: skip


def _score(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(_("Enter a whole number from 0 to 100."))
    if isinstance(value, str) and not value.strip().isdigit():
        raise ValidationError(_("Enter a whole number from 0 to 100."))
    number = int(value)
    if not 0 <= number <= 100:
        raise ValidationError(_("Enter a whole number from 0 to 100."))
    return number


def _optional_score(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return _score(value)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(_("true or false."))
    return value


def _countries(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError(_("Give a list of two-letter country codes."))
    codes = sorted({v.strip().upper() for v in value})
    unknown = [c for c in codes if len(c) != 2 or pycountry.countries.get(alpha_2=c) is None]
    if unknown:
        raise ValidationError(
            _("Unknown country codes: %(codes)s.") % {"codes": ", ".join(unknown)}
        )
    return codes


POLICY_RULES = {
    "auto_approve_enabled": _boolean,
    "auto_approve_below": _score,
    "second_review_from": _score,
    "high_risk_countries": _countries,
}
RULE_RULES = {
    "enabled": _boolean,
    "weight": _score,
    "threshold": _optional_score,
    "flags": _boolean,
}


def _clean(changes: Mapping[str, Any], rules: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in rules:
            errors[name] = [_("Unknown field.")]
            continue
        try:
            cleaned[name] = rules[name](value)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    return cleaned


def _record_change(row: Any, cleaned: dict[str, Any], actor: ActorLike, action: str, key: str):
    row = type(row).objects.select_for_update().get(pk=row.pk)
    cleaned = {name: value for name, value in cleaned.items() if getattr(row, name) != value}
    if not cleaned:
        return row
    before = {name: getattr(row, name) for name in cleaned}
    for name, value in cleaned.items():
        setattr(row, name, value)
    row.save(update_fields=list(cleaned))
    KycConfiguration.objects.filter(pk=row.configuration_id).update(
        updated_at=timezone.now(), updated_by=actor if isinstance(actor, str) else actor.email
    )
    audit_record(
        actor=actor,
        action=action,
        target=row.configuration,
        before=json_normalise({"key": key, **before}),
        after=json_normalise({"key": key, **cleaned}),
    )
    return row


@transaction.atomic
def risk_policy_update(
    *, configuration: KycConfiguration, changes: Mapping[str, Any], actor: ActorLike
) -> RiskPolicy:
    """Change the thresholds or the high-risk countries of a configuration (audited)."""
    policy = risk_rules_ensure(configuration)
    cleaned = _clean(changes, POLICY_RULES)
    below = cleaned.get("auto_approve_below", policy.auto_approve_below)
    second = cleaned.get("second_review_from", policy.second_review_from)
    if below > second:
        raise ValidationError(
            {"auto_approve_below": [_("The automatic approval threshold cannot be above the "
                                      "score that needs a second reviewer.")]}
        )  # fmt: skip
    return _record_change(policy, cleaned, actor, "kyc.risk_policy.update", "risk")


@transaction.atomic
def risk_rule_update(*, rule: RiskRule, changes: Mapping[str, Any], actor: ActorLike) -> RiskRule:
    """Change a rule's weight, threshold, whether it flags, whether it is on (audited)."""
    return _record_change(rule, _clean(changes, RULE_RULES), actor, "kyc.risk_rule.update",
                          rule.signal)  # fmt: skip


# --- The evaluation ----------------------------------------------------------------------------


@dataclass
class Evaluation:
    score: int = 0
    flagged: bool = False
    reasons: list[dict[str, Any]] = field(default_factory=list)
    # (signal, weight, flags) of every rule that fired.
    fired: list[tuple[str, int, bool]] = field(default_factory=list)


def _label(kind: Any) -> str:
    # Stored as configured (a message id for the defaults); translated when rendered.
    return kind.label


def _documents(case: KycCase, rule: RiskRule, today: dt.date) -> list[tuple[str, dict]]:
    from brokerdesk.modules.kyc.cases import PROVIDED, case_requirements

    found: list[tuple[str, dict]] = []
    for requirement in case_requirements(case):
        kind, document = requirement.kind, requirement.document
        params = {"kind": _label(kind)}
        if document is None:
            found.append(("document_missing", params))
            continue
        if document.status not in PROVIDED:
            found.append(("document_refused", params))
            continue
        if document.content_type not in ACCEPTED or len(document.sha256) != 64:
            found.append(("document_unchecked", params))
        if kind.expires and document.expires_on is None:
            found.append(("document_expiry_missing", params))
        elif document.expires_on is not None and document.expires_on <= today:
            found.append(("document_expired", {**params, "date": document.expires_on.isoformat()}))
        if kind.max_age_days is not None and (
            document.issued_on is None or (today - document.issued_on).days > kind.max_age_days
        ):
            found.append(("document_too_old", {**params, "days": kind.max_age_days}))
    return found


def _screening(case: KycCase, rule: RiskRule, today: dt.date) -> list[tuple[str, dict]]:
    result = screening_latest(case.client)
    if result is None:
        return [("screening_missing", {})]
    threshold = rule.threshold if rule.threshold is not None else result.threshold
    hits = [hit for hit in result.hits.all() if hit.score >= threshold]
    if not hits:
        return []
    best = max(hits, key=lambda h: h.score)
    return [("screening_hit", {"count": len(hits), "score": best.score,
                               "name": best.entry.name, "entry": best.entry.source_id})]  # fmt: skip


def _consistency(case: KycCase, rule: RiskRule, today: dt.date) -> list[tuple[str, dict]]:
    from brokerdesk.modules.kyc.cases import case_requirements

    profile = KycProfile.objects.filter(client=case.client).first()
    if profile is None or not profile.full_name or profile.date_of_birth is None:
        return [("profile_missing", {})]
    threshold = rule.threshold if rule.threshold is not None else 90
    found: list[tuple[str, dict]] = []
    # Identity documents are the kinds that carry an expiry date (passport, ID card …).
    for requirement in case_requirements(case):
        document = requirement.document
        if not requirement.kind.expires or document is None:
            continue
        params = {"kind": _label(requirement.kind)}
        if not document.printed_name.strip() or document.printed_date_of_birth is None:
            found.append(("identity_data_missing", params))
            continue
        score = name_score(name_normalise(document.printed_name), name_normalise(profile.full_name))
        if score < threshold:
            found.append(("name_mismatch", {**params, "printed": document.printed_name,
                                            "profile": profile.full_name, "score": score,
                                            "threshold": threshold}))  # fmt: skip
        if document.printed_date_of_birth != profile.date_of_birth:
            found.append(("dob_mismatch", {**params,
                                           "printed": document.printed_date_of_birth.isoformat(),
                                           "profile": profile.date_of_birth.isoformat()}))  # fmt: skip
    return found


def _country(case: KycCase, rule: RiskRule, today: dt.date) -> list[tuple[str, dict]]:
    policy = risk_rules_ensure(case.configuration)
    listed = set(policy.high_risk_countries)
    profile = KycProfile.objects.filter(client=case.client).first()
    residence = (profile.country if profile else "") or case.client.country
    pairs = [("residence", residence), ("nationality", profile.nationality if profile else "")]
    return [("high_risk_country", {"country": code, "field": name})
            for name, code in pairs if code and code.upper() in listed]  # fmt: skip


def _new_device(case: KycCase, rule: RiskRule, today: dt.date) -> list[tuple[str, dict]]:
    return [("new_device", {})] if device_is_new(case.client) else []


def _login_country(case: KycCase, rule: RiskRule, today: dt.date) -> list[tuple[str, dict]]:
    latest = LoginEvent.objects.filter(user=case.client).order_by("-at", "-id").first()
    if latest is None or latest.location in ("", LOCAL):
        return []  # nobody can tell where it came from: not a signal either way
    profile = KycProfile.objects.filter(client=case.client).first()
    home = (profile.country if profile else "") or case.client.country
    if home and latest.location.upper() != home.upper():
        return [("login_country_mismatch", {"login": latest.location, "profile": home})]
    return []


# Missing information rather than evidence of risk: the case goes to a reviewer (a flag),
# but the score (and with it the need for a second reviewer) does not grow.
INCOMPLETE = frozenset({"document_missing", "screening_missing", "profile_missing",
                        "identity_data_missing"})  # fmt: skip

SIGNALS = {
    RiskSignal.DOCUMENT_VALIDITY: _documents,
    RiskSignal.SCREENING: _screening,
    RiskSignal.DATA_CONSISTENCY: _consistency,
    RiskSignal.COUNTRY: _country,
    RiskSignal.NEW_DEVICE: _new_device,
    RiskSignal.LOGIN_COUNTRY: _login_country,
}


def risk_evaluate(case: KycCase, *, today: dt.date | None = None) -> Evaluation:
    """Every enabled rule of the case's configuration, applied to the case as it is now."""
    today = today or timezone.localdate()
    risk_rules_ensure(case.configuration)
    evaluation = Evaluation()
    for rule in RiskRule.objects.filter(configuration=case.configuration_id, enabled=True):
        found = SIGNALS[rule.signal](case, rule, today)
        if not found:
            continue
        risky = [code for code, _params in found if code not in INCOMPLETE]
        weight = rule.weight if risky else 0
        flags = rule.flags if risky else True
        evaluation.fired.append((rule.signal, weight, flags))
        evaluation.score += weight
        evaluation.flagged = evaluation.flagged or flags
        counted = False
        for code, params in found:
            points = 0
            if code not in INCOMPLETE and not counted:
                points, counted = weight, True
            evaluation.reasons.append({
                "code": code, "signal": rule.signal, "params": params, "points": points,
                "flags": flags,
            })  # fmt: skip
    return evaluation


def auto_approvable(evaluation: Evaluation, policy: RiskPolicy) -> bool:
    return (
        policy.auto_approve_enabled
        and not evaluation.flagged
        and evaluation.score < policy.auto_approve_below
    )


def assessment_current(case: KycCase) -> RiskAssessment | None:
    """The newest assessment of the case's current version (its current submission)."""
    return (
        RiskAssessment.objects.filter(case=case, case_version=case.state_changed_at)
        .order_by("-assessed_at", "-id")
        .first()
    )


def assessment_latest(case: KycCase) -> RiskAssessment | None:
    return RiskAssessment.objects.filter(case=case).order_by("-assessed_at", "-id").first()


def assessments_for(cases: list[KycCase]) -> dict[int, RiskAssessment]:
    """The newest assessment of each case's current version, in one query (the queue)."""
    wanted = {(c.pk, c.state_changed_at) for c in cases}
    found: dict[int, RiskAssessment] = {}
    rows = RiskAssessment.objects.filter(case__in=[c.pk for c in cases]).order_by(
        "case_id", "-assessed_at", "-id"
    )
    for row in rows:
        if (row.case_id, row.case_version) in wanted:
            found.setdefault(row.case_id, row)
    return found


def reasons_display(assessment: RiskAssessment | None) -> list[dict[str, Any]]:
    if assessment is None:
        return []
    return [{"code": r.get("code", ""), "signal": r.get("signal", ""),
             "points": r.get("points", 0), "flags": r.get("flags", False),
             "text": reason_text(r)} for r in assessment.reasons]  # fmt: skip
