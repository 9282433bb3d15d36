"""Deposits to the wallet: intent, redirect to the PSP, callbacks and polls applied once.

- ``deposit_start``: a client's intent under their idempotency key (same key and body →
  the same deposit; another body → refused), checked against the method's limits and the
  policy gate, then started at the PSP outside any database transaction.
- ``callback_receive``: every raw callback is stored first, then verified (signature and
  timestamp), then applied by ``deposit_apply``.
- ``deposit_apply``: the one place a PSP's word changes a deposit, whether it came from a
  callback or a status query: the deposit row is locked, statuses only move forward
  (``DEPOSIT_RANK``), an outcome is final, and the wallet is credited by one ledger transfer
  whose idempotency key is the deposit's — so however many times and in whatever order the
  PSP repeats itself, the money moves once.
- ``deposits_poll``: asks the PSP about deposits left pending (Celery beat, every tenant).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import AuditTarget, audit_record
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.ledger.adjustments import amount_parse
from brokerdesk.modules.ledger.models import AccountKind
from brokerdesk.modules.payments.models import (
    DEPOSIT_RANK,
    DEPOSIT_TERMINAL,
    DEPOSIT_TRANSITIONS,
    CallbackOutcome,
    Deposit,
    DepositAccountStatus,
    DepositStatus,
    PaymentMethod,
    PspCallback,
)
from brokerdesk.modules.payments.policy_gate import deposit_decision
from brokerdesk.modules.payments.psp.base import (
    CallbackAnswer,
    CallbackRejected,
    DepositRequest,
    PspError,
    PspStatus,
    PspUpdate,
    adapter_for,
)
from brokerdesk.platform.money import from_minor
from brokerdesk.tenants.config.models import PspCredential

logger = logging.getLogger("brokerdesk.payments")

KEY_MAX = 255
# Headers worth keeping with a raw callback (never cookies or credentials).
KEPT_HEADERS = ("content-type", "user-agent", "x-sandbox-signature", "x-sandbox-merchant",
                "stripe-signature", "x-processing-key", "x-processing-signature",
                "gt-authentication")  # fmt: skip


class DepositRefused(ValidationError):
    """A deposit that cannot be made, with the reason the trader reads."""


# --- Methods ---------------------------------------------------------------------------------


def client_entity(client: User) -> Any:
    from brokerdesk.modules.kyc.configuration import legal_entity_for_country

    return legal_entity_for_country(client.country)


def methods_for(client: User) -> list[PaymentMethod]:
    """The deposit methods ``client`` may use: their entity's (or every entity's), offered in
    their country; fastest first, then the ones made for their country, then by name."""
    entity = client_entity(client)
    rows = PaymentMethod.objects.filter(is_active=True, deposits_enabled=True).filter(
        Q(legal_entity__isnull=True) | Q(legal_entity=entity)
    ).select_related("credential")  # fmt: skip
    country = (client.country or "").upper()
    usable = [m for m in rows if not m.countries or country in m.countries]
    return sorted(usable, key=lambda m: (m.expected_minutes, country not in m.countries,
                                         m.name.lower()))  # fmt: skip


# --- Starting a deposit ----------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackTarget:
    """Where the PSP calls back and where the trader returns (built from the request)."""

    base_url: str  # e.g. "https://broker.example" or "http://127.0.0.1:8000" on loopback
    host: str  # the tenant's host name, sent as Host when the base is an address
    return_url_of: Any  # callable(deposit) -> absolute URL of the trader's status page


def _fingerprint(method: PaymentMethod, amount_minor: int, currency: str,
                 account: Any = None) -> str:  # fmt: skip
    asked: list[Any] = [str(method.public_id), amount_minor, currency]
    if account is not None:
        asked.append(str(account.public_id))
    return hashlib.sha256(json.dumps(asked).encode()).hexdigest()


def _snapshot(deposit: Deposit) -> dict[str, Any]:
    return {
        "client": str(deposit.client.public_id),
        "method": str(deposit.method.public_id),
        "amount": str(deposit.amount),
        "fee": str(deposit.fee),
        "currency": deposit.currency,
        "status": deposit.status,
        "psp_payment_id": deposit.psp_payment_id,
        "reason": deposit.reason,
        "target_account": str(deposit.target_account.public_id)
        if deposit.target_account_id else "wallet",
        "account_status": deposit.account_status,
        "account_error": deposit.account_error,
        "charged_back": deposit.charged_back_at is not None,
    }  # fmt: skip


def _audit(
    deposit: Deposit, action: str, actor: Any, before: dict | None, reason: str = ""
) -> None:
    audit_record(
        actor=actor, action=f"payments.deposit.{action}",
        target=AuditTarget(type="deposit", public_id=str(deposit.public_id)),
        before=before, after=_snapshot(deposit), reason=reason,
    )  # fmt: skip


def deposit_validate(*, client: Any, method: PaymentMethod | None, amount: Any,
                     currency: str, account: Any = None) -> int:  # fmt: skip
    """The amount in minor units, or a ``ValidationError`` naming what is wrong.

    ``account``: one of the client's live trading accounts the deposit goes on to (None: the
    wallet); it must be theirs, live, in the method's currency, and allowed by the policy."""
    if client is None or getattr(client, "kind", None) != UserKind.CLIENT:
        raise ValidationError(_("Only clients deposit into their wallet."))
    if method is None or method not in methods_for(client):
        raise ValidationError({"method": _("This payment method is not available to you.")})
    if currency != method.currency:
        raise ValidationError(
            {"currency": _("%(method)s takes %(currency)s only.")
             % {"method": method.name, "currency": method.currency}}
        )  # fmt: skip
    amount_minor = amount_parse(amount, currency)
    if amount_minor < method.min_minor:
        raise ValidationError({"amount": _("The minimum for %(method)s is %(amount)s %(currency)s.")
                               % {"method": method.name, "amount": method.min_amount,
                                  "currency": currency}})  # fmt: skip
    if amount_minor > method.max_minor:
        raise ValidationError({"amount": _("The maximum for %(method)s is %(amount)s %(currency)s.")
                               % {"method": method.name, "amount": method.max_amount,
                                  "currency": currency}})  # fmt: skip
    if method.fee_for(amount_minor) >= amount_minor:
        raise ValidationError({"amount": _("The amount does not cover the method's fee.")})
    if account is not None:
        from brokerdesk.modules.payments.deposit_accounts import account_check

        account_check(client, account, currency)
    allowed, why = deposit_decision(client, amount_minor=amount_minor, currency=currency,
                                    method=method, account=account)  # fmt: skip
    if not allowed:
        raise DepositRefused(why)
    return amount_minor


