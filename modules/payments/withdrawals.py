"""Withdrawals from the wallet: the amount held at once, rules, four eyes, payout via the PSP.

- ``withdrawal_request``: closed loop (through a method the client deposited with, up to
  what they deposited through it, less what is already on its way out), the amount held in
  the ledger at once (a pending transfer wallet → pending withdrawals: the available balance
  drops, nothing can spend it twice), then the rules: a small withdrawal with no risk signal
  of a verified client is approved by rule and sent; anything else waits for Finance with
  the signals named.
- ``withdrawal_approve`` / ``withdrawal_reject``: ``payments.approve_withdrawal``; above the
  currency's threshold, or with a signal, two different people approve. A rejection
  releases the hold and tells the trader why.
- ``withdrawal_send`` asks the PSP for the payout (its idempotency key is the withdrawal);
  its callback (``withdrawal_apply``) posts the hold when paid, releases it when it failed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import AuditTarget, audit_record
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.ledger.adjustments import amount_parse
from brokerdesk.modules.ledger.models import AccountKind
from brokerdesk.modules.payments.deposits import CallbackTarget, callback_path, methods_for
from brokerdesk.modules.payments.models import (
    WITHDRAWAL_FINAL,
    CallbackOutcome,
    Deposit,
    DepositStatus,
    PaymentMethod,
    Withdrawal,
    WithdrawalEntityRule,
    WithdrawalRule,
    WithdrawalStatus,
)
from brokerdesk.modules.payments.policy_gate import withdrawal_decision
from brokerdesk.modules.payments.psp.base import (
    DepositRequest,
    PspError,
    PspStatus,
    PspUpdate,
    adapter_for,
)
from brokerdesk.platform.money import to_minor

APPROVE = "payments.approve_withdrawal"
# Defaults in the currency's major unit when the broker set no rule for it.
AUTO_APPROVE_MAX = 500
SECOND_APPROVER_ABOVE = 5_000
RECENT_DEVICE_DAYS = 7
FREQUENT_PER_DAY = 3
# How old a KYC approval may be when the client's entity set no rule (WithdrawalEntityRule).
KYC_MAX_AGE_DAYS = 365

SIGNAL_TEXT = {
    "kyc_not_verified": "KYC not verified for withdrawals",
    "recent_device_change": "new device in the last 7 days",
    "unusual_amount": "unusual amount (over 3× the client's largest withdrawal)",
    "unusual_frequency": "unusual frequency (3 or more withdrawals in 24 hours)",
    "over_auto_limit": "above the amount approved by rule",
    "kyc_outdated": "KYC approval older than the entity allows",
    "chargeback_history": "a chargeback on one of the client's deposits",
}


def rule_for(currency: str) -> tuple[int, int]:
    """(approved by rule up to, second approver above), in minor units."""
    row = WithdrawalRule.objects.filter(currency=currency).first()
    if row is not None:
        return row.auto_approve_max_minor, row.second_approver_above_minor
    from decimal import Decimal

    return (to_minor(Decimal(AUTO_APPROVE_MAX), currency),
            to_minor(Decimal(SECOND_APPROVER_ABOVE), currency))  # fmt: skip


def kyc_max_age_days(entity: Any) -> int:
    """How many days a KYC approval stays good for withdrawals at ``entity``."""
    row = WithdrawalEntityRule.objects.filter(legal_entity=entity).first() if entity else None
    return row.kyc_max_age_days if row is not None else KYC_MAX_AGE_DAYS


def kyc_outdated(client: Any, *, now: Any = None) -> bool:
    """The client's KYC case was approved (decided) longer ago than their entity allows."""
    from brokerdesk.modules.kyc.models import KycCase
    from brokerdesk.modules.policy.engine import client_legal_entity

    case = KycCase.objects.filter(client=client).only("decided_at", "state_changed_at").first()
    if case is None:
        return False
    approved_at = case.decided_at or case.state_changed_at
    limit = timedelta(days=kyc_max_age_days(client_legal_entity(client)))
    return approved_at is not None and approved_at < (now or timezone.now()) - limit


def _snapshot(w: Withdrawal) -> dict[str, Any]:
    return {
        "client": str(w.client.public_id), "method": str(w.method.public_id),
        "amount": str(w.amount), "currency": w.currency, "status": w.status,
        "signals": list(w.signals), "auto_approved": w.auto_approved,
        "needs_second_approval": w.needs_second_approval, "reason": w.reason,
        "psp_payout_id": w.psp_payout_id,
    }  # fmt: skip


