"""Deposits straight to a trading account: the platform leg after the wallet is credited
(issue 9, item 1; ADR 0034).

A deposit bound for one of the client's live trading accounts is credited to the wallet like
any other (``deposit_apply``). The credited amount then moves on exactly as an internal
transfer wallet → account does: one trading balance operation (``trading/balance.py``: its
pending ledger transfer wallet → mirror commits before the platform is asked, the platform is
asked once, an unsure answer leaves it "pending sync" for the exactly-once recipe). Its
idempotency key derives from the deposit, so however many callbacks and polls reach this
point, in sequence or racing, one operation exists. The policy engine is asked again first:
an account refused meanwhile (blocked, archived) keeps the money in the wallet, and the
deposit says so to the trader and to Finance.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.payments.models import (
    OPEN_ACCOUNT_STATUSES,
    Deposit,
    DepositAccountStatus,
    DepositStatus,
)
from brokerdesk.modules.policy.engine import Action, decide
from brokerdesk.modules.trading.balance import BalanceOperationRefused, balance_operation_request
from brokerdesk.modules.trading.models import TradingAccount
from brokerdesk.modules.trading.sync_models import (
    BalanceOperation,
    OperationKind,
    OperationStatus,
)
from brokerdesk.platform.money import from_minor

logger = logging.getLogger("brokerdesk.payments")

ACTOR = "payments-deposits"
# Retries of the per-deposit task (2 s doubling to 5 min); the payments sweep takes over.
MAX_ATTEMPTS = 12


def account_check(client: Any, account: Any, currency: str) -> None:
    """Refuse (``ValidationError`` on ``target``) an account that is not one of the client's
    live accounts in the deposit's currency; the policy engine decides the rest."""
    if not isinstance(account, TradingAccount) or account.client_id != client.pk:
        raise ValidationError({"target": _("No such trading account of yours.")})
    if account.is_demo:
        raise ValidationError({"target": _("Deposits go to live trading accounts only.")})
    if account.currency != currency:
        raise ValidationError(
            {"target": _("Account %(login)s is in %(account)s; this method pays in %(currency)s.")
             % {"login": account.login, "account": account.currency, "currency": currency}}
        )  # fmt: skip


def leg_key(deposit: Deposit) -> str:
    return f"payments.deposit:{deposit.public_id}:account"


def _load(deposit: Deposit) -> Deposit:
    return Deposit.objects.select_related(
        "client", "method", "target_account__server", "account_operation"
    ).get(pk=deposit.pk)


def deposit_account_advance(deposit: Deposit, *, attempt: int = 0) -> Deposit:
    """Take the platform leg's next step; safe to run any number of times, concurrently too.

    Call it outside a transaction: the operation and its hold commit before the platform is
    asked. ``attempt`` counts the task's retries; the payments sweep goes on after."""
    d = _load(deposit)
    if d.status != DepositStatus.CREDITED or not d.account_leg_open:
        return d
    op = d.account_operation or BalanceOperation.objects.filter(idempotency_key=leg_key(d)).first()
    if op is None:
        decision = decide(d.client, Action.DEPOSIT, account=d.target_account,
                          amount_minor=d.credited_minor, currency=d.currency)  # fmt: skip
        if not decision.allowed:
            return _finish(d, DepositAccountStatus.IN_WALLET, decision.message)
        try:
            op = balance_operation_request(
                account=d.target_account, kind=OperationKind.DEPOSIT,
                amount_minor=d.credited_minor, actor=ACTOR, idempotency_key=leg_key(d),
                note=f"deposit {str(d.public_id)[:8]}",
            )  # fmt: skip
        except BalanceOperationRefused as exc:
            return _finish(d, DepositAccountStatus.IN_WALLET, str(exc))
    Deposit.objects.filter(pk=d.pk, account_operation__isnull=True).update(account_operation=op)
    op.refresh_from_db()
    if op.status == OperationStatus.APPLIED:
        return _finish(d, DepositAccountStatus.COMPLETED, "")
    if op.status in (OperationStatus.REJECTED, OperationStatus.ABSENT):
        return _finish(d, DepositAccountStatus.IN_WALLET, op.error)
    return _pending(d, op, attempt)


