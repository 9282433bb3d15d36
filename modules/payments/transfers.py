"""Internal transfers: wallet ↔ trading account and account ↔ account (issue 9, item 3; S3).

A transfer is one audited operation made of platform legs, each a trading balance operation
(``trading/balance.py``: exactly once on the platform, paired with a pending ledger transfer):

- wallet → account: a deposit on the target;
- account → wallet: a withdrawal from the source;
- account → account: a withdrawal from the source into the client's wallet, then a deposit
  from the wallet to the target — the second leg is asked only once the first is *applied*.

A leg whose outcome is unknown leaves the transfer "pending sync"; :func:`transfer_advance`
(run again by a task and the payments sweep) reads the legs' settled states and takes the next
step, so the transfer ends with exactly one effect. Leg keys derive from the transfer's id, so
running it twice never makes a second leg. Should the platform refuse the deposit leg of an
account → account transfer, the money goes back to the source account by a third balance
operation (a deposit from the wallet, exactly once like the others; pending sync while its
outcome is unknown) and the transfer is "returned"; only if the platform refuses that too
does the money stay in the wallet, and the transfer says so.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.models import UserKind
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.ledger.adjustments import amount_parse
from brokerdesk.modules.payments.models import (
    InternalTransfer,
    TransferKind,
    TransferStatus,
)
from brokerdesk.modules.policy.engine import Action, decide
from brokerdesk.modules.trading.balance import (
    BalanceOperationRefused,
    balance_operation_request,
    mirror_of,
)
from brokerdesk.modules.trading.models import TradingAccount
from brokerdesk.modules.trading.sync_models import (
    OPEN_OPERATION_STATUSES,
    BalanceOperation,
    OperationKind,
    OperationStatus,
)

logger = logging.getLogger(__name__)

WALLET = "wallet"
# Retries of the per-transfer task (2 s doubling to 5 min); the payments sweep takes over.
MAX_ATTEMPTS = 12


def _snapshot(t: InternalTransfer) -> dict[str, Any]:
    return {
        "kind": t.kind,
        "source": str(t.source_account.public_id) if t.source_account_id else WALLET,
        "target": str(t.target_account.public_id) if t.target_account_id else WALLET,
        "amount_minor": str(t.amount_minor),
        "currency": t.currency,
        "status": t.status,
        "error": t.error,
    }


def _fingerprint(source: Any, target: Any, amount_minor: int, currency: str) -> str:
    def ref(side: Any) -> str:
        return WALLET if side == WALLET else str(side.pk)

    body = [ref(source), ref(target), amount_minor, currency]
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()


def _side_check(actor: Any, side: Any, currency: str, field: str) -> None:
    if side == WALLET:
        return
    if not isinstance(side, TradingAccount) or side.client_id != actor.pk:
        raise ValidationError({field: _("No such trading account of yours.")})
    if side.is_demo:
        raise ValidationError({field: _("Demo accounts cannot take part in transfers.")})
    if side.currency != currency:
        raise ValidationError(
            {field: _("Account %(login)s is in %(account)s, not %(currency)s: transfers are "
                      "made in one currency only.")
             % {"login": side.login, "account": side.currency, "currency": currency}}
        )  # fmt: skip


def _kind_of(source: Any, target: Any) -> str:
    if source == WALLET and target == WALLET:
        raise ValidationError({"target": _("Choose a trading account on one side at least.")})
    if source == WALLET:
        return TransferKind.WALLET_TO_ACCOUNT
    if target == WALLET:
        return TransferKind.ACCOUNT_TO_WALLET
    if source.pk == target.pk:
        raise ValidationError({"target": _("The source and the target are the same account.")})
    return TransferKind.ACCOUNT_TO_ACCOUNT


def _available(actor: Any, source: Any, currency: str) -> int:
    if source == WALLET:
        account = ledger.wallet_ensure(client=actor, currency=currency)
    else:
        account = mirror_of(source)
    account.refresh_from_db()
    return account.available_minor


def transfer_create(
    *, actor: Any, source: Any, target: Any, amount: Any, currency: str, idempotency_key: str
) -> InternalTransfer:
    """Move ``amount`` (a string such as "12.50") of ``currency`` from ``source`` to
    ``target`` — each ``"wallet"`` or one of the actor's live trading accounts.

    Refusals (bad amount, unknown currency, another client's account, another currency, the
    policy engine's "transfer", not enough money, a key reused with another body) raise
    ``ValidationError`` with nothing created. The same key and body return the first transfer.
    Call outside a transaction: each platform leg commits before the platform is asked."""
    if getattr(actor, "kind", None) != UserKind.CLIENT:
        raise ValidationError(_("Only clients transfer between their own accounts."))
    key = (idempotency_key or "").strip()
    if not key or len(key) > 200:
        raise ValidationError(
            {"idempotency_key": _("An idempotency key of 1 to 200 characters is required.")}
        )
    currency = (currency or "").strip().upper()
    amount_minor = amount_parse(amount, currency)
    _side_check(actor, source, currency, "source")
    _side_check(actor, target, currency, "target")
    kind = _kind_of(source, target)
    digest = _fingerprint(source, target, amount_minor, currency)
    existing = InternalTransfer.objects.filter(client=actor, idempotency_key=key).first()
    if existing is not None:
        return _replayed(existing, digest)
    for side in (source, target):
        if side == WALLET:
            continue
        decision = decide(
            actor, Action.TRANSFER, account=side, amount_minor=amount_minor, currency=currency
        )
        if not decision.allowed:
            raise ValidationError({"__all__": decision.message}, code=decision.code)
    if _available(actor, source, currency) < amount_minor:
        raise ValidationError({"amount": _("The amount is more than the available balance.")})
    try:
        with transaction.atomic():
            made = InternalTransfer.objects.create(
                client=actor, kind=kind, currency=currency, amount_minor=amount_minor,
                source_account=None if source == WALLET else source,
                target_account=None if target == WALLET else target,
                status=TransferStatus.PROCESSING, idempotency_key=key, request_sha256=digest,
            )  # fmt: skip
            audit_record(
                actor=actor,
                action="payments.transfer.request",
                target=made,
                before=None,
                after=_snapshot(made),
            )
    except IntegrityError:
        # The same key, concurrently: the first one is the transfer.
        existing = InternalTransfer.objects.filter(client=actor, idempotency_key=key).first()
        if existing is None:
            raise
        return _replayed(existing, digest)
    return transfer_advance(made)


def _replayed(existing: InternalTransfer, digest: str) -> InternalTransfer:
    if existing.request_sha256 != digest:
        raise ValidationError(
            {"idempotency_key": _("This idempotency key was already used for another transfer.")}
        )
    return existing


def _legs(t: InternalTransfer) -> list[tuple[str, TradingAccount, str]]:
    """(field, account, operation kind) for each platform leg, in order."""
    if t.kind == TransferKind.WALLET_TO_ACCOUNT:
        return [("in_operation", t.target_account, OperationKind.DEPOSIT)]
    if t.kind == TransferKind.ACCOUNT_TO_WALLET:
        return [("out_operation", t.source_account, OperationKind.WITHDRAWAL)]
    return [
        ("out_operation", t.source_account, OperationKind.WITHDRAWAL),
        ("in_operation", t.target_account, OperationKind.DEPOSIT),
    ]


def _leg_key(t: InternalTransfer, field: str) -> str:
    return f"payments.transfer:{t.public_id}:{field.split('_')[0]}"


def transfer_advance(t: InternalTransfer, *, attempt: int = 0) -> InternalTransfer:
    """Take the next step the legs' settled states allow; safe to run any number of times.

    ``attempt`` counts the task's retries (backing off); the payments sweep goes on after."""
    t = InternalTransfer.objects.select_related("source_account", "target_account").get(pk=t.pk)
    if not t.is_open:
        return t
    for index, (field, account, kind) in enumerate(_legs(t)):
        op: BalanceOperation | None = getattr(t, field)
        if op is None:
            try:
                op = balance_operation_request(
                    account=account, kind=kind, amount_minor=t.amount_minor, actor=t.client,
                    idempotency_key=_leg_key(t, field),
                    note=f"transfer {str(t.public_id)[:8]}",
                )  # fmt: skip
            except BalanceOperationRefused as exc:
                return _finish(t, TransferStatus.FAILED, _refusal_text(index, str(exc)))
            InternalTransfer.objects.filter(pk=t.pk, **{f"{field}__isnull": True}).update(
                **{field: op}
            )
            setattr(t, field, op)
        else:
            op.refresh_from_db()
        if op.status in OPEN_OPERATION_STATUSES:
            return _pending(t, attempt)
        if op.status != OperationStatus.APPLIED:
            if index == 1:
                return _return_to_source(t, op.error, attempt)
            return _finish(t, TransferStatus.FAILED, _refusal_text(index, op.error))
    return _finish(t, TransferStatus.COMPLETED, "")


def _return_to_source(t: InternalTransfer, error: str, attempt: int) -> InternalTransfer:
    """The target's platform refused the money, which is in the wallet since the first leg:
    send it back to the source account, exactly once (a deposit leg of its own). If the
    platform refuses that too, the money stays in the wallet and the transfer says so."""
    op: BalanceOperation | None = t.return_operation
    if op is None:
        try:
            op = balance_operation_request(
                account=t.source_account, kind=OperationKind.DEPOSIT,
                amount_minor=t.amount_minor, actor=t.client,
                idempotency_key=_leg_key(t, "return_operation"),
                note=f"transfer {str(t.public_id)[:8]} returned",
            )  # fmt: skip
        except BalanceOperationRefused as exc:
            return _finish(t, TransferStatus.FAILED, _refusal_text(1, f"{error} ({exc})"))
        _returning_record(t, op, error)
    else:
        op.refresh_from_db()
    if op.status in OPEN_OPERATION_STATUSES:
        return _pending(t, attempt)
    if op.status == OperationStatus.APPLIED:
        return _finish(t, TransferStatus.RETURNED, _returned_text(t, error))
    return _finish(t, TransferStatus.FAILED, _refusal_text(1, f"{error} ({op.error})"))


def _returning_record(t: InternalTransfer, op: BalanceOperation, error: str) -> None:
    """Link the return leg to the transfer, keep the target's refusal, and audit it."""
    with transaction.atomic():
        linked = InternalTransfer.objects.filter(pk=t.pk, return_operation__isnull=True).update(
            return_operation=op, error=error[:500], updated_at=timezone.now()
        )
        before = _snapshot(t)
        t.return_operation, t.error = op, error[:500]
        if not linked:  # a concurrent advance linked the same operation (same key) first
            return
        audit_record(
            actor="payments-transfers", action="payments.transfer.returning",
            target=t, before=before, after=_snapshot(t), reason=error[:500],
        )  # fmt: skip


def _returned_text(t: InternalTransfer, error: str) -> str:
    return _(
        "The target account's trading platform refused the money, so it went back to account "
        "%(login)s: %(error)s"
    ) % {"login": t.source_account.login, "error": error}


def _refusal_text(index: int, error: str) -> str:
    if index == 0:
        return _("The trading platform refused the transfer; nothing moved: %(error)s") % {
            "error": error
        }
    return _(
        "The money left the source account but the target's platform refused it; it is in "
        "your wallet: %(error)s"
    ) % {"error": error}


def _pending(t: InternalTransfer, attempt: int) -> InternalTransfer:
    if t.status != TransferStatus.PENDING_SYNC:
        with transaction.atomic():
            changed = InternalTransfer.objects.filter(
                pk=t.pk, status=TransferStatus.PROCESSING
            ).update(status=TransferStatus.PENDING_SYNC, updated_at=timezone.now())
            if changed:
                before = _snapshot(t)
                t.status = TransferStatus.PENDING_SYNC
                audit_record(
                    actor="payments-transfers", action="payments.transfer.pending_sync",
                    target=t, before=before, after=_snapshot(t),
                )  # fmt: skip
    if attempt < MAX_ATTEMPTS:
        _advance_later(t, attempt + 1)
    return InternalTransfer.objects.get(pk=t.pk)


def _finish(t: InternalTransfer, status: str, error: str) -> InternalTransfer:
    with transaction.atomic():
        current = InternalTransfer.objects.select_for_update().get(pk=t.pk)
        if not current.is_open:
            return current
        before = _snapshot(current)
        now = timezone.now()
        current.status, current.error = status, error[:500]
        current.updated_at = current.completed_at = now
        current.save(update_fields=["status", "error", "updated_at", "completed_at"])
        audit_record(
            actor="payments-transfers", action=f"payments.transfer.{status}",
            target=current, before=before, after=_snapshot(current),
        )  # fmt: skip
    return current


def _advance_later(t: InternalTransfer, attempt: int) -> None:
    from brokerdesk.modules.payments.tasks import transfer_advance_task

    delay = min(300, 2 ** min(attempt, 8))
    transaction.on_commit(
        lambda: transfer_advance_task.apply_async((t.pk, attempt), countdown=delay)
    )


def transfers_advance() -> int:
    """Advance every open transfer (the sweep behind the per-transfer tasks)."""
    done = 0
    open_ids = InternalTransfer.objects.filter(
        status__in=(TransferStatus.PROCESSING, TransferStatus.PENDING_SYNC)
    ).values_list("pk", flat=True)
    for pk in list(open_ids):
        try:
            result = transfer_advance(InternalTransfer(pk=pk))
        except Exception:  # one stuck transfer must not stop the sweep
            logger.exception("advancing transfer %s", pk)
            continue
        done += not result.is_open
    return done


def status_text(t: InternalTransfer) -> str:
    """What the trader reads about the transfer's state."""
    if t.status == TransferStatus.PENDING_SYNC and t.return_operation_id:
        return _(
            "The target account's trading platform refused the money; it is on its way back "
            "to account %(login)s. Waiting for the platform to confirm; nothing is lost."
        ) % {"login": t.source_account.login}
    if t.status == TransferStatus.PENDING_SYNC:
        return _(
            "Waiting for the trading platform to confirm. The transfer will complete once, or "
            "be reversed; nothing is lost."
        )
    if t.status in (TransferStatus.FAILED, TransferStatus.RETURNED):
        return t.error
    if t.status == TransferStatus.COMPLETED:
        return _("Completed.")
    return _("Processing.")


def side_resolve(actor: Any, text: Any, field: str) -> Any:
    """``"wallet"``, or one of the actor's trading accounts by id (UUID) or login."""
    import uuid

    value = str(text or "").strip()
    if value.lower() == WALLET:
        return WALLET
    rows = TradingAccount.objects.select_related("server").filter(client=actor)
    found: list[TradingAccount] = []
    try:
        found = list(rows.filter(public_id=uuid.UUID(value)))
    except ValueError:
        if value.isdigit() and len(value) < 19:
            found = list(rows.filter(login=int(value))[:2])
    if len(found) != 1:
        raise ValidationError({field: _("No such trading account of yours.")})
    return found[0]
