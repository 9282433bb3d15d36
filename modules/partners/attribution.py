"""Attribution rule and window, per legal entity or for the whole broker (issue 10).

The CRM keeps a visitor's *first* touch only (``crm/source.py``). For "last touch" the
partners module keeps every referral touch of the visitor's session as well
(``ReferralTouchMiddleware``: code and time, the last ``MAX_TOUCHES``) and exposes them to the
registration that happens in the same request. At registration the rule of the client's
legal entity (or the broker's ``AttributionSettings``) picks, among the touches inside the
window whose code belongs to an active IB, the earliest (first touch) or the latest (last
touch).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import AuditTarget, audit_record
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import (
    AttributionRule,
    AttributionSettings,
    CommissionPlan,
    EntityReferralSettings,
)

TOUCHES_KEY = "partners_referral_touches"
MAX_TOUCHES = 20
_NOT_LANDING = ("/backoffice/", "/partners/", "/api/", "/static/", "/healthz", "/i18n/")
_request_touches: contextvars.ContextVar[tuple[dict[str, str], ...]] = contextvars.ContextVar(
    "partners_request_touches", default=()
)


@dataclass(frozen=True)
class Touch:
    code: str
    at: datetime


class ReferralTouchMiddleware:
    """Keeps each referral touch (``?ref=`` or ``?ib=``) of a Trader's Room visitor, and
    makes the session's touches readable by a registration in the same request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is None:
            return self.get_response(request)
        self._capture(request, session)
        token = _request_touches.set(tuple(session.get(TOUCHES_KEY) or ()))
        try:
            return self.get_response(request)
        finally:
            _request_touches.reset(token)

    @staticmethod
    def _capture(request: HttpRequest, session: Any) -> None:
        from brokerdesk.modules.crm.source import source_from_request

        user = getattr(request, "user", None)
        if request.method != "GET" or request.path.startswith(_NOT_LANDING):
            return
        if user is not None and user.is_authenticated:
            return
        source = source_from_request(request)
        if source is None or not source.referral_code:
            return
        touches = list(session.get(TOUCHES_KEY) or [])
        touches.append({"code": source.referral_code, "at": timezone.now().isoformat()})
        session[TOUCHES_KEY] = touches[-MAX_TOUCHES:]


@contextmanager
def touches_bound(touches: list[dict[str, str]]) -> Iterator[None]:
    """Make ``touches`` the current request's (tests and the API's own callers)."""
    token = _request_touches.set(tuple(touches))
    try:
        yield
    finally:
        _request_touches.reset(token)


def request_touches() -> list[Touch]:
    out = []
    for row in _request_touches.get():
        at = parse_datetime(str(row.get("at", "")))
        if at is not None and row.get("code"):
            out.append(Touch(code=str(row["code"])[:64], at=at))
    return out


@dataclass(frozen=True)
class Policy:
    rule: str
    window_days: int
    friends_enabled: bool = False
    friend_plan: CommissionPlan | None = None


def policy_for_entity(entity: Any) -> Policy:
    """The entity's own settings, else the broker's."""
    row = (
        EntityReferralSettings.objects.select_related("friend_plan")
        .filter(legal_entity=entity)
        .first()
        if entity is not None
        else None
    )
    if row is not None:
        return Policy(row.rule, row.window_days, row.friends_enabled, row.friend_plan)
    broker = AttributionSettings.objects.first() or AttributionSettings()
    return Policy(broker.rule, broker.window_days)


def client_entity(client: Any) -> Any:
    from brokerdesk.modules.kyc.configuration import legal_entity_for_country

    return legal_entity_for_country(getattr(client, "country", "") or "")


def touch_choose(touches: list[Touch], *, registered_at: datetime, policy: Policy,
                 valid: Callable[[str], bool]) -> Touch | None:  # fmt: skip
    """The touch the rule attributes: inside the window, with
    the code of an active IB; the earliest for first touch, the latest for last touch."""
    window = timedelta(days=policy.window_days)
    # Touches are captured before registering (anonymous visitors only), so only their age
    # against the window matters.
    inside = [t for t in touches if registered_at - t.at <= window and valid(t.code)]
    if not inside:
        return None
    pick = max if policy.rule == AttributionRule.LAST_TOUCH else min
    return pick(inside, key=lambda t: t.at)


# --- Settings (IB managers) ----------------------------------------------------------------------


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if "rule" in data:
        if data["rule"] not in AttributionRule.values:
            errors["rule"] = [_("Choose first or last touch.")]
        out["rule"] = data["rule"]
    if "window_days" in data:
        try:
            days = int(data["window_days"])
        except (TypeError, ValueError):
            days = 0
        if not 1 <= days <= 3650:
            errors["window_days"] = [_("The window is a whole number of days, 1 to 3650.")]
        out["window_days"] = days
    if errors:
        raise ValidationError(errors)
    return out


def broker_settings_set(*, actor: Any, data: dict[str, Any]) -> AttributionSettings:
    """The broker-wide rule and window (entities without their own settings follow it)."""
    if not permission_check(actor, "partners.manage"):
        raise PartnerError(_("Only an IB manager sets the attribution rule."), code="forbidden")
    changes = _clean(data)
    with transaction.atomic():
        row, _created = AttributionSettings.objects.select_for_update().get_or_create(singleton=1)
        before = {"rule": row.rule, "window_days": row.window_days}
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = timezone.now()
        row.save()
        audit_record(actor=actor, action="partners.attribution_set",
                     target=AuditTarget(type="attribution_settings", public_id="broker"),
                     before=before,
                     after={"rule": row.rule, "window_days": row.window_days})  # fmt: skip
    return row


def entity_settings_set(*, entity: Any, actor: Any, data: dict[str, Any]) -> EntityReferralSettings:
    """One legal entity's rule, window and refer-a-friend programme (with its plan)."""
    if not permission_check(actor, "partners.manage"):
        raise PartnerError(_("Only an IB manager sets the attribution rule."), code="forbidden")
    changes = _clean(data)
    if "friends_enabled" in data:
        changes["friends_enabled"] = bool(data["friends_enabled"])
    if "friend_plan" in data:
        plan = data["friend_plan"]
        if plan is not None and not isinstance(plan, CommissionPlan):
            raise ValidationError({"friend_plan": [_("No such plan.")]})
        changes["friend_plan"] = plan
    with transaction.atomic():
        broker = AttributionSettings.objects.first() or AttributionSettings()
        row, _created = EntityReferralSettings.objects.select_for_update().get_or_create(
            legal_entity=entity, defaults={"rule": broker.rule, "window_days": broker.window_days}
        )
        before = _entity_dict(row)
        for name, value in changes.items():
            setattr(row, name, value)
        if row.friends_enabled and row.friend_plan_id is None:
            raise ValidationError(
                {"friend_plan": [_("Choose the plan that rewards clients' referrals.")]}
            )
        row.updated_by = actor
        row.updated_at = timezone.now()
        row.save()
        audit_record(actor=actor, action="partners.entity_referrals_set",
                     target=AuditTarget(type="entity_referral_settings",
                                        public_id=str(entity.public_id)),
                     before=before, after=_entity_dict(row))  # fmt: skip
    return row


def _entity_dict(row: EntityReferralSettings) -> dict[str, Any]:
    return {"entity": row.legal_entity_id, "rule": row.rule, "window_days": row.window_days,
            "friends_enabled": row.friends_enabled, "friend_plan": row.friend_plan_id}  # fmt: skip