def _audit(w: Withdrawal, action: str, actor: Any, before: dict | None, reason: str = "") -> None:
    audit_record(
        actor=actor, action=f"payments.withdrawal.{action}",
        target=AuditTarget(type="withdrawal", public_id=str(w.public_id)),
        before=before, after=_snapshot(w), reason=reason,
    )  # fmt: skip


def closed_loop_room(client: Any, method: PaymentMethod) -> int:
    """What may still go back through ``method``: deposited through it (not charged back: the
    PSP returned that already), less withdrawals through it that are not rejected or failed."""
    deposited = Deposit.objects.filter(
        client=client, method=method, status=DepositStatus.CREDITED, charged_back_at__isnull=True
    ).aggregate(total=Sum("amount_minor"))["total"] or 0  # fmt: skip
    out = Withdrawal.objects.filter(client=client, method=method).exclude(
        status__in=[WithdrawalStatus.REJECTED, WithdrawalStatus.FAILED]
    ).aggregate(total=Sum("amount_minor"))["total"] or 0  # fmt: skip
    return int(deposited) - int(out)


def signals_of(client: Any, amount_minor: int, currency: str, *,
               exclude_pk: int | None = None) -> list[str]:  # fmt: skip
    """The risk signals the rules see for this request (``exclude_pk``: itself), by name."""
    from brokerdesk.modules.identity.models import Device
    from brokerdesk.modules.kyc.cases import client_state

    found = []
    state = client_state(client)
    if state is None or "withdraw" not in (state.allowed_actions or []):
        found.append("kyc_not_verified")
    elif kyc_outdated(client):
        found.append("kyc_outdated")
    if Deposit.objects.filter(client=client, charged_back_at__isnull=False).exists():
        found.append("chargeback_history")
    since = timezone.now() - timedelta(days=RECENT_DEVICE_DAYS)
    if Device.objects.filter(user=client, flagged_new=True, first_seen_at__gte=since).exists():
        found.append("recent_device_change")
    earlier = Withdrawal.objects.filter(client=client, currency=currency).exclude(
        status__in=[WithdrawalStatus.REJECTED, WithdrawalStatus.FAILED]).exclude(pk=exclude_pk)  # fmt: skip
    largest = earlier.order_by("-amount_minor").values_list("amount_minor", flat=True).first()
    if largest and amount_minor > 3 * largest:
        found.append("unusual_amount")
    day = timezone.now() - timedelta(hours=24)
    if earlier.filter(created_at__gte=day).count() >= FREQUENT_PER_DAY:
        found.append("unusual_frequency")
    return found


def withdrawal_request(*, actor: Any, method: PaymentMethod | None, amount: Any, currency: str,
                       idempotency_key: str, target: CallbackTarget) -> Withdrawal:  # fmt: skip
    """Hold the amount and apply the rules; the same key returns the same withdrawal."""
    if actor is None or getattr(actor, "kind", None) != UserKind.CLIENT:
        raise ValidationError(_("Only clients withdraw from their wallet."))
    key = (idempotency_key or "").strip()
    if not key or len(key) > 255:
        raise ValidationError({"idempotency_key": _("An idempotency key of 1 to 255 characters "
                                                    "is required.")})  # fmt: skip
    currency = (currency or "").strip().upper()
    offered = [m for m in methods_for(actor) if m.withdrawals_enabled]
    if method is None or method not in offered:
        raise ValidationError({"method": _("Withdrawals through this method are not available.")})
    if currency != method.currency:
        raise ValidationError({"currency": _("%(method)s pays out %(currency)s only.")
                               % {"method": method.name, "currency": method.currency}})  # fmt: skip
    amount_minor = amount_parse(amount, currency)
    fingerprint = hashlib.sha256(json.dumps([str(method.public_id), amount_minor, currency])
                                 .encode()).hexdigest()  # fmt: skip
    existing = Withdrawal.objects.filter(client=actor, idempotency_key=key).first()
    if existing is not None:
        if existing.request_sha256 != fingerprint:
            raise ValidationError({"idempotency_key": _(
                "This idempotency key was already used for a different withdrawal.")})  # fmt: skip
        return existing
    if amount_minor < method.min_minor or amount_minor > method.max_minor:
        raise ValidationError({"amount": _("%(method)s pays out %(low)s to %(high)s %(currency)s.")
                               % {"method": method.name, "low": method.min_amount,
                                  "high": method.max_amount, "currency": currency}})  # fmt: skip
    allowed, why, code = withdrawal_decision(actor, amount_minor=amount_minor,
                                             currency=currency, method=method)  # fmt: skip
    if not allowed:
        raise ValidationError(why, code=code)
    try:
        withdrawal = _hold_and_decide(actor, method, amount_minor, currency, key, fingerprint)
    except IntegrityError:
        return Withdrawal.objects.get(client=actor, idempotency_key=key)
    if withdrawal.status == WithdrawalStatus.APPROVED:
        return withdrawal_send(withdrawal, target)
    return withdrawal


