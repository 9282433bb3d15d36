"""Routing: which staff member owns a new lead, decided by the tenant's ordered rules.

Rules are evaluated by position; the first whose conditions all hold *and* whose target yields
an active staff member wins. Round-robin within a desk locks the rule's row, so two leads
routed at the same instant never go to the same member out of turn. No rule → the tenant's
fallback owner, else round-robin in the fallback desk, else the lead waits unassigned.

IB referrals: the partners module (a later issue) owns IBs and their managers. It registers a
resolver with ``ib_manager_resolver_set``; until then no referral code resolves and rules with
the "IB's manager" target simply do not match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from brokerdesk.modules.crm.models import CrmSettings, RoutingRule, RoutingTarget
from brokerdesk.modules.crm.regions import region_countries
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.models import Team

IbManagerResolver = Callable[[str], Any]


def _no_ib_module(referral_code: str) -> None:
    return None


_ib_manager_resolver: IbManagerResolver = _no_ib_module


def ib_manager_resolver_set(resolver: IbManagerResolver | None) -> IbManagerResolver:
    """Install the function that maps a referral code to the IB's manager (a staff User or
    None); returns the previous one. ``None`` restores "no IB module"."""
    global _ib_manager_resolver
    previous = _ib_manager_resolver
    _ib_manager_resolver = resolver or _no_ib_module
    return previous


def ib_manager_for(referral_code: str) -> User | None:
    """The active staff member who manages the IB behind ``referral_code``, if any."""
    if not referral_code:
        return None
    manager = _ib_manager_resolver(referral_code)
    return manager if manager is not None and is_assignable(manager) else None


def is_assignable(user: Any) -> bool:
    """Only active staff can own clients."""
    return bool(user.is_active and user.is_staff and user.kind == UserKind.STAFF)


def assignable_staff() -> Any:
    return User.objects.filter(is_active=True, is_staff=True, kind=UserKind.STAFF)


@dataclass(frozen=True)
class LeadFacts:
    """What routing looks at."""

    country: str
    language: str
    referral_code: str


@dataclass(frozen=True)
class Routed:
    """The outcome: an owner (or None), the desk, the rule that decided, and how."""

    owner: User | None
    desk: Team | None
    rule: RoutingRule | None
    via: str  # "rule" | "fallback_owner" | "fallback_desk" | "unassigned"


def conditions_hold(rule: RoutingRule, facts: LeadFacts) -> bool:
    """All the rule's given conditions hold for ``facts`` (no conditions: every lead)."""
    places = set(rule.countries) | region_countries(rule.regions)
    if places and facts.country not in places:
        return False
    if rule.languages and facts.language not in rule.languages:
        return False
    return not (rule.ib_referred_only and not facts.referral_code)


def _desk_next(desk_id: int, last_user_id: int | None) -> User | None:
    """The active member after ``last_user_id`` in id order, wrapping round (fair turns)."""
    members = assignable_staff().filter(rbac_teams=desk_id).order_by("pk")
    after = members.filter(pk__gt=last_user_id).first() if last_user_id is not None else None
    return after or members.first()


def _rule_resolve(rule: RoutingRule, facts: LeadFacts) -> tuple[User | None, Team | None]:
    if rule.target == RoutingTarget.OWNER:
        owner = rule.owner
        return (owner, rule.desk) if owner is not None and is_assignable(owner) else (None, None)
    if rule.target == RoutingTarget.IB_MANAGER:
        return ib_manager_for(facts.referral_code), rule.desk
    # Round-robin: the row lock makes concurrent routings through this rule take turns.
    locked = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    member = _desk_next(locked.desk_id, locked.last_assigned_user_id)
    if member is None:
        return None, None
    RoutingRule.objects.filter(pk=rule.pk).update(last_assigned_user_id=member.pk)
    return member, rule.desk


def _fallback(settings_row: CrmSettings) -> Routed:
    owner = settings_row.fallback_owner
    if owner is not None and is_assignable(owner):
        return Routed(owner, settings_row.fallback_desk, None, "fallback_owner")
    if settings_row.fallback_desk_id is not None:
        locked = CrmSettings.objects.select_for_update().get(pk=settings_row.pk)
        member = _desk_next(locked.fallback_desk_id, locked.fallback_last_user_id)
        if member is not None:
            CrmSettings.objects.filter(pk=locked.pk).update(fallback_last_user_id=member.pk)
            return Routed(member, settings_row.fallback_desk, None, "fallback_desk")
        return Routed(None, settings_row.fallback_desk, None, "unassigned")
    return Routed(None, None, None, "unassigned")


def route(facts: LeadFacts) -> Routed:
    """Evaluate the active rules in order for a new lead (call inside a transaction)."""
    rules = RoutingRule.objects.filter(is_active=True).select_related("owner", "desk")
    for rule in rules.order_by("position", "pk"):
        if not conditions_hold(rule, facts):
            continue
        owner, desk = _rule_resolve(rule, facts)
        if owner is not None:
            return Routed(owner, desk, rule, "rule")
    return _fallback(crm_settings_get())


def crm_settings_get() -> CrmSettings:
    """The tenant's CRM settings row (created with the defaults on first use)."""
    row = CrmSettings.objects.select_related("fallback_owner", "fallback_desk").first()
    if row is None:
        row, _ = CrmSettings.objects.get_or_create(singleton=True)
    return row


def rules_always_matching(before_position: int) -> list[RoutingRule]:
    """Active rules before ``before_position`` that match every lead and always resolve."""
    return list(
        RoutingRule.objects.filter(
            is_active=True,
            position__lt=before_position,
            countries=[],
            regions=[],
            languages=[],
            ib_referred_only=False,
        ).filter(Q(target=RoutingTarget.OWNER) | Q(target=RoutingTarget.DESK))
    )
