"""The restrictions the policy module itself owns: whose account it is, and the entity's cap.

Other modules register theirs the same way in their own ``ready()`` (trading: blocked or
archived accounts; KYC: expired documents; payments: tier limits).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.policy.engine import Action, Context, Refusal, lazy_format, restriction

ACCOUNT_ACTIONS = {Action.DEPOSIT, Action.WITHDRAW, Action.TRANSFER, Action.CHANGE_LEVERAGE}


@restriction(
    actions=ACCOUNT_ACTIONS,
    code="account_not_yours",
    message=_("This account does not belong to you."),
    name="policy.account_not_yours",
)
def account_not_yours(context: Context) -> bool:
    account = context.account
    if account is None:
        return False
    owner_id = getattr(account, "client_id", None)
    return owner_id is not None and owner_id != context.client.pk


@restriction(
    actions={Action.CHANGE_LEVERAGE, Action.OPEN_LIVE},
    code="leverage_above_cap",
    message=_("This leverage is above what your legal entity allows."),
    name="policy.leverage_above_cap",
)
def leverage_above_cap(context: Context) -> Refusal | None:
    if context.leverage is None:
        return None
    entity = context.legal_entity
    cap = entity.max_leverage if entity is not None else None
    if context.leverage < 1:
        return Refusal("leverage_invalid", _("Leverage must be at least 1:1."))
    if cap is not None and context.leverage > cap:
        return Refusal(
            "leverage_above_cap",
            lazy_format(_("The highest leverage your legal entity allows is 1:%(cap)s."), cap=cap),
            {"cap": cap},
        )
    return None
