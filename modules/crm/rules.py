"""Configuring routing: rules (create, change, reorder, delete) and the fallback and
dormancy settings. Every change is audited; a rule that could never match is refused with a
message on the field that makes it so, and nothing is saved."""

from __future__ import annotations

import uuid
from typing import Any

import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import AuditTarget, audit_record
from brokerdesk.modules.crm import routing
from brokerdesk.modules.crm.models import CrmSettings, RoutingRule, RoutingTarget
from brokerdesk.modules.crm.regions import REGIONS
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.models import Team

RULE_FIELDS = (
    "name",
    "is_active",
    "countries",
    "regions",
    "languages",
    "ib_referred_only",
    "target",
    "owner",
    "desk",
)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _codes(values: Any) -> list[str]:
    if isinstance(values, str):
        values = values.replace(",", " ").split()
    return [str(v).strip() for v in values or [] if str(v).strip()]


def _owner(value: Any, errors: dict[str, str], field: str = "owner") -> Any:
    owner = routing.assignable_staff().filter(public_id=_uuid(value)).first() if value else None
    if value and owner is None:
        errors[field] = _("No active staff member has this id.")
    elif owner is not None and not permission_check(owner, "clients.view"):
        errors[field] = _("%(email)s cannot see clients, so cannot own them.") % {
            "email": owner.email
        }
    return owner


def _desk(value: Any, errors: dict[str, str], field: str = "desk") -> Team | None:
    desk = Team.objects.filter(public_id=_uuid(value)).first() if value else None
    if value and desk is None:
        errors[field] = _("No desk has this id.")
    return desk


