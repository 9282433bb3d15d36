"""Manual adjustments of client wallets: Finance only, a mandatory reason, four eyes above a
configured amount, corrections by reversal (DESIGN.md §5, SCENARIOS.md S5).

An adjustment at or below its currency's threshold posts at once. Above it, it is held (a
pending transfer: a debit is reserved in the wallet at once) until another Finance member
approves (the hold is posted) or rejects it (the hold is released). Nobody edits the request
or its reason; the database refuses it (migration 0002). Refused attempts are logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import AuditTarget, audit_record
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.ledger import services
from brokerdesk.modules.ledger.models import (
    AccountKind,
    Adjustment,
    AdjustmentDirection,
    AdjustmentStatus,
    AdjustmentThreshold,
)
from brokerdesk.platform.money import (
    CURRENCY_EXPONENTS,
    MONEY_CONTEXT,
    exponent,
    from_minor,
    to_minor,
)

ADJUST = "payments.adjust"
VIEW_ADJUSTMENTS = "payments.view_adjustments"
# Above this amount (in the currency's major unit) a second approver is needed, unless the
# broker configured a threshold for the currency.
DEFAULT_APPROVAL_ABOVE = Decimal("1000")
REASON_MAX = 1000


def amount_parse(text: Any, currency: str, *, field: str = "amount") -> int:
    """A typed amount ("12.50") in minor units; refused, never rounded (ADR 0001 §3)."""
    if currency not in CURRENCY_EXPONENTS:
        raise ValidationError({"currency": _("Unknown currency.")})
    if isinstance(text, float | bool) or text is None:
        raise ValidationError({field: _('Send the amount as a string, e.g. "12.50".')})
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValidationError({field: _("Enter a number, e.g. 12.50.")}) from None
    if not value.is_finite():
        raise ValidationError({field: _("Enter a number, e.g. 12.50.")})
    if value <= 0:
        raise ValidationError({field: _("The amount must be greater than zero.")})
    places = exponent(currency)
    scaled = value.scaleb(places, context=MONEY_CONTEXT)
    if scaled != scaled.to_integral_value():
        raise ValidationError(
            {field: _("%(currency)s has %(places)d decimal place(s) at most.")
             % {"currency": currency, "places": places}}
        )  # fmt: skip
    minor = to_minor(value, currency)
    if minor >= 10**36:
        raise ValidationError({field: _("The amount is too large.")})
    return minor


def threshold_minor(currency: str) -> int:
    """Adjustments above this many minor units need a second approver."""
    row = AdjustmentThreshold.objects.filter(currency=currency).first()
    return row.amount_minor if row else to_minor(DEFAULT_APPROVAL_ABOVE, currency)


def threshold_set(*, actor: Any, currency: str, amount_minor: int) -> AdjustmentThreshold:
    """Configure the four-eyes threshold of ``currency`` (``config.manage``), audited."""
    if not permission_check(actor, "config.manage"):
        raise PermissionDenied("You need the permission 'config.manage'.")
    if currency not in CURRENCY_EXPONENTS:
        raise ValidationError({"currency": _("Unknown currency.")})
    if amount_minor < 0:
        raise ValidationError({"amount": _("The threshold cannot be negative.")})
    with transaction.atomic():
        before = threshold_minor(currency)
        row, _created = AdjustmentThreshold.objects.update_or_create(
            currency=currency, defaults={"amount_minor": amount_minor, "updated_at": timezone.now()}
        )
        audit_record(
            actor=actor,
            action="ledger.adjustment_threshold.update",
            target=AuditTarget(type="adjustment_threshold", public_id=currency),
            before={"amount_minor": str(before)},
            after={"amount_minor": str(amount_minor)},
        )
    return row


def _snapshot(adjustment: Adjustment) -> dict[str, Any]:
    return {
        "client": str(adjustment.client.public_id),
        "currency": adjustment.currency,
        "direction": adjustment.direction,
        "amount": str(from_minor(adjustment.amount_minor, adjustment.currency)),
        "status": adjustment.status,
        "requires_approval": adjustment.requires_approval,
        "transfer": str(adjustment.transfer.public_id),
    }


def _require_adjust(actor: Any) -> None:
    if not permission_check(actor, ADJUST):
        raise PermissionDenied("You need the permission 'payments.adjust'.")


def _postings(client: User, currency: str, direction: str, amount_minor: int) -> list:
    wallet = services.wallet_ensure(client=client, currency=currency)
    counter = services.account_ensure(kind=AccountKind.ADJUSTMENTS, currency=currency)
    if direction == AdjustmentDirection.CREDIT:
        return [services.Posting(debit=counter, credit=wallet, amount_minor=amount_minor)]
    return [services.Posting(debit=wallet, credit=counter, amount_minor=amount_minor)]


def _ledger_call(call: Any) -> Any:
    try:
        return call()
    except services.InsufficientFunds as error:
        raise ValidationError({"amount": error.message}) from None
    except services.IdempotencyKeyReused as error:
        raise ValidationError({"idempotency_key": error.message}) from None
    except services.LedgerError as error:
        raise ValidationError(error.message) from None


def adjustment_request(
    *,
    actor: Any,
    client: User,
    currency: str,
    direction: str,
    amount_minor: int,
    reason: str,
    idempotency_key: str,
) -> Adjustment:
    """Adjust ``client``'s wallet: posted at once up to the threshold, held for a second
    approver above it. The same ``idempotency_key`` returns the first adjustment."""
    _require_adjust(actor)
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if client is None or client.kind != UserKind.CLIENT:
        errors["client"] = _("No such client.")
    if currency not in CURRENCY_EXPONENTS:
        errors["currency"] = _("Unknown currency.")
    if direction not in AdjustmentDirection.values:
        errors["direction"] = _("Choose credit or debit.")
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        errors["amount"] = _("The amount must be greater than zero.")
    if not reason:
        errors["reason"] = _("A reason is required; Support and auditors will read it.")
    elif len(reason) > REASON_MAX:
        errors["reason"] = _("Keep the reason under %(max)d characters.") % {"max": REASON_MAX}
    if errors:
        raise ValidationError(errors)
    requires_approval = amount_minor > threshold_minor(currency)
    with transaction.atomic():
        result = _ledger_call(
            lambda: services.transfer_create(
                idempotency_key=f"adjustment:{idempotency_key}",
                postings=_postings(client, currency, direction, amount_minor),
                code="adjustment",
                description=reason,
                pending=requires_approval,
                actor=actor,
            )
        )
        if not result.created:
            return Adjustment.objects.select_related("client", "transfer").get(
                transfer=result.transfer
            )
        adjustment = Adjustment.objects.create(
            client=client,
            currency=currency,
            direction=direction,
            amount_minor=amount_minor,
            reason=reason,
            requires_approval=requires_approval,
            status=(
                AdjustmentStatus.PENDING_APPROVAL if requires_approval else AdjustmentStatus.POSTED
            ),
            requested_by=actor,
            transfer=result.transfer,
        )
        audit_record(
            actor=actor,
            action="ledger.adjustment.request" if requires_approval else "ledger.adjustment.post",
            target=AuditTarget(type="adjustment", public_id=str(adjustment.public_id)),
            before=None,
            after=_snapshot(adjustment),
            reason=reason,
        )
    return adjustment


def _locked(adjustment: Adjustment) -> Adjustment:
    return (
        Adjustment.objects.select_for_update(of=("self",))
        .select_related("client", "transfer")
        .get(pk=adjustment.pk)
    )


def _transition(adjustment: Adjustment, to: str, **fields: Any) -> None:
    """Compare-and-swap the status (the row is locked; the trigger checks the pair too)."""
    changed = Adjustment.objects.filter(pk=adjustment.pk, status=adjustment.status).update(
        status=to, **fields
    )
    if changed != 1:
        raise ValidationError(_("This adjustment changed meanwhile; reload it."))
    for name, value in fields.items():
        setattr(adjustment, name, value)
    adjustment.status = to


def adjustment_decide(
    *, actor: Any, adjustment: Adjustment, approve: bool, note: str = ""
) -> Adjustment:
    """The second Finance approver posts (approve) or releases (reject) a held adjustment."""
    _require_adjust(actor)
    note = (note or "").strip()
    with transaction.atomic():
        adjustment = _locked(adjustment)
        if adjustment.status != AdjustmentStatus.PENDING_APPROVAL:
            raise ValidationError(
                _("This adjustment is %(status)s; only one waiting for approval can be decided.")
                % {"status": adjustment.get_status_display().lower()}
            )
        if adjustment.requested_by_id == actor.pk:
            raise ValidationError(
                _("A second Finance member must decide: you requested this adjustment.")
            )
        if not approve and not note:
            raise ValidationError({"note": _("Say why the adjustment is rejected.")})
        resolve = services.transfer_post if approve else services.transfer_void
        result = _ledger_call(
            lambda: resolve(
                pending=adjustment.transfer,
                idempotency_key=f"adjustment:{adjustment.public_id}:decision",
                actor=actor,
            )
        )
        before = _snapshot(adjustment)
        _transition(
            adjustment,
            AdjustmentStatus.POSTED if approve else AdjustmentStatus.REJECTED,
            decided_by=actor,
            decided_at=timezone.now(),
            decision_note=note,
            resolution=result.transfer,
        )
        audit_record(
            actor=actor,
            action="ledger.adjustment.approve" if approve else "ledger.adjustment.reject",
            target=AuditTarget(type="adjustment", public_id=str(adjustment.public_id)),
            before=before,
            after=_snapshot(adjustment),
            reason=note,
        )
    return adjustment


def adjustment_reverse(*, actor: Any, adjustment: Adjustment, reason: str) -> Adjustment:
    """Correct a posted adjustment by a reversing transfer, with its own mandatory reason."""
    _require_adjust(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("A reason is required to reverse an adjustment.")})
    with transaction.atomic():
        adjustment = _locked(adjustment)
        if adjustment.status != AdjustmentStatus.POSTED:
            raise ValidationError(
                _("This adjustment is %(status)s; only a posted one can be reversed.")
                % {"status": adjustment.get_status_display().lower()}
            )
        posted = adjustment.resolution or adjustment.transfer
        result = _ledger_call(
            lambda: services.transfer_reverse(
                transfer=posted,
                idempotency_key=f"adjustment:{adjustment.public_id}:reversal",
                actor=actor,
                description=reason,
                code="adjustment_reversal",
            )
        )
        before = _snapshot(adjustment)
        _transition(
            adjustment,
            AdjustmentStatus.REVERSED,
            reversed_by=actor,
            reversed_at=timezone.now(),
            reversal_reason=reason,
            reversal=result.transfer,
        )
        audit_record(
            actor=actor,
            action="ledger.adjustment.reverse",
            target=AuditTarget(type="adjustment", public_id=str(adjustment.public_id)),
            before=before,
            after=_snapshot(adjustment),
            reason=reason,
        )
    return adjustment


@dataclass(frozen=True)
class Refusal:
    attempted: str  # "edit" | "reverse" | "approve" | "reject"
    why: str


def adjustment_refusal_log(*, actor: Any, adjustment: Adjustment, refusal: Refusal) -> None:
    """Record a refused attempt on an adjustment (S5: refused *and* logged)."""
    audit_record(
        actor=actor,
        action=f"ledger.adjustment.{refusal.attempted}_refused",
        target=AuditTarget(type="adjustment", public_id=str(adjustment.public_id)),
        before=None,
        after={"attempted": refusal.attempted},
        reason=refusal.why,
    )


def adjustment_get_for_actor(*, public_id: Any, actor: Any) -> Adjustment:
    """The one loader of an adjustment on someone's behalf: missing and out of scope are the
    same ``Adjustment.DoesNotExist``; without ``payments.view_adjustments`` → PermissionDenied."""
    if not permission_check(actor, VIEW_ADJUSTMENTS):
        raise PermissionDenied("You need the permission 'payments.view_adjustments'.")
    adjustment = (
        Adjustment.objects.select_related("client", "transfer", "requested_by", "decided_by")
        .filter(public_id=public_id)
        .first()
    )
    if adjustment is None or not permission_check(actor, VIEW_ADJUSTMENTS, obj=adjustment.client):
        raise Adjustment.DoesNotExist()
    return adjustment
