"""Periodic payments work, run in every active tenant by beat through the tenant fan-out
(``tenants.for_each_active_tenant``, see settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from brokerdesk.modules.payments.deposits import deposits_poll, inbox_sweep
from brokerdesk.platform.celery import app

POLL_TASK = "payments.deposits_poll"


@app.task(name=POLL_TASK)
def deposits_poll_task(older_than_s: int | None = None) -> dict[str, int]:
    """Ask the PSPs about deposits left pending, and finish callbacks cut short by a crash."""
    from brokerdesk.modules.payments.withdrawals import withdrawals_poll

    counts = deposits_poll(older_than_s=older_than_s)
    counts["swept"] = inbox_sweep()
    payouts = withdrawals_poll(**({} if older_than_s is None else {"older_than_s": older_than_s}))
    counts.update({f"payouts_{key}": value for key, value in payouts.items()})
    from brokerdesk.modules.payments.transfers import transfers_advance

    counts["transfers_advanced"] = transfers_advance()
    from brokerdesk.modules.payments.deposit_accounts import deposits_account_advance

    counts["deposit_legs_advanced"] = deposits_account_advance()
    return counts


RECONCILE_TASK = "payments.reconciliation_run"


@app.task(name=RECONCILE_TASK)
def reconciliation_run_task(day: str | None = None) -> dict[str, int]:
    """Yesterday's (or ``day``'s, YYYY-MM-DD) settlement files against deposits and ledger,
    and the trading platforms against the ledger (payments/reconciliation.py)."""
    from datetime import date

    from brokerdesk.modules.payments.reconciliation import reconciliation_run

    return reconciliation_run(day=date.fromisoformat(day) if day else None)


TRANSFER_ADVANCE_TASK = "payments.transfer_advance"


@app.task(name=TRANSFER_ADVANCE_TASK)
def transfer_advance_task(transfer_id: int, attempt: int = 1) -> str | None:
    """The next step of an internal transfer whose platform leg was not settled yet."""
    from brokerdesk.modules.payments.models import InternalTransfer
    from brokerdesk.modules.payments.transfers import transfer_advance

    transfer = InternalTransfer.objects.filter(pk=transfer_id).first()
    if transfer is None:
        return None
    return transfer_advance(transfer, attempt=attempt).status


DEPOSIT_ACCOUNT_ADVANCE_TASK = "payments.deposit_account_advance"


@app.task(name=DEPOSIT_ACCOUNT_ADVANCE_TASK)
def deposit_account_advance_task(deposit_id: int, attempt: int = 1) -> str | None:
    """The next step of a deposit's platform leg that was not settled yet."""
    from brokerdesk.modules.payments.deposit_accounts import deposit_account_advance
    from brokerdesk.modules.payments.models import Deposit

    deposit = Deposit.objects.filter(pk=deposit_id).first()
    if deposit is None:
        return None
    return deposit_account_advance(deposit, attempt=attempt).account_status
