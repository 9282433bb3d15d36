"""Staff and roles administration: rules, escalation limits, bad input, the one check."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.urls import reverse

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.codes import ALL_CODES
from brokerdesk.modules.identity.rbac.models import Role, Team
from brokerdesk.modules.identity.rbac.seeds import seed_default_roles
from brokerdesk.modules.identity.services import set_password_link_get
from brokerdesk.platform.provisioning.seeders import SeedContext, registered
from support.rbac_actors import sign_in, user_make

JSON = "application/json"


@pytest.fixture
def manager(actors):
    """A staff manager who is not Super admin: staff and roles, and Sales' codes (clients, and
    asking to move a client to another IB)."""
    role = Role.objects.create(
        name="Desk manager",
        codes=[
            "clients.edit",
            "clients.view",
            "partners.request_move",
            "roles.manage",
            "staff.manage",
        ],
    )
    return user_make("manager@rbac.example", roles=[role])


def _client(actors, user):
    from django.test import Client

    return sign_in(Client(HTTP_HOST=actors.host), user)


def _roles_of(user: User) -> list[str]:
    return sorted(user.rbac_roles.values_list("name", flat=True))


# --- Seeding ----------------------------------------------------------------------------------


def test_default_roles_are_seeded_once_after_the_owner_and_the_owner_is_super_admin(db):
    names = [entry.name for entry in registered()]
    assert names.index("identity.roles") == names.index("identity.owner") + 1
    context = SeedContext(slug="test", name="T", owner_email="owner@test.example", base_url="/")
    seed_default_roles(context)
    seed_default_roles(context)
    builtin = dict(Role.objects.exclude(key="").values_list("key", "name"))
    assert builtin == {
        "super_admin": "Super admin",
        "sales": "Sales",
        "compliance": "Compliance",
        "finance": "Finance",
        "support": "Support",
        "ib_manager": "IB manager",
    }
    assert set(Role.objects.get(key="super_admin").codes) == ALL_CODES
    assert _roles_of(User.objects.get(email="owner@test.example")) == ["Super admin"]


# --- The one check ----------------------------------------------------------------------------


def test_scopes_decide_object_access(actors):
    sales = actors.users["sales"]
    finance = actors.users["finance"]
    mine = SimpleNamespace(owner_id=sales.pk, team_id=None)
    theirs = SimpleNamespace(owner_id=finance.pk, team_id=None)
    assert [permission_check(sales, "clients.view", obj=o) for o in (mine, theirs)] == [True, False]
    assert permission_check(finance, "clients.view", obj=mine) is True  # scope "all"
    desk = Team.objects.create(name="Desk 1")
    lead = user_make("lead@rbac.example", roles=[
        Role.objects.create(name="Team lead", codes=["clients.view"], scope="team")])  # fmt: skip
    desk.members.add(lead)
    on_desk = SimpleNamespace(owner_id=sales.pk, team_id=desk.pk)
    off_desk = SimpleNamespace(owner_id=sales.pk, team_id=None)
    assert [permission_check(lead, "clients.view", obj=o) for o in (on_desk, off_desk)] == [
        True,
        False,
    ]


def test_inactive_staff_and_clients_hold_nothing_and_unknown_codes_fail_loudly(actors):
    super_admin = actors.users["super_admin"]
    User.objects.filter(pk=super_admin.pk).update(is_active=False)
    super_admin.refresh_from_db()
    assert permission_check(super_admin, "config.manage") is False
    assert permission_check(actors.users["client"], "clients.view") is False
    with pytest.raises(ValueError, match="unknown permission code 'config.manag'"):
        permission_check(actors.users["sales"], "config.manag")


# --- Staff ------------------------------------------------------------------------------------


def test_inviting_staff_through_the_api_creates_a_login_without_password_and_a_link(actors):
    sales_role = Role.objects.get(key="sales")
    response = actors.client("super_admin").post(
        reverse("staff-api:list"),
        data={"email": " New@RBAC.example ", "full_name": "Nia", "roles": [str(sales_role.public_id)]},
        content_type=JSON,
    )  # fmt: skip
    assert response.status_code == 201
    body = response.json()
    new = User.objects.get(email="new@rbac.example")
    token = body["set_password_url"].rstrip("/").rsplit("/", 1)[1]
    assert (body["email"], body["invited"], [r["name"] for r in body["roles"]]) == (
        "new@rbac.example",
        True,
        ["Sales"],
    )
    assert (new.kind, new.is_staff, new.has_usable_password()) == (UserKind.STAFF, True, False)
    assert set_password_link_get(token=token).user == new


def test_inviting_through_the_page_shows_the_link_once(actors):
    response = actors.client("super_admin").post(
        reverse("backoffice:staff:invite"), data={"email": "page@rbac.example"}
    )
    assert response.status_code == 200
    assert "/set-password/" in response.content.decode()
    assert User.objects.filter(email="page@rbac.example", is_staff=True).exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "not-an-address"}, "email", "Enter a valid e-mail address."),
        ({"email": "sales@rbac.example"}, "email", "A user with this e-mail address already exists."),
        ({"email": "x@rbac.example", "roles": ["nope"]}, "roles", "Choose roles from the list."),
        ({"email": "x@rbac.example", "roles": "sales"}, "roles", "Expected a list of items but got type \"str\"."),
    ],
)  # fmt: skip
def test_bad_invites_get_field_messages_and_nothing_is_saved(actors, data, field, message):
    count = User.objects.count()
    response = actors.client("super_admin").post(
        reverse("staff-api:list"), data=data, content_type=JSON
    )
    assert (response.status_code, response.json()[field]) == (400, [message])
    assert User.objects.count() == count


def test_a_manager_cannot_grant_roles_beyond_their_own_codes(actors, manager):
    target = actors.users["sales"]
    finance = Role.objects.get(key="finance")
    response = _client(actors, manager).patch(
        reverse("staff-api:detail", kwargs={"public_id": target.public_id}),
        data={"roles": [str(finance.public_id)]},
        content_type=JSON,
    )
    assert response.status_code == 400
    assert response.json()["roles"] == ["You can't grant or remove roles above your own: Finance."]
    assert _roles_of(target) == ["Sales"]


def test_a_manager_cannot_create_a_role_beyond_their_own_codes(actors, manager):
    response = _client(actors, manager).post(
        reverse("roles-api:list"),
        data={"name": "Sneaky", "codes": ["clients.view", "payments.adjust"]},
        content_type=JSON,
    )
    assert response.status_code == 400
    assert response.json() == {
        "codes": ["You can't grant permissions you don't hold: payments.adjust."]
    }
    assert not Role.objects.filter(name="Sneaky").exists()


def test_nobody_removes_their_own_last_staff_manage_or_deactivates_themselves(actors, manager):
    client = _client(actors, manager)
    own = {"public_id": manager.public_id}
    response = client.patch(
        reverse("staff-api:detail", kwargs=own), data={"roles": []}, content_type=JSON
    )
    assert response.status_code == 400
    assert response.json()["roles"] == [
        "You can't remove your own last role with the staff.manage permission."
    ]
    response = client.post(reverse("staff-api:deactivate", kwargs=own))
    assert (response.status_code, response.json()) == (
        400,
        {"non_field_errors": ["You can't deactivate yourself."]},
    )
    manager.refresh_from_db()
    assert (manager.is_active, _roles_of(manager)) == (True, ["Desk manager"])


def test_a_manager_cannot_deactivate_someone_with_more_rights(actors, manager):
    boss = actors.users["super_admin"]
    response = _client(actors, manager).post(
        reverse("backoffice:staff:deactivate", kwargs={"public_id": boss.public_id})
    )
    assert response.status_code == 400
    assert (
        "You can&#x27;t manage a staff member with more rights than you."
        in response.content.decode()
    )
    boss.refresh_from_db()
    assert boss.is_active is True


def test_deactivating_staff_takes_every_permission_away(actors):
    sales = actors.users["sales"]
    response = actors.client("super_admin").post(
        reverse("backoffice:staff:deactivate", kwargs={"public_id": sales.public_id})
    )
    assert response.status_code == 302
    sales = User.objects.get(pk=sales.pk)
    assert (sales.is_active, permission_check(sales, "clients.view")) == (False, False)


def test_a_clients_id_on_the_staff_routes_is_a_404(actors):
    trader = actors.users["client"]
    response = actors.client("super_admin").get(
        reverse("staff-api:detail", kwargs={"public_id": trader.public_id})
    )
    assert response.status_code == 404


# --- Roles ------------------------------------------------------------------------------------


def test_a_custom_role_is_created_from_checkboxes_on_the_page(actors):
    response = actors.client("super_admin").post(
        reverse("backoffice:roles:create"),
        data={"name": "KYC night shift", "scope": "team", "codes": ["kyc.view", "kyc.review"]},
    )
    role = Role.objects.get(name="KYC night shift")
    assert response.status_code == 302
    assert (role.key, role.scope, role.codes) == ("", "team", ["kyc.review", "kyc.view"])


def test_bad_roles_get_field_messages(actors):
    client = actors.client("super_admin")
    response = client.post(
        reverse("roles-api:list"),
        data={"name": "sales", "codes": ["no.such"], "scope": "everything"},
        content_type=JSON,
    )
    assert response.status_code == 400
    assert response.json() == {
        "name": ["A role with this name already exists."],
        "codes": ["Unknown permissions: no.such."],
        "scope": ["Choose own clients, team or all."],
    }


def test_built_in_roles_keep_their_codes_and_super_admin_is_fixed(actors):
    client = actors.client("super_admin")
    sales = Role.objects.get(key="sales")
    super_admin = Role.objects.get(key="super_admin")
    url = reverse("roles-api:detail", kwargs={"public_id": sales.public_id})
    response = client.patch(url, data={"codes": ["clients.view_finance"]}, content_type=JSON)
    assert (response.status_code, response.json()) == (
        400,
        {"codes": ["A built-in role's permissions can't be changed."]},
    )
    response = client.patch(url, data={"scope": "team"}, content_type=JSON)
    assert (response.status_code, response.json()["scope"]) == (200, "team")
    response = client.patch(
        reverse("roles-api:detail", kwargs={"public_id": super_admin.public_id}),
        data={"scope": "own"},
        content_type=JSON,
    )
    assert (response.status_code, response.json()) == (
        400,
        {"non_field_errors": ["The Super admin role can't be edited."]},
    )
    sales.refresh_from_db()
    super_admin.refresh_from_db()
    assert (sorted(sales.codes), super_admin.scope) == (
        ["clients.edit", "clients.view", "partners.request_move"],
        "all",
    )
