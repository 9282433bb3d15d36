"""Balance operations on trading accounts, each paired with a ledger transfer (ADR 0028).

The one way money reaches or leaves a trading account on its platform:

1. one transaction writes the operation (its ``op_id``, the reference its platform comment
   starts with, ``sent_at``) and a *pending* ledger transfer on the account's mirror — the
   client's wallet → the mirror for a deposit, the mirror → the wallet for a withdrawal, the
   adjustments account for a correction — and commits before anything is sent;
2. the platform is asked once (``gateway.balance_operation``);
3. its deal known → the transfer is posted; a definite refusal → voided; an answer lost and
   the deal not found → the operation's outcome is *unknown*, the account is "pending sync",
   and ``operation_settle`` (a task) resolves it by the exactly-once recipe
   (``gateways/exactly_once.py``): found → posted; still inside the window → later; not found
   after the window → resent once with the same reference; still absent → voided. Never by
   guessing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.ledger.models import AccountKind, Transfer
from brokerdesk.modules.trading.gateways import base, exactly_once
from brokerdesk.modules.trading.models import AccountStatus, SyncStatus, TradingAccount
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.modules.trading.sync import pending_sync_mark
from brokerdesk.modules.trading.sync_models import (
    OPEN_OPERATION_STATUSES,
    BalanceOperation,
    OperationKind,
    OperationStatus,
)

logger = logging.getLogger(__name__)

PLATFORM_KIND = {
    OperationKind.DEPOSIT: base.BalanceKind.BALANCE,
    OperationKind.WITHDRAWAL: base.BalanceKind.BALANCE,
    OperationKind.CORRECTION: base.BalanceKind.CORRECTION,
}


class BalanceOperationRefused(ValueError):
    """The operation cannot be made as asked; nothing was created."""


def _window() -> timedelta:
    return timedelta(seconds=getattr(settings, "TRADING_SETTLE_WINDOW_S", 60))


def _label(actor: Any) -> str:
    return actor if isinstance(actor, str) else getattr(actor, "email", str(actor))


def mirror_of(account: TradingAccount) -> ledger.Account:
    """The account's mirror in the ledger (made with the account; created here if missing)."""
    if account.ledger_account_id:
        return account.ledger_account
    mirror = ledger.account_ensure(
        kind=AccountKind.TRADING_ACCOUNT,
        currency=account.currency,
        owner=account.client,
        external_ref=f"{account.server.public_id}:{account.login}",
    )
    TradingAccount.objects.filter(pk=account.pk, ledger_account__isnull=True).update(
        ledger_account=mirror
    )
    account.ledger_account = mirror
    return mirror


def _postings(account: TradingAccount, kind: str, amount_minor: int) -> list[ledger.Posting]:
    mirror = mirror_of(account)
    if kind == OperationKind.CORRECTION:
        other = ledger.account_ensure(kind=AccountKind.ADJUSTMENTS, currency=account.currency)
    else:
        other = ledger.wallet_ensure(client=account.client, currency=account.currency)
    if amount_minor > 0:
        return [ledger.Posting(debit=other, credit=mirror, amount_minor=amount_minor)]
    return [ledger.Posting(debit=mirror, credit=other, amount_minor=-amount_minor)]


def _signed(kind: str, amount_minor: Any) -> int:
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise BalanceOperationRefused(_("The amount must be a whole number of minor units."))
    if kind == OperationKind.CORRECTION:
        if amount_minor == 0:
            raise BalanceOperationRefused(_("A correction cannot be zero."))
        return amount_minor
    if amount_minor <= 0:
        raise BalanceOperationRefused(_("The amount must be greater than zero."))
    return amount_minor if kind == OperationKind.DEPOSIT else -amount_minor


def _check(account: TradingAccount, kind: str, reason: str) -> None:
    if account.status == AccountStatus.ARCHIVED:
        raise BalanceOperationRefused(_("The account is archived."))
    if kind == OperationKind.CORRECTION and not reason.strip():
        raise BalanceOperationRefused(_("A correction needs a reason."))


def _gateway_op(op: BalanceOperation) -> base.BalanceOperation:
    return base.BalanceOperation(
        login=op.account.login,
        amount_minor=op.amount_minor,
        kind=base.BalanceKind(op.platform_kind),
        op_id=op.public_id,
        note=op.note,
    )