def _hold_and_decide(actor: Any, method: PaymentMethod, amount_minor: int, currency: str,
                     key: str, fingerprint: str) -> Withdrawal:  # fmt: skip
    with transaction.atomic():
        # The client's withdrawals serialise here: the closed-loop room cannot be spent twice.
        User.objects.select_for_update().filter(pk=actor.pk).first()
        room = closed_loop_room(actor, method)
        if amount_minor > room:
            raise ValidationError({"amount": _(
                "Withdrawals go back to the method you deposited with, up to what you deposited "
                "through it: %(room)s %(currency)s left for %(method)s.")
                % {"room": _major(room, currency), "currency": currency,
                   "method": method.name}})  # fmt: skip
        withdrawal = Withdrawal.objects.create(
            client=actor, method=method, currency=currency, amount_minor=amount_minor,
            status=WithdrawalStatus.REQUESTED, idempotency_key=key, request_sha256=fingerprint,
        )  # fmt: skip
        wallet = ledger.wallet_ensure(client=actor, currency=currency)
        outgoing = ledger.account_ensure(kind=AccountKind.PENDING_WITHDRAWALS, currency=currency)
        try:
            result = ledger.transfer_create(
                idempotency_key=f"withdrawal:{withdrawal.public_id}:hold", pending=True,
                postings=[ledger.Posting(debit=wallet, credit=outgoing, amount_minor=amount_minor)],
                code="withdrawal", description=f"Withdrawal via {method.name}", actor=actor,
            )  # fmt: skip
        except ledger.InsufficientFunds:
            raise ValidationError({"amount": _("The amount is more than your available balance.")
                                   }) from None  # fmt: skip
        withdrawal.hold = result.transfer
        signals = signals_of(actor, amount_minor, currency, exclude_pk=withdrawal.pk)
        auto_max, second_above = rule_for(currency)
        if amount_minor > auto_max:
            signals.append("over_auto_limit")
        withdrawal.signals = signals
        withdrawal.needs_second_approval = amount_minor > second_above or any(
            s in signals for s in ("recent_device_change", "unusual_amount"))  # fmt: skip
        _audit(withdrawal, "request", actor, None)
        before = _snapshot(withdrawal)
        if signals:
            withdrawal.status = WithdrawalStatus.UNDER_REVIEW
            withdrawal.save()
            _audit(withdrawal, "review", "rules", before,
                   reason=", ".join(SIGNAL_TEXT[s] for s in signals))  # fmt: skip
        else:
            withdrawal.status, withdrawal.auto_approved = WithdrawalStatus.APPROVED, True
            withdrawal.save()
            _audit(withdrawal, "approve_rule", "rules", before,
                   reason=_("small, verified client, no risk signal"))  # fmt: skip
    return withdrawal


def _major(minor: int, currency: str) -> str:
    from brokerdesk.platform.money import from_minor

    return str(from_minor(max(minor, 0), currency))


def _locked(withdrawal: Withdrawal) -> Withdrawal:
    return (Withdrawal.objects.select_for_update(of=("self",))
            .select_related("client", "method__credential", "hold").get(pk=withdrawal.pk))  # fmt: skip


