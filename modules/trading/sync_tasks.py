"""Periodic and per-item sync work, run in the tenant each task was sent from.

Beat runs ``trading.deals_import_all``, ``trading.accounts_refresh`` and
``trading.operations_settle`` in every active tenant through the tenant fan-out
(``tenants.for_each_active_tenant``, see settings.CELERY_BEAT_SCHEDULE). Deal imports go out
as one task per server, so a slow server does not hold the others back.
"""

from __future__ import annotations

import logging

from brokerdesk.platform.celery import app

logger = logging.getLogger(__name__)

DEALS_IMPORT_ALL_TASK = "trading.deals_import_all"
DEALS_IMPORT_TASK = "trading.deals_import"
ACCOUNTS_REFRESH_TASK = "trading.accounts_refresh"
ACCOUNT_REFRESH_TASK = "trading.account_refresh"
OPERATIONS_SETTLE_TASK = "trading.operations_settle"
OPERATION_SETTLE_TASK = "trading.operation_settle"


@app.task(name=DEALS_IMPORT_ALL_TASK)
def deals_import_all_task() -> int:
    """One import task per server of this tenant."""
    from brokerdesk.modules.trading.deals import importable_servers

    servers = importable_servers()
    for server in servers:
        deals_import_task.delay(server.pk)
    return len(servers)


@app.task(name=DEALS_IMPORT_TASK)
def deals_import_task(server_id: int) -> dict[str, int] | None:
    from brokerdesk.modules.trading.deals import deals_import
    from brokerdesk.modules.trading.gateways.base import PlatformError
    from brokerdesk.tenants.config.models import TradingServer

    server = TradingServer.objects.filter(pk=server_id).first()
    if server is None:
        return None
    try:
        result = deals_import(server)
    except PlatformError as exc:
        # Recorded on the watermark; the next beat tries again from the same point.
        logger.warning("deal import of server %s: %s", server_id, exc)
        return None
    return {"seen": result.seen, "written": result.written, "skipped": int(result.skipped)}


@app.task(name=ACCOUNTS_REFRESH_TASK)
def accounts_refresh_task() -> dict[str, int]:
    from brokerdesk.modules.trading.sync import accounts_refresh

    return accounts_refresh()


@app.task(name=ACCOUNT_REFRESH_TASK)
def account_refresh_task(account_id: int) -> str | None:
    from brokerdesk.modules.trading.models import TradingAccount
    from brokerdesk.modules.trading.sync import account_refresh

    account = TradingAccount.objects.select_related("server").filter(pk=account_id).first()
    if account is None:
        return None
    return account_refresh(account).sync_status


@app.task(name=OPERATIONS_SETTLE_TASK)
def operations_settle_task() -> int:
    from brokerdesk.modules.trading.balance import operations_settle

    return operations_settle()


@app.task(name=OPERATION_SETTLE_TASK)
def operation_settle_task(operation_id: int) -> str | None:
    from brokerdesk.modules.trading.balance import operation_settle
    from brokerdesk.modules.trading.gateways.base import PlatformError
    from brokerdesk.modules.trading.sync_models import BalanceOperation

    op = BalanceOperation.objects.filter(pk=operation_id).first()
    if op is None:
        return None
    try:
        return operation_settle(op).status
    except PlatformError as exc:
        # The periodic sweep (trading.operations_settle) comes back to it.
        logger.warning("settling balance operation %s: %s", operation_id, exc)
        return None