def balance_operation_request(
    *,
    account: TradingAccount,
    kind: str,
    amount_minor: int,
    actor: Any,
    idempotency_key: str,
    note: str = "",
    reason: str = "",
    gateway: base.PlatformGateway | None = None,
) -> BalanceOperation:
    """Make a deposit, withdrawal or correction on ``account``'s platform, exactly once.

    ``amount_minor`` is positive for deposits and withdrawals, signed for a correction. A
    second call with the same ``idempotency_key`` returns the first operation unchanged.
    Refusals (archived account, no funds in the wallet or the mirror) raise with nothing
    created; the platform's answer decides the rest (see the module docstring). Call it
    outside a transaction: the operation and its hold must commit before the platform is
    asked."""
    if kind not in OperationKind.values:
        raise BalanceOperationRefused(_("Unknown balance operation %(kind)s.") % {"kind": kind})
    signed = _signed(kind, amount_minor)
    existing = BalanceOperation.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replayed(existing, account, kind, signed)
    _check(account, kind, reason)
    if not idempotency_key or len(idempotency_key) > 200:
        raise BalanceOperationRefused(_("An idempotency key of 1 to 200 characters is required."))
    try:
        with transaction.atomic():
            op = BalanceOperation(
                account=account,
                kind=kind,
                platform_kind=int(PLATFORM_KIND[kind]),
                amount_minor=signed,
                currency=account.currency,
                note=note[:200],
                reason=reason[:500],
                status=OperationStatus.SENT,
                idempotency_key=idempotency_key,
                sent_at=timezone.now(),
                requested_by_id=None if isinstance(actor, str) else actor.pk,
                requested_by_label=_label(actor)[:320],
            )
            op.reference = base.operation_reference(op.public_id)
            op.save(force_insert=True)
            result = ledger.transfer_create(
                idempotency_key=f"trading.balance:{op.public_id}",
                postings=_postings(account, kind, signed),
                code=f"trading_{kind}",
                actor=actor,
                description=reason or note,
                pending=True,
                external_ref=op.reference,
            )
            op.transfer = result.transfer
            op.save(update_fields=["transfer"])
            audit_record(
                actor=actor,
                action="trading.balance_operation.request",
                target=op,
                before=None,
                after=_audit_view(op),
                reason=reason,
            )
    except IntegrityError:
        # The same key, concurrently: the first one is the operation.
        existing = BalanceOperation.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replayed(existing, account, kind, signed)
    except ledger.LedgerError as exc:
        raise BalanceOperationRefused(str(exc)) from None
    return operation_send(op, gateway=gateway)


def _replayed(
    existing: BalanceOperation, account: TradingAccount, kind: str, signed: int
) -> BalanceOperation:
    """A key seen before: the same operation again is the first one; another is refused."""
    if (existing.account_id, existing.kind, existing.amount_minor) != (account.pk, kind, signed):
        raise BalanceOperationRefused(
            _("This idempotency key was already used for a different operation.")
        )
    return existing


def operation_send(
    op: BalanceOperation, *, gateway: base.PlatformGateway | None = None
) -> BalanceOperation:
    """Ask the platform once and record what is known of the outcome."""
    gateway = gateway or gateway_for(op.account.server)
    sent_at = timezone.now()
    BalanceOperation.objects.filter(pk=op.pk).update(
        sent_at=sent_at, status=OperationStatus.SENT, updated_at=sent_at
    )
    op.sent_at, op.status = sent_at, OperationStatus.SENT
    try:
        receipt = gateway.balance_operation(_gateway_op(op))
    except base.PlatformOutcomeUnknown as exc:
        return _unknown(op, sent_at=exc.sent_at or sent_at, resent=op.resent, error=str(exc))
    except base.PlatformUnavailable as exc:
        # Refused before it was applied (unreachable, busy, too frequent): queued, resent later.
        return _queued(op, error=str(exc))
    except base.PlatformConflict as exc:
        return _conflict(op, error=str(exc))
    except base.PlatformError as exc:
        return _void(op, status=OperationStatus.REJECTED, error=str(exc))
    return _applied(op, receipt)


def _audit_view(op: BalanceOperation) -> dict[str, Any]:
    return {
        "account": str(op.account.public_id),
        "login": op.account.login,
        "kind": op.kind,
        "amount_minor": str(op.amount_minor),
        "currency": op.currency,
        "status": op.status,
        "reference": op.reference,
        "ticket": op.ticket,
        "resent": op.resent,
    }


def _locked(op: BalanceOperation) -> BalanceOperation | None:
    """The operation, row-locked, if it is still open (a concurrent settle may have closed it).

    Only the operation's row: locking the joined account too would make a concurrent request
    on that account (holding the wallet and mirror, its commit checking the account key)
    deadlock with this one waiting for the same ledger accounts."""
    current = (
        BalanceOperation.objects.select_for_update(of=("self",))
        .select_related("account")
        .get(pk=op.pk)
    )
    return current if current.status in OPEN_OPERATION_STATUSES else None


