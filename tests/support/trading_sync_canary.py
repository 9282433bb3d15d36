"""The sync's rows for the canary trading account (issue 8 item 5): a deal and an open
position carrying the marker, and a pending-sync note, so the walker would see them leak."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from brokerdesk.modules.trading.models import SyncStatus, TradingAccount
from brokerdesk.modules.trading.sync_models import Deal, Position


def sync_objects(account: TradingAccount, marker: str) -> None:
    """Idempotent per account."""
    now = timezone.now()
    Deal.objects.get_or_create(
        server=account.server, ticket=4242001,
        defaults={"login": account.login, "executed_at": now, "time_msc": 0, "action": 2,
                  "entry": 0, "profit_minor": 4242, "comment": f"{marker} deal"[:64]},
    )  # fmt: skip
    Position.objects.get_or_create(
        server=account.server, login=account.login, ticket=4242002,
        defaults={"symbol": f"{marker}"[:32], "symbol_group": "other", "action": 0,
                  "volume": 100, "price_open": Decimal("1.1"), "price_current": Decimal("1.2"),
                  "opened_at": now},
    )  # fmt: skip
    TradingAccount.objects.filter(pk=account.pk).update(sync_status=SyncStatus.PENDING_SYNC)