def deposit_start(*, actor: Any, method: PaymentMethod | None, amount: Any, currency: str,
                  idempotency_key: str, target: CallbackTarget,
                  account: Any = None) -> Deposit:  # fmt: skip
    """Create (or find, by the client's key) a deposit intent and start it at the PSP;
    ``account``: one of the actor's live trading accounts to move it on to (None: wallet)."""
    key = (idempotency_key or "").strip()
    if not key or len(key) > KEY_MAX:
        raise ValidationError({"idempotency_key": _("An idempotency key of 1 to 255 characters "
                                                    "is required.")})  # fmt: skip
    currency = (currency or "").strip().upper()
    amount_minor = deposit_validate(client=actor, method=method, amount=amount, currency=currency,
                                    account=account)  # fmt: skip
    assert method is not None
    fingerprint = _fingerprint(method, amount_minor, currency, account)
    existing = Deposit.objects.filter(client=actor, idempotency_key=key).first()
    if existing is None:
        try:
            with transaction.atomic():
                deposit = Deposit.objects.create(
                    client=actor, method=method, provider=method.credential.provider,
                    currency=currency, amount_minor=amount_minor,
                    fee_minor=method.fee_for(amount_minor), status=DepositStatus.INITIATED,
                    idempotency_key=key, request_sha256=fingerprint, target_account=account,
                    account_status=DepositAccountStatus.WAITING if account is not None else "",
                )  # fmt: skip
                _audit(deposit, "create", actor, None)
        except IntegrityError:
            # A concurrent request with the same key won the insert: it is this deposit.
            existing = Deposit.objects.get(client=actor, idempotency_key=key)
    if existing is not None:
        if existing.request_sha256 != fingerprint:
            raise ValidationError({"idempotency_key": _(
                "This idempotency key was already used for a different deposit; use a new key "
                "for a new deposit.")})  # fmt: skip
        deposit = existing
        if deposit.status != DepositStatus.INITIATED or deposit.psp_payment_id:
            return deposit
    return _psp_start(deposit, target)


