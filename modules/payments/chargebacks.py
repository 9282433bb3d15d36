"""Chargebacks: the PSP (or Finance, for a chargeback it learnt of otherwise) takes a credited
payment back (issue 9, item 2; ADR 0034).

Recorded once on the deposit (when, by whom, why), audited, and the credit reversed in the
ledger by a correcting transfer keyed ``deposit:<id>:chargeback`` — when the wallet still
holds the money. When it has moved on (withdrawn, sent to a trading account), the chargeback
is recorded without the reversal and Finance sees "not reversed" on the deposit to settle it
with the client. Either way the client's later withdrawals stop for review with the signal
``chargeback_history``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.payments.deposits import REVIEW, _audit, _locate, _snapshot
from brokerdesk.modules.payments.models import CallbackOutcome, Deposit, DepositStatus
from brokerdesk.modules.payments.psp.base import PspUpdate


def _label(actor: Any) -> str:
    return actor if isinstance(actor, str) else getattr(actor, "email", str(actor))


def chargeback_record(*, deposit: Deposit, actor: Any, reason: str) -> tuple[Deposit, bool]:
    """Record the chargeback and reverse the credit if the wallet covers it; (deposit, whether
    this call recorded it). Once per deposit: a second report changes nothing."""
    with transaction.atomic():
        locked = (Deposit.objects.select_for_update(of=("self",))
                  .select_related("client", "method", "transfer", "target_account")
                  .get(pk=deposit.pk))  # fmt: skip
        if locked.status != DepositStatus.CREDITED:
            raise ValidationError(_("Only a credited deposit can be charged back (this one is "
                                    "%(status)s).")
                                  % {"status": locked.get_status_display().lower()})  # fmt: skip
        if locked.charged_back_at is not None:
            return locked, False
        before = _snapshot(locked)
        try:
            reversal = ledger.transfer_reverse(
                transfer=locked.transfer, idempotency_key=f"deposit:{locked.public_id}:chargeback",
                actor=actor, description=f"Chargeback: {reason}"[:500], code="chargeback",
            ).transfer  # fmt: skip
        except ledger.InsufficientFunds:
            reversal = None
        locked.charged_back_at = locked.updated_at = timezone.now()
        locked.chargeback_by, locked.chargeback_reason = _label(actor)[:320], reason[:300]
        locked.chargeback_transfer = reversal
        locked.save()
        note = reason if reversal else f"{reason} (not reversed: the wallet no longer holds it)"
        _audit(locked, "chargeback", actor, before, reason=note[:300])
    return locked, True


def deposit_chargeback(*, actor: Any, deposit: Deposit, reason: str) -> Deposit:
    """Finance records a chargeback it learnt of (needs ``payments.review_deposits`` and a
    reason, kept with the audit entry)."""
    if not permission_check(actor, REVIEW):
        raise PermissionDenied("You need the permission 'payments.review_deposits'.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why: the reason is kept with the chargeback.")})
    if len(reason) > 300:
        raise ValidationError({"reason": _("Keep the reason under 300 characters.")})
    return chargeback_record(deposit=deposit, actor=actor, reason=reason)[0]


def chargeback_from_psp(*, update: PspUpdate, provider: str) -> tuple[str, Deposit | None]:
    """A PSP's chargeback callback: recorded once; for an unknown or uncredited payment,
    nothing happens (the callback row says so)."""
    deposit = _locate(update, provider).first()
    if deposit is None or deposit.provider != provider:
        return CallbackOutcome.UNKNOWN_PAYMENT, None
    if deposit.status != DepositStatus.CREDITED:
        return CallbackOutcome.NO_CHANGE, deposit
    reason = update.reason or update.reason_code or _("chargeback reported by the PSP")
    deposit, recorded = chargeback_record(deposit=deposit, actor=f"psp:{provider}", reason=reason)
    return (CallbackOutcome.APPLIED if recorded else CallbackOutcome.NO_CHANGE), deposit
