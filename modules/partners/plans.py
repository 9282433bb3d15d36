"""Commission plans: versions of rules, edited as drafts, approved by a second IB manager
(four eyes) before the engine uses them, and assigned to IBs with an effective date."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.models import User
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import (
    ANY,
    CommissionPlan,
    Partner,
    PlanAssignment,
    PlanRule,
    PlanVersion,
    RuleKind,
    TierMode,
    VersionStatus,
)
from brokerdesk.modules.partners.tree import _replace_from, _user
from brokerdesk.modules.trading.models import AccountTypeKind
from brokerdesk.modules.trading.symbols import SymbolGroup
from brokerdesk.platform.money import CURRENCY_EXPONENTS

MAX_LEVEL = 10


def plan_create(*, name: str, currency: str, actor: Any) -> CommissionPlan:
    name = (name or "").strip()
    if not name:
        raise PartnerError(_("Name the plan."), field="name")
    if currency not in CURRENCY_EXPONENTS:
        raise PartnerError(_("Unknown currency."), field="currency")
    if CommissionPlan.objects.filter(name=name).exists():
        raise PartnerError(_("A plan with this name exists."), field="name")
    with transaction.atomic():
        plan = CommissionPlan.objects.create(name=name, currency=currency, created_by=_user(actor))
        audit_record(actor=actor, action="partners.plan_create", target=plan, before=None,
                     after={"name": name, "currency": currency})  # fmt: skip
    return plan


def _decimal(value: Any, *, field: str, label: str) -> Decimal:
    if value is None or value == "":
        raise PartnerError(_("%(label)s: give a rate.") % {"label": label}, field=field)
    if isinstance(value, float):
        raise PartnerError(_("%(label)s: send numbers as strings.") % {"label": label},
                           field=field)  # fmt: skip
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise PartnerError(_("%(label)s: not a number.") % {"label": label}, field=field) from None
    if not number.is_finite():
        raise PartnerError(_("%(label)s: not a number.") % {"label": label}, field=field)
    return number


def rules_clean(rules: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validate rule rows; refuse a rule with no rate and an ambiguous tier table."""
    cleaned: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    for index, raw in enumerate(rules):
        label = _("Rule %(n)s") % {"n": index + 1}
        kind = raw.get("kind")
        if kind not in RuleKind.values:
            raise PartnerError(_("%(label)s: unknown kind.") % {"label": label}, field="rules")
        try:
            level = int(raw.get("level", 0) or 0)
        except (TypeError, ValueError):
            level = -1
        if not 0 <= level <= MAX_LEVEL:
            raise PartnerError(_("%(label)s: level must be 0 to %(max)s.")
                               % {"label": label, "max": MAX_LEVEL}, field="rules")  # fmt: skip
        group = raw.get("symbol_group", ANY) or ANY
        if group != ANY and group not in SymbolGroup.values:
            raise PartnerError(_("%(label)s: unknown symbol group.") % {"label": label},
                               field="rules")  # fmt: skip
        account_kind = raw.get("account_kind", ANY) or ANY
        if account_kind != ANY and account_kind not in AccountTypeKind.values:
            raise PartnerError(_("%(label)s: unknown account type.") % {"label": label},
                               field="rules")  # fmt: skip
        if account_kind == AccountTypeKind.DEMO:
            raise PartnerError(_("%(label)s: demo accounts never earn commission.")
                               % {"label": label}, field="rules")  # fmt: skip
        rate = _decimal(raw.get("rate"), field="rules", label=label)
        if rate <= 0:
            raise PartnerError(_("%(label)s: the rate must be above zero.") % {"label": label},
                               field="rules")  # fmt: skip
        if kind == RuleKind.REVENUE_SHARE and rate > 1:
            raise PartnerError(_("%(label)s: a revenue share is a fraction of at most 1.")
                               % {"label": label}, field="rules")  # fmt: skip
        min_lots = _decimal(raw.get("min_lots", "0") or "0", field="rules", label=label)
        if min_lots < 0:
            raise PartnerError(_("%(label)s: a tier threshold cannot be negative.")
                               % {"label": label}, field="rules")  # fmt: skip
        if kind != RuleKind.PER_LOT and min_lots != 0:
            raise PartnerError(_("%(label)s: only per-lot rules have volume tiers.")
                               % {"label": label}, field="rules")  # fmt: skip
        if kind == RuleKind.CPA and (level != 0 or group != ANY or account_kind != ANY):
            raise PartnerError(_("%(label)s: a CPA rule applies to the client's own IB only, "
                                 "for any symbol and account.") % {"label": label},
                               field="rules")  # fmt: skip
        key = (kind, level, group, account_kind, min_lots)
        if key in seen:
            raise PartnerError(
                _("%(label)s: two rows for the same rule and tier threshold make the tier "
                  "table ambiguous.") % {"label": label}, field="rules", code="ambiguous_tier",
            )  # fmt: skip
        seen.add(key)
        cleaned.append({"kind": kind, "level": level, "symbol_group": group,
                        "account_kind": account_kind, "min_lots": min_lots, "rate": rate})  # fmt: skip
    if not cleaned:
        raise PartnerError(_("A version needs at least one rule."), field="rules")
    return cleaned