def _psp_start(deposit: Deposit, target: CallbackTarget) -> Deposit:
    """Ask the PSP for a payment; no transaction is open while we wait for it."""
    method = deposit.method
    adapter = adapter_for(method.credential)
    base = (getattr(settings, "PAYMENTS_CALLBACK_BASE_URL", "") or target.base_url).rstrip("/")
    request = DepositRequest(
        reference=str(deposit.public_id), amount_minor=deposit.amount_minor,
        currency=deposit.currency, customer=str(deposit.client.public_id),
        callback_url=f"{base}{callback_path(method.credential)}", callback_host=target.host,
        return_url=target.return_url_of(deposit),
    )  # fmt: skip
    try:
        start = adapter.payment_start(request)
    except PspError as error:
        logger.warning("deposit %s: PSP start failed: %s", deposit.public_id, error)
        if error.transient:
            raise ValidationError(_("The payment provider is not answering; try again in a "
                                    "minute (your deposit was not charged).")) from None  # fmt: skip
        return _fail_at_start(deposit, str(error))
    with transaction.atomic():
        locked = Deposit.objects.select_for_update(of=("self",)).select_related("client", "method").get(
            pk=deposit.pk)  # fmt: skip
        before = _snapshot(locked)
        locked.psp_payment_id = locked.psp_payment_id or start.psp_payment_id[:100]
        locked.redirect_url = start.redirect_url[:1000]
        if locked.status == DepositStatus.INITIATED:
            locked.status = DepositStatus.PENDING
        locked.updated_at = timezone.now()
        locked.save(update_fields=["psp_payment_id", "redirect_url", "status", "updated_at"])
        _audit(locked, "redirect", "payments", before)
    return locked


def _fail_at_start(deposit: Deposit, detail: str) -> Deposit:
    with transaction.atomic():
        locked = Deposit.objects.select_for_update(of=("self",)).select_related("client", "method").get(
            pk=deposit.pk)  # fmt: skip
        if locked.status != DepositStatus.INITIATED:
            return locked
        before = _snapshot(locked)
        locked.status = DepositStatus.FAILED
        locked.reason_code = "psp_refused"
        locked.reason = _("The payment provider refused to start this payment.")
        locked.completed_at = locked.updated_at = timezone.now()
        locked.save()
        _audit(locked, "fail", "payments", before, reason=detail[:300])
    return locked


def callback_path(credential: PspCredential) -> str:
    return f"/payments/callback/{credential.provider}/{credential.public_id}/"


# --- Applying what the PSP says --------------------------------------------------------------


def _target_status(deposit: Deposit, update: PspUpdate) -> tuple[str, str]:
    """The status ``update`` asks for, and why (amount checks turn approvals into reviews)."""
    if update.status == PspStatus.PENDING:
        return DepositStatus.PENDING, ""
    if update.status == PspStatus.DECLINED:
        return DepositStatus.FAILED, ""
    if update.status == PspStatus.UNDER_REVIEW:
        return DepositStatus.UNDER_REVIEW, ""
    if update.amount_minor is None or (update.currency or deposit.currency) != deposit.currency:
        return DepositStatus.UNDER_REVIEW, "the PSP reported another currency or no amount"
    if update.amount_minor != deposit.amount_minor:
        return DepositStatus.UNDER_REVIEW, "the PSP processed another amount than requested"
    return DepositStatus.CREDITED, ""


def _credit(deposit: Deposit, amount_minor: int, actor: str) -> Any:
    credential = deposit.method.credential
    clearing = ledger.account_ensure(
        kind=AccountKind.PSP_CLEARING, currency=deposit.currency,
        external_ref=f"{credential.provider}:{credential.public_id}",
    )  # fmt: skip
    wallet = ledger.wallet_ensure(client=deposit.client, currency=deposit.currency)
    fee = deposit.fee_minor
    postings = [ledger.Posting(debit=clearing, credit=wallet, amount_minor=amount_minor - fee)]
    if fee:
        revenue = ledger.account_ensure(kind=AccountKind.BROKER_REVENUE, currency=deposit.currency)
        postings.append(ledger.Posting(debit=clearing, credit=revenue, amount_minor=fee))
    result = ledger.transfer_create(
        idempotency_key=f"deposit:{deposit.public_id}:credit", postings=postings,
        code="deposit", description=f"Deposit via {deposit.method.name}", actor=actor,
        external_ref=deposit.psp_payment_id,
    )  # fmt: skip
    return result.transfer