def _pending(d: Deposit, op: BalanceOperation, attempt: int) -> Deposit:
    """Not settled yet. Still being sent by another process (a racing callback or poll):
    look again shortly. Unknown, queued or conflicting: "pending sync" until it settles."""
    if op.status != OperationStatus.SENT:
        with transaction.atomic():
            locked = Deposit.objects.select_for_update(of=("self",)).select_related(
                "client", "method", "target_account").get(pk=d.pk)  # fmt: skip
            if locked.account_status == DepositAccountStatus.WAITING:
                before = _snapshot(locked)
                locked.account_status = DepositAccountStatus.PENDING_SYNC
                locked.account_error = (op.error or "")[:500]
                locked.updated_at = timezone.now()
                locked.save(update_fields=["account_status", "account_error", "updated_at"])
                _audit(locked, "account_pending_sync", before)
    if attempt < MAX_ATTEMPTS:
        _advance_later(d, attempt + 1)
    return _load(d)


def _finish(d: Deposit, status: str, error: str) -> Deposit:
    with transaction.atomic():
        locked = Deposit.objects.select_for_update(of=("self",)).select_related(
            "client", "method", "target_account").get(pk=d.pk)  # fmt: skip
        if locked.account_status not in OPEN_ACCOUNT_STATUSES:
            return _load(locked)
        before = _snapshot(locked)
        locked.account_status, locked.account_error = status, str(error)[:500]
        locked.updated_at = timezone.now()
        locked.save(update_fields=["account_status", "account_error", "updated_at"])
        _audit(locked, f"account_{status}", before, reason=str(error)[:300])
    return _load(d)


def _snapshot(d: Deposit) -> dict[str, Any]:
    from brokerdesk.modules.payments.deposits import _snapshot as deposit_snapshot

    return deposit_snapshot(d)


def _audit(d: Deposit, action: str, before: dict[str, Any], reason: str = "") -> None:
    from brokerdesk.modules.payments.deposits import _audit as deposit_audit

    deposit_audit(d, action, ACTOR, before, reason=reason)


def _advance_later(d: Deposit, attempt: int) -> None:
    from brokerdesk.modules.payments.tasks import deposit_account_advance_task

    delay = min(300, 2 ** min(attempt, 8))
    transaction.on_commit(
        lambda: deposit_account_advance_task.apply_async((d.pk, attempt), countdown=delay)
    )


def deposits_account_advance() -> int:
    """Advance every credited deposit whose platform leg is open (the sweep behind the tasks)."""
    done = 0
    open_ids = Deposit.objects.filter(
        status=DepositStatus.CREDITED, account_status__in=OPEN_ACCOUNT_STATUSES
    ).values_list("pk", flat=True)
    for pk in list(open_ids):
        try:
            result = deposit_account_advance(Deposit(pk=pk))
        except Exception:  # one stuck deposit must not stop the sweep
            logger.exception("advancing the account leg of deposit %s", pk)
            continue
        done += not result.account_leg_open
    return done


def account_leg_text(d: Deposit) -> str:
    """What the trader reads about a credited deposit bound for a trading account."""
    values = {"amount": from_minor(d.credited_minor, d.currency), "currency": d.currency,
              "login": d.target_account.login if d.target_account_id else ""}  # fmt: skip
    if d.account_status == DepositAccountStatus.COMPLETED:
        return _("%(amount)s %(currency)s was added to trading account %(login)s.") % values
    if d.account_status == DepositAccountStatus.IN_WALLET:
        return _(
            "%(amount)s %(currency)s was added to your wallet, but it could not go on to trading "
            "account %(login)s: %(error)s. It stays in your wallet; you can transfer it later."
        ) % {**values, "error": d.account_error.rstrip(". ")}
    if d.account_status == DepositAccountStatus.PENDING_SYNC:
        return (
            _(
                "%(amount)s %(currency)s was added to your wallet. Moving it to trading account "
                "%(login)s waits for the trading platform to confirm; it arrives once, or stays in "
                "your wallet. Nothing is lost."
            )
            % values
        )
    return _("%(amount)s %(currency)s was added to your wallet and is on its way to trading "
             "account %(login)s.") % values  # fmt: skip