def version_draft(*, plan: CommissionPlan, valid_from: datetime, rules: Iterable[Mapping[str, Any]],
                  actor: Any, tier_mode: str = TierMode.FROM_FIRST_LOT, min_duration_s: int = 0,
                  cpa_min_deposit_minor: int = 0, note: str = "") -> PlanVersion:  # fmt: skip
    """A new draft version of ``plan`` with ``rules``."""
    if tier_mode not in TierMode.values:
        raise PartnerError(_("Choose how tiers pay."), field="tier_mode")
    if int(min_duration_s) < 0 or int(cpa_min_deposit_minor) < 0:
        raise PartnerError(_("Durations and amounts cannot be negative."), field="min_duration_s")
    cleaned = rules_clean(rules)
    with transaction.atomic():
        CommissionPlan.objects.select_for_update().get(pk=plan.pk)
        number = (plan.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        version = PlanVersion.objects.create(
            plan=plan, number=number, valid_from=valid_from, tier_mode=tier_mode,
            min_duration_s=int(min_duration_s), cpa_min_deposit_minor=int(cpa_min_deposit_minor),
            note=(note or "")[:500], created_by=_user(actor),
        )  # fmt: skip
        PlanRule.objects.bulk_create(PlanRule(version=version, **row) for row in cleaned)
        audit_record(actor=actor, action="partners.version_draft", target=version, before=None,
                     after=_version_dict(version))  # fmt: skip
    return version


def _version_dict(version: PlanVersion) -> dict[str, Any]:
    return {
        "plan": str(version.plan.public_id),
        "number": version.number,
        "status": version.status,
        "valid_from": version.valid_from.isoformat(),
        "tier_mode": version.tier_mode,
        "min_duration_s": version.min_duration_s,
        "cpa_min_deposit_minor": version.cpa_min_deposit_minor,
        "rules": [
            {"kind": r.kind, "level": r.level, "symbol_group": r.symbol_group,
             "account_kind": r.account_kind, "min_lots": str(r.min_lots), "rate": str(r.rate)}
            for r in version.rules.all()
        ],
    }  # fmt: skip


def version_submit(*, version: PlanVersion, actor: User) -> PlanVersion:
    with transaction.atomic():
        version = PlanVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != VersionStatus.DRAFT:
            raise PartnerError(_("Only a draft can be submitted."), code="not_draft")
        version.status = VersionStatus.PENDING
        version.submitted_by = actor
        version.submitted_at = timezone.now()
        version.save(update_fields=["status", "submitted_by", "submitted_at"])
        audit_record(actor=actor, action="partners.version_submit", target=version,
                     before={"status": VersionStatus.DRAFT}, after={"status": version.status})  # fmt: skip
    return version


def version_decide(
    *, version: PlanVersion, actor: User, approve: bool, note: str = ""
) -> PlanVersion:
    """Approve (it applies from its ``valid_from``) or reject a submitted version; never by
    the person who submitted it."""
    with transaction.atomic():
        version = PlanVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != VersionStatus.PENDING:
            raise PartnerError(_("Only a submitted version can be decided."), code="not_pending")
        if version.submitted_by_id == actor.pk:
            raise PartnerError(
                _("You cannot approve your own change: another IB manager must."),
                code="four_eyes",
            )  # fmt: skip
        if not approve and not (note or "").strip():
            raise PartnerError(_("Say why the version is rejected."), field="note")
        version.status = VersionStatus.APPROVED if approve else VersionStatus.REJECTED
        version.decided_by = actor
        version.decided_at = timezone.now()
        version.decision_note = (note or "")[:500]
        try:
            with transaction.atomic():
                version.save(update_fields=["status", "decided_by", "decided_at",
                                            "decision_note"])  # fmt: skip
        except IntegrityError as error:
            raise PartnerError(
                _("Another approved version of this plan starts at the same instant."),
                field="valid_from",
                code="same_start",
            ) from error
        audit_record(actor=actor, action="partners.version_decide", target=version,
                     before={"status": VersionStatus.PENDING},
                     after={"status": version.status}, reason=note)  # fmt: skip
    return version


def plan_assign(*, partner: Partner, plan: CommissionPlan, effective_at: datetime,
                actor: Any) -> None:  # fmt: skip
    """``partner`` is paid by ``plan`` from ``effective_at`` on."""
    if plan.currency != partner.currency:
        raise PartnerError(_("The plan pays in %(plan)s but the IB is paid in %(ib)s.")
                           % {"plan": plan.currency, "ib": partner.currency}, field="plan")  # fmt: skip
    try:
        with transaction.atomic():
            before = _replace_from(
                PlanAssignment, key={"partner": partner}, effective_at=effective_at,
                new_row={"plan": plan, "created_by": _user(actor)}, actor=actor,
            )  # fmt: skip
            audit_record(
                actor=actor, action="partners.plan_assign", target=partner,
                before={"plans": [(row.plan_id, row.valid_from.isoformat()) for row in before]},
                after={"plan": str(plan.public_id), "effective_at": effective_at.isoformat()},
            )  # fmt: skip
    except IntegrityError as error:
        raise PartnerError(_("This plan assignment overlaps another."), code="overlap") from error