def _locate(update: PspUpdate, provider: str) -> QuerySet[Deposit]:
    rows = Deposit.objects.select_related("client", "method", "method__credential")
    try:
        return rows.filter(public_id=uuid.UUID(update.merchant_ref))
    except ValueError:
        pass
    if update.psp_payment_id:
        return rows.filter(provider=provider, psp_payment_id=update.psp_payment_id)
    return rows.none()


def deposit_apply(*, update: PspUpdate, provider: str, source: str,
                  credential: PspCredential | None = None) -> tuple[str, Deposit | None]:  # fmt: skip
    """Apply one PSP report; returns (callback outcome, deposit). Exactly-once by construction:
    the row lock orders concurrent reports, ranks drop stale ones, the ledger key drops any
    second credit. A credited deposit bound for a trading account then takes its platform leg
    (after the commit; any report may take it, the leg's key makes it happen once)."""
    outcome, deposit = _apply(update=update, provider=provider, source=source,
                              credential=credential)  # fmt: skip
    if deposit is not None:
        deposit = account_leg_after_credit(deposit)
    return outcome, deposit


def account_leg_after_credit(deposit: Deposit) -> Deposit:
    """Take the platform leg of a credited deposit bound for a trading account, if open."""
    if deposit.status != DepositStatus.CREDITED or not deposit.account_leg_open:
        return deposit
    from brokerdesk.modules.payments.deposit_accounts import deposit_account_advance

    try:
        return deposit_account_advance(deposit)
    except Exception:
        # The credit is committed: a failure here must not fail the PSP's callback or the
        # poll. The leg stays open; the payments sweep takes it again.
        logger.exception("deposit %s: the trading account leg failed", deposit.public_id)
        return Deposit.objects.get(pk=deposit.pk)


def _apply(*, update: PspUpdate, provider: str, source: str,
           credential: PspCredential | None) -> tuple[str, Deposit | None]:  # fmt: skip
    actor = f"psp:{provider}"
    with transaction.atomic():
        deposit = _locate(update, provider).select_for_update(of=("self",)).first()
        if deposit is None or deposit.provider != provider or (
            credential is not None and deposit.method.credential_id != credential.pk
        ):  # fmt: skip
            return CallbackOutcome.UNKNOWN_PAYMENT, None
        now = timezone.now()
        fields = {"updated_at"}
        if source == "callback" and deposit.callback_at is None:
            deposit.callback_at = now
            fields.add("callback_at")
        if update.psp_payment_id and not deposit.psp_payment_id:
            deposit.psp_payment_id = update.psp_payment_id[:100]
            fields.add("psp_payment_id")
        target, review_note = _target_status(deposit, update)
        current = deposit.status
        moves = (
            current not in DEPOSIT_TERMINAL
            and DEPOSIT_RANK[target] > DEPOSIT_RANK[current]
            and (current, target) in DEPOSIT_TRANSITIONS
        )
        if not moves:
            deposit.updated_at = now
            deposit.save(update_fields=sorted(fields))
            return CallbackOutcome.NO_CHANGE, deposit
        before = _snapshot(deposit)
        deposit.status = target
        if update.status == PspStatus.APPROVED:
            deposit.processed_minor = update.amount_minor
            deposit.processed_currency = update.currency[:8]
        if update.reason_code or update.reason:
            deposit.reason_code = update.reason_code[:60]
            deposit.reason = update.reason[:300]
        if target == DepositStatus.UNDER_REVIEW and review_note:
            deposit.reason_code, deposit.reason = "review", review_note
        if target == DepositStatus.CREDITED:
            deposit.transfer = _credit(deposit, update.amount_minor or 0, actor)
            deposit.credited_by = source
        if target in DEPOSIT_TERMINAL:
            deposit.completed_at = now
        deposit.updated_at = now
        deposit.save()
        _audit(deposit, target, actor, before, reason=f"{source}: {update.status_raw}"[:300])
    return CallbackOutcome.APPLIED, deposit


# --- The callback inbox ----------------------------------------------------------------------


def _kept(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): str(value)[:1000] for name, value in headers.items()
            if name.lower() in KEPT_HEADERS}  # fmt: skip