def _clean_conditions(data: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    countries = [c.upper() for c in _codes(data.get("countries"))]
    unknown = [c for c in countries if pycountry.countries.get(alpha_2=c) is None or len(c) != 2]
    if unknown:
        errors["countries"] = _("Unknown country code: %(codes)s.") % {"codes": ", ".join(unknown)}
    regions = [r.lower() for r in _codes(data.get("regions"))]
    if bad := [r for r in regions if r not in REGIONS]:
        errors["regions"] = _("Unknown region: %(codes)s.") % {"codes": ", ".join(bad)}
    languages = [lang.lower() for lang in _codes(data.get("languages"))]
    offered = dict(settings.LANGUAGES)
    if bad := [lang for lang in languages if lang not in offered]:
        errors["languages"] = _(
            "No client can have the language %(codes)s (offered: %(offered)s)."
        ) % {"codes": ", ".join(bad), "offered": ", ".join(offered)}
    return {
        "countries": sorted(set(countries)),
        "regions": sorted(set(regions)),
        "languages": sorted(set(languages)),
        "ib_referred_only": bool(data.get("ib_referred_only")),
    }


def _clean_target(data: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    target = data.get("target") or ""
    if target not in RoutingTarget.values:
        errors["target"] = _("Choose where matching leads go.")
        return {"target": target, "owner": None, "desk": None}
    owner = _owner(data.get("owner"), errors)
    desk = _desk(data.get("desk"), errors)
    if target == RoutingTarget.OWNER and owner is None and "owner" not in errors:
        errors["owner"] = _("Choose the owner matching leads go to.")
    if target == RoutingTarget.DESK:
        if desk is None and "desk" not in errors:
            errors["desk"] = _("Choose the desk whose members take turns.")
        elif desk is not None and not routing.assignable_staff().filter(rbac_teams=desk).exists():
            errors["desk"] = _(
                "The desk %(desk)s has no active members: this rule could never assign anyone."
            ) % {"desk": desk.name}
    return {"target": target, "owner": owner, "desk": desk}


def rule_clean(data: dict[str, Any], *, position: int) -> dict[str, Any]:
    """Validated rule fields from raw input; ``ValidationError`` with field messages."""
    errors: dict[str, str] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = _("Give the rule a name.")
    elif len(name) > 100:
        errors["name"] = _("At most 100 characters.")
    cleaned = {
        "name": name,
        "is_active": bool(data.get("is_active", True)),
        **_clean_conditions(data, errors),
        **_clean_target(data, errors),
    }
    if cleaned["target"] == RoutingTarget.IB_MANAGER:
        # Only a referred lead has an IB, hence a manager.
        cleaned["ib_referred_only"] = True
    if cleaned["is_active"] and not errors:
        shadowing = [r for r in routing.rules_always_matching(position) if r.pk != data.get("pk")]
        if shadowing:
            errors["position"] = _(
                "The rule “%(name)s” before this one takes every lead: this rule could never "
                "match. Move it earlier or narrow the other rule."
            ) % {"name": shadowing[0].name}
    if errors:
        raise ValidationError(errors)
    return cleaned


def _snapshot(rule: RoutingRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "position": rule.position,
        "is_active": rule.is_active,
        "countries": rule.countries,
        "regions": rule.regions,
        "languages": rule.languages,
        "ib_referred_only": rule.ib_referred_only,
        "target": rule.target,
        "owner": rule.owner.email if rule.owner_id else None,
        "desk": rule.desk.name if rule.desk_id else None,
    }


def _rule_target(rule: RoutingRule) -> AuditTarget:
    return AuditTarget(type="routing_rule", public_id=str(rule.public_id))


@transaction.atomic
def rule_create(*, actor: Any, data: dict[str, Any]) -> RoutingRule:
    """A new rule, evaluated after the existing ones."""
    last = RoutingRule.objects.aggregate(last=Max("position"))["last"] or 0
    rule = RoutingRule(position=last + 1, **rule_clean(data, position=last + 1))
    rule.save()
    audit_record(
        actor=actor,
        action="crm.routing_rule_created",
        target=_rule_target(rule),
        before=None,
        after=_snapshot(rule),
    )
    return rule


@transaction.atomic
def rule_update(*, actor: Any, rule: RoutingRule, data: dict[str, Any]) -> RoutingRule:
    """Change a rule's fields (those not given keep their values)."""
    rule = (
        RoutingRule.objects.select_for_update(of=("self",))
        .select_related("owner", "desk")
        .get(pk=rule.pk)
    )
    before = _snapshot(rule)
    current = {
        **before,
        "owner": rule.owner.public_id if rule.owner_id else None,
        "desk": rule.desk.public_id if rule.desk_id else None,
    }
    merged = {**current, **{k: v for k, v in data.items() if k in RULE_FIELDS}, "pk": rule.pk}
    for field, value in rule_clean(merged, position=rule.position).items():
        setattr(rule, field, value)
    rule.updated_at = timezone.now()
    rule.save()
    audit_record(
        actor=actor,
        action="crm.routing_rule_updated",
        target=_rule_target(rule),
        before=before,
        after=_snapshot(rule),
    )
    return rule


@transaction.atomic
def rule_move(*, actor: Any, rule: RoutingRule, position: Any) -> RoutingRule:
    """Put ``rule`` at ``position`` (1 = evaluated first); the others keep their order."""
    rules = list(RoutingRule.objects.select_for_update().order_by("position", "pk"))
    try:
        wanted = int(position)
    except (TypeError, ValueError):
        raise ValidationError({"position": _("Give a whole number.")}) from None
    if not 1 <= wanted <= len(rules):
        raise ValidationError(
            {"position": _("Choose a position from 1 to %(count)d.") % {"count": len(rules)}}
        )
    before = [r.name for r in rules]
    rules = [r for r in rules if r.pk != rule.pk]
    rules.insert(wanted - 1, rule)
    for index, item in enumerate(rules, start=1):
        RoutingRule.objects.filter(pk=item.pk).update(position=index)
    audit_record(
        actor=actor,
        action="crm.routing_rules_reordered",
        target=_rule_target(rule),
        before={"order": before},
        after={"order": [r.name for r in rules]},
    )
    return RoutingRule.objects.get(pk=rule.pk)


@transaction.atomic
def rule_delete(*, actor: Any, rule: RoutingRule) -> None:
    rule = (
        RoutingRule.objects.select_for_update(of=("self",))
        .select_related("owner", "desk")
        .get(pk=rule.pk)
    )
    before = _snapshot(rule)
    rule.delete()
    audit_record(
        actor=actor,
        action="crm.routing_rule_deleted",
        target=_rule_target(rule),
        before=before,
        after=None,
    )


def _settings_snapshot(row: CrmSettings) -> dict[str, Any]:
    return {
        "fallback_owner": row.fallback_owner.email if row.fallback_owner_id else None,
        "fallback_desk": row.fallback_desk.name if row.fallback_desk_id else None,
        "dormancy_days": row.dormancy_days,
        "churn_days": row.churn_days,
    }


def _days(value: Any, field: str, errors: dict[str, str]) -> int | None:
    try:
        days = int(value)
    except (TypeError, ValueError):
        errors[field] = _("Give a whole number of days.")
        return None
    if not 1 <= days <= 3650:
        errors[field] = _("Choose between 1 and 3650 days.")
        return None
    return days


@transaction.atomic
def crm_settings_update(*, actor: Any, data: dict[str, Any]) -> CrmSettings:
    """Change the fallback owner/desk and the dormancy rule (fields not given stay)."""
    row = routing.crm_settings_get()
    row = CrmSettings.objects.select_for_update().get(pk=row.pk)
    before = _settings_snapshot(row)
    errors: dict[str, str] = {}
    if "fallback_owner" in data:
        row.fallback_owner = _owner(data["fallback_owner"], errors, "fallback_owner")
    if "fallback_desk" in data:
        row.fallback_desk = _desk(data["fallback_desk"], errors, "fallback_desk")
    for field in ("dormancy_days", "churn_days"):
        if field in data:
            days = _days(data[field], field, errors)
            if days is not None:
                setattr(row, field, days)
    if errors:
        raise ValidationError(errors)
    row.updated_at = timezone.now()
    row.save()
    audit_record(
        actor=actor,
        action="crm.settings_updated",
        target=AuditTarget(type="crm_settings", public_id="crm"),
        before=before,
        after=_settings_snapshot(row),
    )
    return row
