"""S9: Sales cannot open finance details, AML notes or approve anything — through pages, the
API or direct URLs — each refusal a clean 403/404, and nothing changes.

Covers what exists so far: the permission-gated pages and endpoints (settings, staff, roles,
audit, the permission codes, a client's devices outside Sales' own clients) and the field
visibility every later finance/KYC serializer and template goes through. Each later issue
adds its own endpoints here (withdrawal approval, client finance tab, KYC AML notes).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.models import Role
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.identity.rbac.visibility import fields_visible_filter
from brokerdesk.tenants.config.models import LegalEntity, PspCredential, TradingServer
from support.config_canary import config_canary
from support.ledger import ledger_route_targets, ledger_snapshot
from support.rbac_actors import sign_in, user_make

REFUSED = {403, 404}


@pytest.fixture
def world(db, test_tenant, client):
    roles = default_roles_ensure()
    sales = user_make("sales@s9.example", roles=[roles["sales"]])
    colleague = user_make("finance@s9.example", roles=[roles["finance"]])
    trader = user_make("trader@s9.example", kind=UserKind.CLIENT)
    custom = Role.objects.create(name="Night desk", codes=["clients.view"], scope="own")
    _, ids = config_canary("test", "S9")
    ids.update(ledger_route_targets(trader))  # issue 7: a posted adjustment of the trader
    client.defaults["HTTP_HOST"] = test_tenant.get_primary_domain().domain
    return {
        "client": sign_in(client, sales),
        "sales": sales,
        "colleague": colleague,
        "trader": trader,
        "custom": custom,
        "roles": roles,
        "ids": ids,
    }


def _snapshot() -> dict[str, object]:
    """Everything a refused request might have changed."""
    return {
        "users": sorted(User.objects.values_list("email", "is_active", "full_name")),
        "roles": sorted(Role.objects.values_list("name", "scope", "codes")),
        "memberships": sorted(Role.members.through.objects.values_list("role_id", "user_id")),
        "entities": sorted(LegalEntity.objects.values_list("name", "updated_at")),
        "servers": sorted(TradingServer.objects.values_list("name", "updated_at")),
        "psps": sorted(PspCredential.objects.values_list("name", "updated_at")),
        "audit": AuditEntry.objects.count(),
        "ledger": ledger_snapshot(),  # issue 7: accounts, transfers, entries, adjustments
    }


def _requests(world) -> list[tuple[str, str, dict]]:
    ids = world["ids"]
    staff = {"public_id": world["colleague"].public_id}
    role = {"public_id": world["custom"].public_id}
    super_admin = {"public_id": world["roles"]["super_admin"].public_id}
    own = {"public_id": world["sales"].public_id}
    grab_super = {"roles": [str(world["roles"]["super_admin"].public_id)]}
    return [
        # Pages (direct URLs included: object pages by id).
        ("get", reverse("backoffice:settings:index"), {}),
        ("get", reverse("backoffice:settings:psps"), {}),
        ("get", reverse("backoffice:settings:psp-edit", kwargs=ids["psp"]), {}),
        ("post", reverse("backoffice:settings:server-edit", kwargs=ids["server"]), {"name": "x"}),
        ("post", reverse("backoffice:settings:document-remove", kwargs=ids["document"]), {}),
        ("get", reverse("backoffice:staff:list"), {}),
        ("post", reverse("backoffice:staff:invite"), {"email": "new@s9.example"}),
        ("post", reverse("backoffice:staff:edit", kwargs=own), grab_super),
        ("post", reverse("backoffice:staff:deactivate", kwargs=staff), {}),
        ("get", reverse("backoffice:roles:list"), {}),
        ("post", reverse("backoffice:roles:create"), {"name": "Mine", "codes": ["payments.adjust"]}),
        ("post", reverse("backoffice:roles:edit", kwargs=role), {"name": "x", "scope": "all"}),
        ("get", reverse("backoffice:audit:list"), {}),
        ("get", reverse("identity:client-devices", kwargs={"public_id": world["trader"].public_id}), {}),
        # API.
        ("get", reverse("config-api:psp-credentials"), {}),
        ("get", reverse("config-api:psp-credential", kwargs=ids["psp"]), {}),
        ("patch", reverse("config-api:trading-server", kwargs=ids["server"]), {"name": "x"}),
        ("get", reverse("staff-api:list"), {}),
        ("post", reverse("staff-api:list"), {"email": "new@s9.example"}),
        ("patch", reverse("staff-api:detail", kwargs=own), grab_super),
        ("post", reverse("staff-api:deactivate", kwargs=staff), {}),
        ("get", reverse("roles-api:list"), {}),
        ("post", reverse("roles-api:list"), {"name": "Mine", "codes": ["payments.adjust"]}),
        ("patch", reverse("roles-api:detail", kwargs=super_admin), {"scope": "own"}),
        ("get", reverse("permissions-api:list"), {}),
        ("get", reverse("audit-api:list"), {}),
        # Ledger (issue 7): Sales never sees money, adjustments or their reasons, and moves none.
        *_ledger_requests(world),
    ]  # fmt: skip


def _ledger_requests(world) -> list[tuple[str, str, dict]]:
    trader = {"public_id": world["trader"].public_id}
    adjustment = world["ids"]["adjustment"]
    create = {
        "client": str(world["trader"].public_id),
        "currency": "USD",
        "direction": "credit",
        "amount": "10.00",
        "reason": "Sales tries",
    }
    return [
        ("get", reverse("backoffice:ledger:index"), {}),
        ("get", reverse("backoffice:ledger:client", kwargs=trader), {}),
        ("get", reverse("backoffice:ledger:adjustments"), {}),
        ("post", reverse("backoffice:ledger:adjustment-create"), {**create, "token": "s9"}),
        ("get", reverse("backoffice:ledger:adjustment", kwargs=adjustment), {}),
        ("post", reverse("backoffice:ledger:adjustment", kwargs=adjustment), {"reason": "x"}),
        ("post", reverse("backoffice:ledger:adjustment-approve", kwargs=adjustment), {}),
        ("post", reverse("backoffice:ledger:adjustment-reject", kwargs=adjustment), {"note": "x"}),
        ("post", reverse("backoffice:ledger:adjustment-reverse", kwargs=adjustment), {"reason": "x"}),
        ("get", reverse("ledger-api:wallets", kwargs=trader), {}),
        ("get", reverse("ledger-api:movements", kwargs=trader), {}),
        ("get", reverse("ledger-api:adjustments"), {}),
        ("post", reverse("ledger-api:adjustments"), create),
        ("get", reverse("ledger-api:adjustment", kwargs=adjustment), {}),
        ("patch", reverse("ledger-api:adjustment", kwargs=adjustment), {"reason": "x"}),
        ("delete", reverse("ledger-api:adjustment", kwargs=adjustment), {}),
        ("post", reverse("ledger-api:adjustment-approve", kwargs=adjustment), {}),
        ("post", reverse("ledger-api:adjustment-reverse", kwargs=adjustment), {"reason": "x"}),
    ]  # fmt: skip


def test_sales_is_refused_everywhere_and_nothing_changes(world):
    before = _snapshot()
    client = world["client"]
    answers = []
    for method, url, data in _requests(world):
        if url.startswith("/api/"):
            response = getattr(client, method)(url, data=data, content_type="application/json")
        else:
            response = getattr(client, method)(url, data=data)
        answers.append((method.upper(), url, response.status_code))
    assert [a for a in answers if a[2] not in REFUSED] == []
    assert _snapshot() == before


def test_sales_holds_no_finance_aml_or_approval_code(world):
    sales = world["sales"]
    codes = [
        "clients.view_finance",
        "kyc.view_aml_notes",
        "kyc.review",
        "payments.view",
        "payments.approve_withdrawal",
        "payments.adjust",
        "payments.view_adjustments",
        "partners.manage",
        "config.manage",
        "staff.manage",
        "roles.manage",
        "audit.view",
    ]
    assert {code: permission_check(sales, code) for code in codes} == dict.fromkeys(codes, False)


def test_finance_details_and_aml_notes_are_hidden_from_sales(world):
    record = {"email": "t@x.example", "balance": "10.00", "aml_notes": "PEP match", "name": "T"}
    assert fields_visible_filter(world["sales"], record) == {"email": "t@x.example", "name": "T"}
    assert fields_visible_filter(world["colleague"], record) == {
        "email": "t@x.example",
        "balance": "10.00",
        "name": "T",
    }


def test_the_back_office_shows_sales_no_link_to_what_they_cannot_open(world):
    response = world["client"].get(reverse("backoffice:home"))
    assert response.status_code == 200
    page = response.content.decode()
    names = ("backoffice:settings:index", "backoffice:staff:list", "backoffice:roles:list",
             "backoffice:ledger:index", "backoffice:ledger:adjustments")  # fmt: skip
    for name in names:
        assert f'href="{reverse(name)}"' not in page