def callback_receive(*, provider: str, credential_id: Any, body: bytes,
                     headers: Mapping[str, str]) -> CallbackAnswer:  # fmt: skip
    """Store the raw callback, verify it, apply it; answer as the PSP expects."""
    try:
        credential = PspCredential.objects.filter(
            public_id=uuid.UUID(str(credential_id)), provider=provider).first()  # fmt: skip
    except ValueError:
        credential = None
    row = PspCallback.objects.create(
        provider=provider[:16], credential=credential, headers=_kept(headers), raw_body=body
    )  # autocommitted: the raw callback is kept whatever happens next
    if credential is None:
        _inbox_close(row, CallbackOutcome.REJECTED, "no such PSP credential")
        return CallbackAnswer(404)
    adapter = adapter_for(credential)
    try:
        adapter.callback_verify(body=body, headers=headers)
    except CallbackRejected as error:
        _inbox_close(row, CallbackOutcome.REJECTED, str(error))
        return adapter.callback_answer(accepted=False)
    PspCallback.objects.filter(pk=row.pk).update(signature_ok=True)
    row.signature_ok = True
    callback_process(row, credential=credential)
    return adapter.callback_answer(accepted=True)


def _inbox_close(row: PspCallback, outcome: str, detail: str = "", **fields: Any) -> None:
    PspCallback.objects.filter(pk=row.pk).update(
        outcome=outcome, detail=detail[:300], processed_at=timezone.now(), **fields
    )


def callback_process(row: PspCallback, *, credential: PspCredential) -> str:
    """Apply one verified inbox row (again safe: applying twice changes nothing)."""
    adapter = adapter_for(credential)
    body = bytes(row.raw_body)
    try:
        update = adapter.callback_parse(body=body, headers=row.headers)
    except (ValueError, KeyError, TypeError) as error:
        _inbox_close(row, CallbackOutcome.INVALID, str(error))
        return CallbackOutcome.INVALID
    if update is None:
        _inbox_close(row, CallbackOutcome.IGNORED)
        return CallbackOutcome.IGNORED
    if update.kind == "chargeback":
        from brokerdesk.modules.payments.chargebacks import chargeback_from_psp

        outcome, deposit = chargeback_from_psp(update=update, provider=credential.provider)
        _inbox_close(row, outcome, deposit=deposit, event_id=update.event_id[:100],
                     psp_payment_id=update.psp_payment_id[:100],
                     merchant_ref=update.merchant_ref[:100], status_raw=update.status_raw[:40])  # fmt: skip
        return outcome
    if update.kind == "payout":
        from brokerdesk.modules.payments.withdrawals import withdrawal_apply

        outcome, _withdrawal = withdrawal_apply(update=update, provider=credential.provider)
        _inbox_close(row, outcome, event_id=update.event_id[:100],
                     psp_payment_id=update.psp_payment_id[:100],
                     merchant_ref=update.merchant_ref[:100], status_raw=update.status_raw[:40])  # fmt: skip
        return outcome
    outcome, deposit = deposit_apply(update=update, provider=credential.provider,
                                     source="callback", credential=credential)  # fmt: skip
    _inbox_close(row, outcome, deposit=deposit, event_id=update.event_id[:100],
                 psp_payment_id=update.psp_payment_id[:100],
                 merchant_ref=update.merchant_ref[:100], status_raw=update.status_raw[:40])  # fmt: skip
    return outcome