def withdrawal_approve(*, actor: Any, withdrawal: Withdrawal, target: CallbackTarget) -> Withdrawal:
    """One approval; the second (by someone else) when the withdrawal needs two."""
    if not permission_check(actor, APPROVE):
        raise PermissionDenied("You need the permission 'payments.approve_withdrawal'.")
    with transaction.atomic():
        w = _locked(withdrawal)
        if w.status != WithdrawalStatus.UNDER_REVIEW:
            raise ValidationError(_("Only a withdrawal under review can be approved."))
        before = _snapshot(w)
        now = timezone.now()
        if w.first_approver_id is None:
            w.first_approver, w.first_approved_at = actor, now
            if not w.needs_second_approval:
                w.status, w.decided_by = WithdrawalStatus.APPROVED, actor
        else:
            if w.first_approver_id == actor.pk:
                raise ValidationError(_("A second, different approver must approve this "
                                        "withdrawal: you approved it already."))  # fmt: skip
            w.second_approver, w.second_approved_at = actor, now
            w.status, w.decided_by = WithdrawalStatus.APPROVED, actor
        w.updated_at = now
        w.save()
        waiting = w.status != WithdrawalStatus.APPROVED
        _audit(w, "approve_first" if waiting else "approve", actor, before)
    return w if waiting else withdrawal_send(w, target)


def withdrawal_reject(*, actor: Any, withdrawal: Withdrawal, reason: str) -> Withdrawal:
    """Refuse it: the hold is released and the trader reads ``reason``."""
    if not permission_check(actor, APPROVE):
        raise PermissionDenied("You need the permission 'payments.approve_withdrawal'.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why: the trader reads this reason.")})
    with transaction.atomic():
        w = _locked(withdrawal)
        if w.status != WithdrawalStatus.UNDER_REVIEW:
            raise ValidationError(_("Only a withdrawal under review can be rejected."))
        before = _snapshot(w)
        w.resolution = ledger.transfer_void(
            pending=w.hold, idempotency_key=f"withdrawal:{w.public_id}:release", actor=actor,
            description=reason[:500]).transfer  # fmt: skip
        w.status, w.decided_by, w.reason = WithdrawalStatus.REJECTED, actor, reason[:300]
        w.completed_at = w.updated_at = timezone.now()
        w.save()
        _audit(w, "reject", actor, before, reason=reason)
    return w


def withdrawal_send(withdrawal: Withdrawal, target: CallbackTarget) -> Withdrawal:
    """Ask the PSP to pay out (no transaction open meanwhile); the PSP's idempotency key is
    the withdrawal, so a retried send can never pay twice."""
    from django.conf import settings

    w = Withdrawal.objects.select_related("client", "method__credential").get(pk=withdrawal.pk)
    if w.status != WithdrawalStatus.APPROVED:
        return w
    credential = w.method.credential
    base = (getattr(settings, "PAYMENTS_CALLBACK_BASE_URL", "") or target.base_url).rstrip("/")
    request = DepositRequest(
        reference=str(w.public_id), amount_minor=w.amount_minor, currency=w.currency,
        customer=str(w.client.public_id), callback_url=f"{base}{callback_path(credential)}",
        callback_host=target.host, return_url="",
    )  # fmt: skip
    try:
        payout_id = adapter_for(credential).payout_start(
            request, destination=str(w.client.public_id)
        )
    except PspError as error:
        if error.transient:
            return w  # stays approved: sent again on the next try
        return _fail(w, str(error))
    with transaction.atomic():
        locked = _locked(w)
        if locked.status != WithdrawalStatus.APPROVED:
            return locked
        before = _snapshot(locked)
        locked.status, locked.psp_payout_id = WithdrawalStatus.SENT, payout_id[:100]
        locked.sent_at = locked.updated_at = timezone.now()
        locked.save()
        _audit(locked, "send", "payments", before)
    return locked


def _fail(w: Withdrawal, detail: str) -> Withdrawal:
    with transaction.atomic():
        locked = _locked(w)
        if locked.status in WITHDRAWAL_FINAL:
            return locked
        before = _snapshot(locked)
        locked.resolution = ledger.transfer_void(
            pending=locked.hold, idempotency_key=f"withdrawal:{locked.public_id}:release",
            actor="payments", description=detail[:500]).transfer  # fmt: skip
        locked.status = WithdrawalStatus.FAILED
        locked.reason = detail[:300]
        locked.completed_at = locked.updated_at = timezone.now()
        locked.save()
        _audit(locked, "fail", "payments", before, reason=detail[:300])
    return locked


