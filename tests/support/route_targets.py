"""The objects the parameterised routes point at, on the test tenant: one of each kind, made
by the modules' canaries, keyed as ``TARGETS`` says per route name. Shared by the role
matrix (tests/rbac) and the API fuzzing (tests/contract)."""

from __future__ import annotations

from brokerdesk.modules.identity.models import UserKind
from brokerdesk.modules.identity.rbac.models import Role, Team
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.identity.tokens.models import ApiToken
from support.config_canary import ROUTES as CONFIG_ROUTES
from support.config_canary import config_canary
from support.crm import crm_targets
from support.kyc_canary import KYC_ROUTES, kyc_canary
from support.ledger import ledger_route_targets
from support.partners_canary import ROUTES as PARTNERS_ROUTES
from support.partners_canary import partners_targets
from support.payments import payments_route_targets
from support.rbac_actors import user_make
from support.trading_canary import trading_route_targets

# Which test object each parameterised route points at.
TARGETS = {
    # Configuration (issue 2): support/config_canary.py.
    **CONFIG_ROUTES,
    "backoffice:staff:edit": "staff",
    "backoffice:staff:deactivate": "staff",
    "staff-api:detail": "staff",
    "staff-api:deactivate": "staff",
    "backoffice:roles:edit": "role",
    "roles-api:detail": "role",
    "identity:client-devices": "trader",
    # Teams and the second factor reset (issue 4: sec).
    "backoffice:teams:edit": "team",
    "backoffice:teams:delete": "team",
    "teams-api:detail": "team",
    "backoffice:staff:reset-second-factor": "staff",
    "staff-api:reset-second-factor": "staff",
    "backoffice:tokens:revoke": "token",
    "tokens-api:detail": "token",
    "tokens-api:revoke": "token",
    # KYC (modules/kyc): a client's case, its document, a file token (support/kyc_canary.py).
    **KYC_ROUTES,
    # CRM (issue 5).
    "backoffice:crm:detail": "crm_client",
    "backoffice:crm:timeline": "crm_client",
    "backoffice:crm:note-add": "crm_client",
    "backoffice:crm:assign": "crm_client",
    "backoffice:crm:merge": "crm_client",
    "backoffice:crm:duplicate-dismiss": "crm_flag",
    "backoffice:crm:segment-delete": "crm_segment",
    "backoffice:crm:routing-edit": "crm_rule",
    "backoffice:crm:routing-move": "crm_rule",
    "backoffice:crm:routing-delete": "crm_rule",
    "crm-api:client": "crm_client",
    "crm-api:notes": "crm_client",
    "crm-api:timeline": "crm_client",
    "crm-api:assign": "crm_client",
    "crm-api:merge": "crm_client",
    "policy-api:client": "crm_client",
    "crm-api:duplicate-dismiss": "crm_flag",
    "crm-api:segment": "crm_segment",
    "crm-api:segment-clients": "crm_segment",
    "crm-api:routing-rule": "crm_rule",
    "crm-api:routing-rule-move": "crm_rule",
    # Ledger (issue 7): a client's ledger and a posted adjustment of that client.
    "backoffice:ledger:client": "trader",
    "ledger-api:wallets": "trader",
    "ledger-api:movements": "trader",
    **{
        name: "adjustment"
        for name in (
            "backoffice:ledger:adjustment",
            "backoffice:ledger:adjustment-approve",
            "backoffice:ledger:adjustment-reject",
            "backoffice:ledger:adjustment-reverse",
            "ledger-api:adjustment",
            "ledger-api:adjustment-approve",
            "ledger-api:adjustment-reject",
            "ledger-api:adjustment-reverse",
        )
    },
    # Trading accounts (issue 8): a trader's account, its type, a request awaiting approval.
    "backoffice:trading:account-type": "trading-type",
    "backoffice:trading:account-action": "trading-account-action",
    "backoffice:trading:request-action": "trading-request-action",
    "trading-api:account-type": "trading-type",
    **{
        f"trading-api:{name}": "trading-account"
        for name in (
            "account",
            "account-block",
            "account-unblock",
            "account-archive",
            "deals",
            "positions",
        )
    },
    **{
        f"trading-api:{name}": "trading-request"
        for name in (
            "request",
            "request-retry",
            "request-cancel",
            "request-decision",
            "my-request",
            "my-credentials",
        )
    },
    "trading-api:my-leverage": "trading-account",
    "trading-api:my-password": "trading-account",
    # CRM lead import: a finished dry run.
    "backoffice:crm:import": "crm_import",
    "backoffice:crm:import-run": "crm_import",
    "backoffice:crm:import-report": "crm_import",
    "crm-api:import": "crm_import",
    "crm-api:import-report": "crm_import",
    # Payments (issue 9): a method and a pending deposit of the trader.
    "backoffice:payments:deposit": "deposit",
    "backoffice:payments:deposit-poll": "deposit",
    "backoffice:payments:deposit-review": "deposit",
    "backoffice:payments:deposit-chargeback": "deposit",
    "payments-api:deposit-chargeback": "deposit",
    "backoffice:payments:method": "payment_method",
    "payments-api:method": "payment_method",
    "payments-api:deposit": "deposit",
    "backoffice:payments:reconciliation-resolve": "reconciliation_item",
    "payments-api:reconciliation-resolve": "reconciliation_item",
    **{
        name: "withdrawal"
        for name in (
            "backoffice:payments:withdrawal",
            "backoffice:payments:withdrawal-approve",
            "backoffice:payments:withdrawal-reject",
            "payments-api:withdrawal",
            "payments-api:withdrawal-approve",
            "payments-api:withdrawal-reject",
        )
    },
    # IBs (issue 10): support/partners_canary.py.
    **{
        name: key
        for name, key in PARTNERS_ROUTES.items()
        if ":" in name and not name.startswith("partner_portal:")
    },
}


def route_targets() -> dict[str, dict[str, str]]:
    """Make the objects (on the current tenant schema); their route arguments by key."""
    roles = default_roles_ensure()
    _, ids = config_canary("test", "MATRIX")
    staff = user_make("target@rbac.example", roles=[roles["sales"]])
    role = Role.objects.create(name="Desk lead", codes=["clients.view"], scope="team")
    ids["staff"] = {"public_id": str(staff.public_id)}
    ids["role"] = {"public_id": str(role.public_id)}
    trader = user_make("trader@rbac.example", kind=UserKind.CLIENT)
    ids["trader"] = {"public_id": str(trader.public_id)}
    team = Team.objects.create(name="Matrix desk")
    ids["team"] = {"public_id": str(team.public_id)}
    token = ApiToken.objects.create(
        name="Matrix",
        owner=staff,
        prefix="bdt_matrix00",
        token_hash="0" * 64,
        codes=["clients.view"],
    )
    ids["token"] = {"public_id": str(token.public_id)}
    ids.update(kyc_canary("test", "MATRIX")[1])
    ids.update(crm_targets(staff))
    ids.update(ledger_route_targets(trader))
    ids.update(trading_route_targets(trader))
    ids.update(payments_route_targets(trader))
    ids.update(partners_targets("test", "MATRIX", staff))
    return ids