def _close(op: BalanceOperation, action: str, *, before: str, **changes: Any) -> None:
    now = timezone.now()
    for name, value in {**changes, "updated_at": now, "completed_at": now}.items():
        setattr(op, name, value)
    op.save(update_fields=[*changes, "updated_at", "completed_at"])
    audit_record(
        actor="trading-sync",
        action=action,
        target=op,
        before={"status": before},
        after=_audit_view(op),
    )


def _applied(
    op: BalanceOperation, receipt: base.BalanceReceipt, *, resent: bool = False
) -> BalanceOperation:
    with transaction.atomic():
        current = _locked(op)
        if current is None:
            return BalanceOperation.objects.get(pk=op.pk)
        before = current.status
        result = ledger.transfer_post(
            pending=current.transfer,
            idempotency_key=f"trading.balance:{current.public_id}:post",
            actor="trading-sync",
            description=f"platform deal {receipt.ticket}",
        )
        _close(
            current, "trading.balance_operation.applied", before=before,
            status=OperationStatus.APPLIED, ticket=receipt.ticket, resolution=result.transfer,
            error="", resent=current.resent or resent,
        )  # fmt: skip
        _status_after(current.account)
    return current


def _void(
    op: BalanceOperation, *, status: str, error: str, resent: bool = False
) -> BalanceOperation:
    with transaction.atomic():
        current = _locked(op)
        if current is None:
            return BalanceOperation.objects.get(pk=op.pk)
        before = current.status
        result = ledger.transfer_void(
            pending=current.transfer,
            idempotency_key=f"trading.balance:{current.public_id}:void",
            actor="trading-sync",
            description=error[:500],
        )
        _close(
            current, f"trading.balance_operation.{status}", before=before, status=status,
            resolution=result.transfer, error=error[:500], resent=current.resent or resent,
        )  # fmt: skip
        _status_after(current.account)
    return current


def _unknown(op: BalanceOperation, *, sent_at, resent: bool, error: str) -> BalanceOperation:
    with transaction.atomic():
        current = _locked(op)
        if current is None:
            return BalanceOperation.objects.get(pk=op.pk)
        before = current.status
        current.status, current.sent_at, current.resent = OperationStatus.UNKNOWN, sent_at, resent
        current.error, current.updated_at = error[:500], timezone.now()
        current.save(update_fields=["status", "sent_at", "resent", "error", "updated_at"])
        if before != OperationStatus.UNKNOWN:
            audit_record(
                actor="trading-sync",
                action="trading.balance_operation.unknown",
                target=current,
                before={"status": before},
                after=_audit_view(current),
            )
        pending_sync_mark(current.account, _("A balance operation's outcome is not known yet."))
    _settle_later(current)
    return current


def _queued(op: BalanceOperation, *, error: str) -> BalanceOperation:
    BalanceOperation.objects.filter(pk=op.pk, status__in=OPEN_OPERATION_STATUSES).update(
        status=OperationStatus.QUEUED, error=error[:500], updated_at=timezone.now()
    )
    op.refresh_from_db()
    pending_sync_mark(op.account, _("A balance operation waits for the platform."))
    _settle_later(op)
    return op


def _conflict(op: BalanceOperation, *, error: str) -> BalanceOperation:
    """Found more than once on the platform: the hold stays until someone decides."""
    with transaction.atomic():
        current = _locked(op)
        if current is None:
            return BalanceOperation.objects.get(pk=op.pk)
        before = current.status
        current.status, current.error = OperationStatus.CONFLICT, error[:500]
        current.updated_at = timezone.now()
        current.save(update_fields=["status", "error", "updated_at"])
        audit_record(
            actor="trading-sync",
            action="trading.balance_operation.conflict",
            target=current,
            before={"status": before},
            after=_audit_view(current),
        )
        pending_sync_mark(current.account, error)
    return current


def _status_after(account: TradingAccount) -> None:
    """Once nothing is open any more, the next refresh decides; say so meanwhile."""
    still_open = BalanceOperation.objects.filter(
        account=account, status__in=OPEN_OPERATION_STATUSES
    ).exists()
    if not still_open and account.sync_status == SyncStatus.PENDING_SYNC:
        TradingAccount.objects.filter(pk=account.pk).update(sync_error="")
    transaction.on_commit(lambda: _refresh_later(account.pk))


