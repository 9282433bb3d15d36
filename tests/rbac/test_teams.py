"""Teams: administration through pages and the API (staff.manage), bad input refused with
nothing changed, every change audited, and the "team" scope reaching exactly the objects of
the holder's team members — changing at once when a member moves."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection
from django.urls import reverse

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import Device, User, UserKind
from brokerdesk.modules.identity.rbac import team_services
from brokerdesk.modules.identity.rbac.checks import permission_check, scope_queryset
from brokerdesk.modules.identity.rbac.models import Role, RoleScope, Team
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.tenants import schemas
from support.rbac_actors import sign_in, user_make
from support.tenants import tenant_ensure

TEAMS_API = reverse("teams-api:list")


def _team_api(team: Team) -> str:
    return reverse("teams-api:detail", kwargs={"public_id": team.public_id})


@pytest.fixture(scope="module")
def other_tenant_staff_id(django_db_setup, django_db_blocker) -> str:
    """The public id of a staff member of another broker (committed, reused across runs)."""
    with django_db_blocker.unblock():
        tenant = tenant_ensure("teams-other", name="Teams Other Broker")
        with schemas.tenant_context(tenant):
            person, _ = User.objects.get_or_create(
                email="desk@teams-other.example",
                defaults={"kind": UserKind.STAFF, "is_staff": True},
            )
        connection.set_schema_to_public()
        return str(person.public_id)


@pytest.fixture
def people(db):
    roles = default_roles_ensure()
    desk_lead_role = Role.objects.create(
        name="Desk lead", codes=["clients.view"], scope=RoleScope.TEAM
    )
    return {
        "admin": user_make("admin@teams.example", roles=[roles["super_admin"]]),
        "lead": user_make("lead@teams.example", roles=[desk_lead_role]),
        "alice": user_make("alice@teams.example", roles=[roles["sales"]]),
        "bob": user_make("bob@teams.example", roles=[roles["sales"]]),
        "carol": user_make("carol@teams.example", roles=[roles["sales"]]),
        "finance": user_make("finance@teams.example", roles=[roles["finance"]]),
        "trader": user_make("trader@teams.example", kind=UserKind.CLIENT),
        "roles": roles,
    }


def _ids(*users: User) -> list[str]:
    return [str(user.public_id) for user in users]


def _device(user: User) -> Device:
    return Device.objects.create(user=user, key_hash=f"k-{user.pk}", label=f"{user.email} phone")


def _snapshot() -> dict[str, object]:
    return {
        "teams": sorted(Team.objects.values_list("name", "lead_id")),
        "members": sorted(Team.members.through.objects.values_list("team_id", "user_id")),
        "audit": AuditEntry.objects.count(),
    }


# --- The "team" scope -------------------------------------------------------------------------


def test_a_team_scoped_role_reaches_exactly_its_team_members_objects_and_a_move_counts_at_once(
    people,
):
    admin, lead, alice, bob, carol = (people[k] for k in ("admin", "lead", "alice", "bob", "carol"))
    desk_a = team_services.team_create(
        actor=admin, name="Desk A", members=_ids(lead, alice), lead=str(lead.public_id)
    )
    desk_b = team_services.team_create(actor=admin, name="Desk B", members=_ids(bob))
    devices = {user.email: _device(user) for user in (lead, alice, bob, carol)}
    everything = Device.objects.filter(pk__in=[d.pk for d in devices.values()])

    def reached() -> list[str]:
        visible = scope_queryset(lead, "clients.view", everything, owner_field="user")
        return sorted(visible.values_list("user__email", flat=True))

    def may_see(user: User) -> bool:
        return permission_check(lead, "clients.view", obj=SimpleNamespace(owner_id=user.pk))

    assert reached() == ["alice@teams.example", "lead@teams.example"]
    assert [may_see(u) for u in (lead, alice, bob, carol)] == [True, True, False, False]

    # Alice moves from desk A to desk B: the lead loses her objects on the very next check.
    team_services.team_update(actor=admin, team=desk_a, members=_ids(lead))
    team_services.team_update(actor=admin, team=desk_b, members=_ids(bob, alice))

    assert reached() == ["lead@teams.example"]
    assert [may_see(u) for u in (lead, alice, bob, carol)] == [True, False, False, False]

    # Bob's desk gets the lead too: now the lead reaches desk B's members as well.
    team_services.team_update(actor=admin, team=desk_b, members=_ids(bob, alice, lead))
    assert reached() == ["alice@teams.example", "bob@teams.example", "lead@teams.example"]


def test_own_scope_reaches_only_ones_own_objects_and_all_scope_everything(people):
    admin, alice, bob = people["admin"], people["alice"], people["bob"]
    team_services.team_create(actor=admin, name="Desk A", members=_ids(alice, bob))
    mine, theirs = _device(alice), _device(bob)
    both = Device.objects.filter(pk__in=[mine.pk, theirs.pk])

    # Sales holds clients.view with scope "own": a teammate's objects stay out of reach.
    assert list(scope_queryset(alice, "clients.view", both, owner_field="user")) == [mine]
    assert set(scope_queryset(admin, "clients.view", both, owner_field="user")) == {mine, theirs}
    assert list(scope_queryset(alice, "payments.view", both, owner_field="user")) == []
    with pytest.raises(ValueError, match="unknown permission code"):
        scope_queryset(alice, "clients.veiw", both)


def test_an_object_assigned_to_a_team_is_reached_by_that_teams_members(people):
    admin, lead, bob = people["admin"], people["lead"], people["bob"]
    desk = team_services.team_create(actor=admin, name="Desk A", members=_ids(lead))
    other = team_services.team_create(actor=admin, name="Desk B", members=_ids(bob))

    assert permission_check(lead, "clients.view", obj=SimpleNamespace(team_id=desk.pk))
    assert not permission_check(lead, "clients.view", obj=SimpleNamespace(team_id=other.pk))


# --- Pages ------------------------------------------------------------------------------------


def test_the_page_creates_a_team_with_members_and_a_lead_and_audits_it(tenant_client, people):
    client = sign_in(tenant_client, people["admin"])
    lead, alice = people["lead"], people["alice"]

    form = client.get(reverse("backoffice:teams:create"))
    created = client.post(
        reverse("backoffice:teams:create"),
        {"name": "  Desk A ", "members": _ids(lead, alice), "lead": str(lead.public_id)},
    )

    assert form.status_code == 200 and "alice@teams.example" in form.content.decode()
    team = Team.objects.get(name="Desk A")
    assert created["Location"] == reverse(
        "backoffice:teams:edit", kwargs={"public_id": team.public_id}
    )
    assert (team.lead, sorted(team.members.values_list("email", flat=True))) == (
        lead,
        ["alice@teams.example", "lead@teams.example"],
    )
    row = AuditEntry.objects.order_by("-sequence").first()
    assert (row.action, row.actor_label, row.target_public_id, row.before, row.after) == (
        "identity.team.create",
        "admin@teams.example",
        str(team.public_id),
        None,
        {
            "name": "Desk A",
            "lead": "lead@teams.example",
            "members": ["alice@teams.example", "lead@teams.example"],
        },
    )
    listing = client.get(reverse("backoffice:teams:list")).content.decode()
    assert "Desk A" in listing and "alice@teams.example" in listing


@pytest.mark.parametrize(
    ("case", "field", "message"),
    [
        ("duplicate name", "name", "A team with this name already exists."),
        ("empty name", "name", "This field is required."),
        ("lead not a member", "lead", "The lead must be one of the team&#x27;s members."),
        ("a client as member", "members", "Select a valid choice."),
    ],
)
def test_the_page_refuses_bad_input_with_a_field_message_and_changes_nothing(
    tenant_client, people, case, field, message
):
    admin, lead, alice, trader = people["admin"], people["lead"], people["alice"], people["trader"]
    team_services.team_create(actor=admin, name="Desk A", members=_ids(alice))
    data = {
        "duplicate name": {"name": "desk a", "members": _ids(lead)},
        "empty name": {"name": "", "members": _ids(lead)},
        "lead not a member": {
            "name": "Desk B",
            "members": _ids(alice),
            "lead": str(lead.public_id),
        },
        "a client as member": {"name": "Desk B", "members": _ids(trader)},
    }[case]
    client = sign_in(tenant_client, admin)
    before = _snapshot()

    response = client.post(reverse("backoffice:teams:create"), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert field in response.context["form"].errors
    assert _snapshot() == before


def test_the_edit_page_moves_members_and_the_lead_leaving_needs_a_new_lead(tenant_client, people):
    admin, lead, alice, bob = people["admin"], people["lead"], people["alice"], people["bob"]
    team = team_services.team_create(
        actor=admin, name="Desk A", members=_ids(lead, alice), lead=str(lead.public_id)
    )
    client = sign_in(tenant_client, admin)
    url = reverse("backoffice:teams:edit", kwargs={"public_id": team.public_id})
    before = _snapshot()

    refused = client.post(
        url, {"name": "Desk A", "members": _ids(alice), "lead": str(lead.public_id)}
    )
    assert refused.status_code == 400 and "lead" in refused.context["form"].errors
    assert _snapshot() == before

    saved = client.post(
        url, {"name": "Desk Alpha", "members": _ids(alice, bob), "lead": str(bob.public_id)}
    )

    assert saved.status_code == 302
    team.refresh_from_db()
    assert (team.name, team.lead, sorted(team.members.values_list("email", flat=True))) == (
        "Desk Alpha",
        bob,
        ["alice@teams.example", "bob@teams.example"],
    )
    row = AuditEntry.objects.order_by("-sequence").first()
    assert (row.action, row.before["members"], row.after["members"], row.after["lead"]) == (
        "identity.team.update",
        ["alice@teams.example", "lead@teams.example"],
        ["alice@teams.example", "bob@teams.example"],
        "bob@teams.example",
    )


def test_only_an_empty_team_can_be_deleted(tenant_client, people):
    admin, alice = people["admin"], people["alice"]
    team = team_services.team_create(actor=admin, name="Desk A", members=_ids(alice))
    client = sign_in(tenant_client, admin)
    url = reverse("backoffice:teams:delete", kwargs={"public_id": team.public_id})
    before = _snapshot()

    refused = client.post(url)
    assert refused.status_code == 400
    assert "only an empty team can go" in refused.content.decode()
    assert _snapshot() == before

    team_services.team_update(actor=admin, team=team, members=[])
    deleted = client.post(url)

    assert deleted["Location"] == reverse("backoffice:teams:list")
    assert not Team.objects.filter(pk=team.pk).exists()
    row = AuditEntry.objects.order_by("-sequence").first()
    assert (row.action, row.before["name"], row.after) == ("identity.team.delete", "Desk A", None)
    assert (
        client.get(
            reverse("backoffice:teams:edit", kwargs={"public_id": team.public_id})
        ).status_code
        == 404
    )


# --- API --------------------------------------------------------------------------------------


def test_the_api_creates_changes_and_deletes_a_team(tenant_client, people):
    client = sign_in(tenant_client, people["admin"])
    lead, alice = people["lead"], people["alice"]

    created = client.post(
        TEAMS_API,
        {"name": "Desk A", "members": _ids(lead, alice), "lead": str(lead.public_id)},
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["name"], body["lead"]["email"], [m["email"] for m in body["members"]]) == (
        "Desk A",
        "lead@teams.example",
        ["alice@teams.example", "lead@teams.example"],
    )
    team = Team.objects.get(public_id=body["id"])

    patched = client.patch(
        _team_api(team), {"members": _ids(alice), "lead": None}, content_type="application/json"
    )
    assert patched.status_code == 200
    assert (patched.json()["lead"], [m["email"] for m in patched.json()["members"]]) == (
        None,
        ["alice@teams.example"],
    )
    assert client.get(TEAMS_API).json()[0]["name"] == "Desk A"

    refused = client.delete(_team_api(team))
    assert refused.status_code == 400 and "non_field_errors" in refused.json()
    client.patch(_team_api(team), {"members": []}, content_type="application/json")
    assert client.delete(_team_api(team)).status_code == 204
    assert client.get(_team_api(team)).status_code == 404
    actions = list(
        AuditEntry.objects.filter(target_public_id=str(team.public_id))
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == [
        "identity.team.create",
        "identity.team.update",
        "identity.team.update",
        "identity.team.delete",
    ]


def test_the_api_refuses_a_member_of_another_broker_a_client_and_a_stranger_as_lead(
    tenant_client, people, other_tenant_staff_id
):
    admin, lead, alice, trader = people["admin"], people["lead"], people["alice"], people["trader"]
    team_services.team_create(actor=admin, name="Desk A", members=_ids(alice))
    client = sign_in(tenant_client, admin)
    before = _snapshot()

    answers = [
        client.post(TEAMS_API, body, content_type="application/json")
        for body in (
            {"name": "Desk B", "members": [other_tenant_staff_id]},
            {"name": "Desk B", "members": _ids(trader)},
            {"name": "Desk B", "members": ["not-a-uuid"]},
            {"name": "Desk B", "members": "everyone"},
            {"name": "Desk B", "members": _ids(alice), "lead": str(lead.public_id)},
            {"name": "DESK A", "members": []},
            {"name": "", "members": []},
            {"name": "x" * 101},
        )
    ]

    assert [(a.status_code, sorted(a.json())) for a in answers] == [
        (400, ["members"]),
        (400, ["members"]),
        (400, ["members"]),
        (400, ["members"]),
        (400, ["lead"]),
        (400, ["name"]),
        (400, ["name"]),
        (400, ["name"]),
    ]
    assert answers[0].json()["members"] == ["Choose active staff members of this broker."]
    assert _snapshot() == before


def test_a_manager_cannot_move_staff_with_more_rights_than_their_own(tenant_client, people):
    managers = Role.objects.create(name="Staff managers", codes=["staff.manage", "clients.view"])
    manager = user_make("manager@teams.example", roles=[managers])
    client = sign_in(tenant_client, manager)
    before = _snapshot()

    response = client.post(
        TEAMS_API,
        {"name": "Desk F", "members": _ids(people["finance"])},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["members"] == [
        "You can't move staff with more rights than you: finance@teams.example."
    ]
    assert _snapshot() == before


def test_a_deactivated_member_may_stay_but_cannot_be_added(people):
    admin, alice, bob = people["admin"], people["alice"], people["bob"]
    team = team_services.team_create(actor=admin, name="Desk A", members=_ids(alice))
    User.objects.filter(pk__in=[alice.pk, bob.pk]).update(is_active=False)

    team_services.team_update(actor=admin, team=team, name="Desk A1", members=_ids(alice))
    with pytest.raises(Exception, match="Choose active staff members"):
        team_services.team_update(actor=admin, team=team, members=_ids(alice, bob))
    assert list(team.members.values_list("email", flat=True)) == ["alice@teams.example"]