def withdrawal_apply(*, update: PspUpdate, provider: str) -> tuple[str, Withdrawal | None]:
    """A payout callback: paid posts the hold (once), failed releases it (once)."""
    import uuid as uuid_module

    try:
        reference = uuid_module.UUID(update.merchant_ref)
    except ValueError:
        return CallbackOutcome.UNKNOWN_PAYMENT, None
    with transaction.atomic():
        w = (Withdrawal.objects.select_for_update(of=("self",))
             .select_related("client", "method", "hold").filter(public_id=reference).first())  # fmt: skip
        if w is None or w.method.credential.provider != provider:
            return CallbackOutcome.UNKNOWN_PAYMENT, None
        if w.status != WithdrawalStatus.SENT or update.status == PspStatus.PENDING:
            return CallbackOutcome.NO_CHANGE, w
        before = _snapshot(w)
        if update.status == PspStatus.APPROVED:
            w.resolution = ledger.transfer_post(
                pending=w.hold, idempotency_key=f"withdrawal:{w.public_id}:paid",
                actor=f"psp:{provider}").transfer  # fmt: skip
            w.status = WithdrawalStatus.COMPLETED
        else:
            w.resolution = ledger.transfer_void(
                pending=w.hold, idempotency_key=f"withdrawal:{w.public_id}:release",
                actor=f"psp:{provider}", description=update.reason[:500]).transfer  # fmt: skip
            w.status, w.reason = WithdrawalStatus.FAILED, update.reason[:300]
        w.completed_at = w.updated_at = timezone.now()
        w.save()
        _audit(w, w.status, f"psp:{provider}", before, reason=update.status_raw)
    return CallbackOutcome.APPLIED, w


def trader_stage_text(w: Withdrawal) -> str:
    """The stage the trader reads, with what comes next and the reason when refused."""
    if w.status in (WithdrawalStatus.REQUESTED, WithdrawalStatus.UNDER_REVIEW):
        return _("Under review by our finance team, usually within one business day. The "
                 "amount is on hold in your wallet.")  # fmt: skip
    if w.status == WithdrawalStatus.APPROVED:
        return _("Approved: being sent to your payment method.")
    if w.status == WithdrawalStatus.SENT:
        if not w.method.expected_minutes:
            return _("Sent to your payment method; it arrives at once.")
        return _("Sent to your payment method; it usually arrives in %(time)s.") % {
            "time": w.method.expected_time}  # fmt: skip
    if w.status == WithdrawalStatus.COMPLETED:
        return _("Completed: the money was paid out.")
    return _("Not paid: %(reason)s The amount is available in your wallet again.") % {
        "reason": w.reason}  # fmt: skip


def withdrawals_poll(*, older_than_s: int = 120, limit: int = 200) -> dict[str, int]:
    """Finish what a lost answer or callback left open: approved withdrawals the PSP never
    took (sent again: the PSP's idempotency key is the withdrawal) and sent ones whose
    outcome never arrived (asked)."""
    from django.conf import settings

    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    counts = {"resent": 0, "asked": 0, "applied": 0, "errors": 0}
    base = getattr(settings, "PAYMENTS_CALLBACK_BASE_URL", "") or "http://127.0.0.1"
    target = CallbackTarget(base_url=base, host="", return_url_of=lambda w: "")
    for w in Withdrawal.objects.filter(status=WithdrawalStatus.APPROVED,
                                       updated_at__lt=cutoff)[:limit]:  # fmt: skip
        withdrawal_send(w, target)
        counts["resent"] += 1
    sent = Withdrawal.objects.filter(status=WithdrawalStatus.SENT, sent_at__lt=cutoff).exclude(
        psp_payout_id="").select_related("method__credential")[:limit]  # fmt: skip
    for w in sent:
        credential = w.method.credential
        try:
            update = adapter_for(credential).payment_status(reference=str(w.public_id),
                                                            psp_payment_id=w.psp_payout_id)  # fmt: skip
        except PspError:
            counts["errors"] += 1
            continue
        counts["asked"] += 1
        if update is not None:
            update = PspUpdate(**{**update.__dict__, "kind": "payout",
                                  "merchant_ref": str(w.public_id)})  # fmt: skip
            outcome, _w = withdrawal_apply(update=update, provider=credential.provider)
            counts["applied"] += outcome == CallbackOutcome.APPLIED
    return counts