def _settle_later(op: BalanceOperation) -> None:
    from brokerdesk.modules.trading.sync_tasks import operation_settle_task

    # Backs off as checks accumulate; the periodic sweep catches anything lost.
    base_s = max(1, int(getattr(settings, "TRADING_SETTLE_RETRY_S", 5)))
    delay = min(300, base_s * 2 ** min(op.checks, 6))
    transaction.on_commit(lambda: operation_settle_task.apply_async((op.pk,), countdown=delay))


def _refresh_later(account_id: int) -> None:
    from brokerdesk.modules.trading.sync_tasks import account_refresh_task

    account_refresh_task.apply_async((account_id,), countdown=1)


def operation_settle(
    op: BalanceOperation, *, gateway: base.PlatformGateway | None = None, now=None
) -> BalanceOperation:
    """Resolve an open operation by the exactly-once recipe; never by guessing.

    The operation's row stays locked while it is looked up (and possibly resent): a second
    settle of the same operation (a duplicate task, the sweep) skips it instead of racing it
    to a second resend."""
    current = BalanceOperation.objects.select_related("account", "account__server").get(pk=op.pk)
    if current.status == OperationStatus.QUEUED:
        return _queued_send(current, gateway=gateway)
    with transaction.atomic():
        claimed = (
            BalanceOperation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("account", "account__server")
            .filter(pk=op.pk)
            .first()
        )
        if claimed is None:
            return BalanceOperation.objects.get(pk=op.pk)
        return _settle_claimed(claimed, gateway=gateway, now=now)


def _settle_claimed(op: BalanceOperation, *, gateway, now) -> BalanceOperation:
    if op.status not in (OperationStatus.SENT, OperationStatus.UNKNOWN):
        return op
    gateway = gateway or gateway_for(op.account.server)
    BalanceOperation.objects.filter(pk=op.pk).update(checks=op.checks + 1)
    op.checks += 1
    settlement = exactly_once.balance_operation_settle(
        gateway, _gateway_op(op), sent_at=op.sent_at, resent=op.resent, now=now,
        window=_window(),
    )  # fmt: skip
    outcome = settlement.outcome
    if outcome == exactly_once.Outcome.APPLIED:
        return _applied(op, settlement.receipt, resent=settlement.resent)
    if outcome == exactly_once.Outcome.ABSENT:
        return _void(
            op, status=OperationStatus.ABSENT, resent=settlement.resent,
            error=_("Not found on the platform after the lookup window and one resend."),
        )  # fmt: skip
    if outcome == exactly_once.Outcome.REJECTED:
        return _void(
            op, status=OperationStatus.REJECTED, error=str(settlement.error),
            resent=settlement.resent,
        )  # fmt: skip
    return _unknown(
        op, sent_at=settlement.sent_at or op.sent_at, resent=settlement.resent,
        error=op.error or _("The outcome is not known yet."),
    )  # fmt: skip


def _queued_send(op: BalanceOperation, *, gateway) -> BalanceOperation:
    """A queued operation was certainly not applied: this is its first real send, not a
    resend. Claimed by a committed update first, so that a crash during the send leaves it
    "sent" (looked up later), never "queued" (which would send it again)."""
    claimed = BalanceOperation.objects.filter(pk=op.pk, status=OperationStatus.QUEUED).update(
        status=OperationStatus.SENT, checks=op.checks + 1, updated_at=timezone.now()
    )
    if not claimed:
        return BalanceOperation.objects.get(pk=op.pk)
    op.checks += 1
    return operation_send(op, gateway=gateway)


def open_operations(now=None) -> list[BalanceOperation]:
    """Operations to settle: queued, unknown, and sent ones whose sender must have died (a
    send still waiting for its answer is left alone)."""
    stale = (now or timezone.now()) - 2 * _window()
    return list(
        BalanceOperation.objects.filter(
            Q(status__in=(OperationStatus.QUEUED, OperationStatus.UNKNOWN))
            | Q(status=OperationStatus.SENT, sent_at__lt=stale)
        )
        .select_related("account", "account__server")
        .order_by("pk")
    )


def operations_settle() -> int:
    """Settle every open operation (the periodic sweep behind the per-operation tasks)."""
    settled = 0
    for op in open_operations():
        try:
            result = operation_settle(op)
        except base.PlatformError as exc:
            logger.warning("settling balance operation %s: %s", op.pk, exc)
            continue
        settled += result.status not in OPEN_OPERATION_STATUSES
    return settled


__all__ = [
    "BalanceOperationRefused",
    "Transfer",
    "balance_operation_request",
    "operation_settle",
    "operations_settle",
]