def inbox_sweep(*, older_than_s: int = 30) -> int:
    """Process signed callbacks whose processing was cut short (a crash after storing)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    rows = PspCallback.objects.filter(
        signature_ok=True, processed_at__isnull=True, received_at__lt=cutoff
    ).select_related("credential")[:500]
    done = 0
    for row in rows:
        if row.credential is not None:
            callback_process(row, credential=row.credential)
            done += 1
    return done


# --- The poller ------------------------------------------------------------------------------


def _poll_after_s() -> int:
    return int(getattr(settings, "PAYMENTS_POLL_AFTER_S", 120))


def deposits_poll(*, older_than_s: int | None = None, limit: int = 200) -> dict[str, int]:
    """Ask the PSP about deposits still waiting for it after ``older_than_s``."""
    age = _poll_after_s() if older_than_s is None else older_than_s
    cutoff = timezone.now() - timedelta(seconds=age)
    waiting = list(
        Deposit.objects.filter(
            status__in=[DepositStatus.INITIATED, DepositStatus.PENDING], created_at__lt=cutoff
        ).select_related("method__credential").order_by("polled_at", "created_at")[:limit]
    )  # fmt: skip
    counts = {"asked": 0, "applied": 0, "errors": 0}
    for deposit in waiting:
        credential = deposit.method.credential
        try:
            update = adapter_for(credential).payment_status(
                reference=str(deposit.public_id), psp_payment_id=deposit.psp_payment_id)  # fmt: skip
        except PspError as error:
            logger.info("deposit %s: status query failed: %s", deposit.public_id, error)
            counts["errors"] += 1
            update = None
        counts["asked"] += 1
        Deposit.objects.filter(pk=deposit.pk).update(
            polled_at=timezone.now(), poll_count=deposit.poll_count + 1
        )
        if update is not None:
            outcome, _deposit = deposit_apply(update=update, provider=credential.provider,
                                              source="poll", credential=credential)  # fmt: skip
            counts["applied"] += outcome == CallbackOutcome.APPLIED
    return counts


def callback_missing_after_s() -> int:
    return int(getattr(settings, "PAYMENTS_CALLBACK_MISSING_AFTER_S", 300))


def callback_missing(deposit: Deposit) -> bool:
    """Pending at the PSP for long, and no callback ever came (Finance's S2 flag)."""
    cutoff = timezone.now() - timedelta(seconds=callback_missing_after_s())
    return (deposit.status in (DepositStatus.INITIATED, DepositStatus.PENDING)
            and deposit.callback_at is None and deposit.created_at < cutoff)  # fmt: skip


def trader_status_text(deposit: Deposit) -> str:
    """What the trader reads: honest, specific, with the PSP's reason when it failed."""
    if deposit.status == DepositStatus.INITIATED:
        return _("Not started yet: continue to the payment page.")
    if deposit.status == DepositStatus.PENDING:
        return _("Waiting for the payment provider to confirm your payment. We check with them "
                 "automatically; you do not need to pay again.")  # fmt: skip
    if deposit.status == DepositStatus.UNDER_REVIEW:
        return _("Your payment arrived and is being checked by our finance team.")
    if deposit.status == DepositStatus.CREDITED:
        if deposit.charged_back_at is not None:
            return _("This payment was charged back: %(reason)s") % {
                "reason": deposit.chargeback_reason}  # fmt: skip
        if deposit.target_account_id:
            from brokerdesk.modules.payments.deposit_accounts import account_leg_text

            return account_leg_text(deposit)
        return _("%(amount)s %(currency)s was added to your wallet.") % {
            "amount": from_minor(deposit.credited_minor, deposit.currency),
            "currency": deposit.currency}  # fmt: skip
    reason = deposit.reason or _("The payment provider gave no reason.")
    return _("The payment failed: %(reason)s") % {"reason": reason}


# --- Finance's review ------------------------------------------------------------------------

REVIEW = "payments.review_deposits"


def deposit_review(*, actor: Any, deposit: Deposit, approve: bool, note: str) -> Deposit:
    """Finance decides a deposit under review: credit what the PSP processed, or fail it
    with the reason the trader will read. Audited with the note."""
    from django.core.exceptions import PermissionDenied

    from brokerdesk.modules.identity.rbac.checks import permission_check

    if not permission_check(actor, REVIEW):
        raise PermissionDenied("You need the permission 'payments.review_deposits'.")
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say why: the note is kept with the decision.")})
    if len(note) > 300:
        raise ValidationError({"note": _("Keep the note under 300 characters.")})
    with transaction.atomic():
        locked = (Deposit.objects.select_for_update(of=("self",))
                  .select_related("client", "method__credential").get(pk=deposit.pk))  # fmt: skip
        if locked.status != DepositStatus.UNDER_REVIEW:
            raise ValidationError(_("This deposit is not under review (it is %(status)s).")
                                  % {"status": locked.get_status_display().lower()})  # fmt: skip
        before = _snapshot(locked)
        now = timezone.now()
        if approve:
            amount = locked.processed_minor
            if not amount or (locked.processed_currency or locked.currency) != locked.currency:
                raise ValidationError(_("The PSP reported no amount in %(currency)s: reject it "
                                        "and settle it with the PSP.")
                                      % {"currency": locked.currency})  # fmt: skip
            if amount <= locked.fee_minor:
                raise ValidationError(_("The processed amount does not cover the fee."))
            locked.transfer = _credit(locked, amount, actor)
            locked.status, locked.credited_by = DepositStatus.CREDITED, "review"
        else:
            locked.status = DepositStatus.FAILED
            locked.reason_code, locked.reason = "rejected_in_review", note
        locked.completed_at = locked.updated_at = now
        locked.save()
        _audit(locked, "review_credit" if approve else "review_reject", actor, before, reason=note)
    return account_leg_after_credit(locked)
