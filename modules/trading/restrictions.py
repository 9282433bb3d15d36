"""Restrictions trading adds to the policy engine: no money moves and no leverage changes on a
blocked or archived trading account (registered in ``TradingConfig.ready``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.policy.engine import Action, Refusal, lazy_format, restriction

ACCOUNT_ACTIONS = {Action.DEPOSIT, Action.WITHDRAW, Action.TRANSFER, Action.CHANGE_LEVERAGE}


def _trading_account(account: Any) -> Any:
    from brokerdesk.modules.trading.models import TradingAccount

    return account if isinstance(account, TradingAccount) else None


def account_blocked(context: Any) -> Refusal | None:
    account = _trading_account(context.account)
    if account is None or not account.is_blocked or account.is_archived:
        return None
    return Refusal(
        "account_blocked",
        lazy_format(
            _("Trading on this account is blocked: %(reason)s"), reason=account.block_reason
        ),
        {"reason": account.block_reason},
    )


def account_archived(context: Any) -> bool:
    account = _trading_account(context.account)
    return account is not None and account.is_archived


def register() -> None:
    restriction(
        actions=ACCOUNT_ACTIONS,
        code="account_archived",
        message=_("This account is archived."),
        name="trading.account_archived",
    )(account_archived)
    restriction(
        actions=ACCOUNT_ACTIONS,
        code="account_blocked",
        message=_("Trading on this account is blocked."),
        name="trading.account_blocked",
    )(account_blocked)
