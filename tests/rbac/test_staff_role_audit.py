"""Staff and role administration is audited: who invited, changed or deactivated whom, and
who created or changed which role — with before and after; a refused change writes nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.rbac import services
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from support.rbac_actors import user_make


@pytest.fixture
def admin(db):
    roles = default_roles_ensure()
    return user_make("admin@audit-staff.example", roles=[roles["super_admin"]]), roles


def _rows() -> list[tuple]:
    return [
        (row.action, row.actor_label, row.before, row.after)
        for row in AuditEntry.objects.filter(action__startswith="identity.").order_by("sequence")
    ]


def test_inviting_changing_and_deactivating_staff_is_audited(admin):
    actor, roles = admin
    person, _ = services.staff_invite(
        actor=actor,
        email="New@Audit-Staff.example",
        full_name="Nia New",
        roles=[str(roles["sales"].public_id)],
    )
    services.staff_update(actor=actor, staff=person, roles=[str(roles["support"].public_id)])
    services.staff_update(actor=actor, staff=person, full_name="Nia New")  # no change: no row
    services.staff_deactivate(actor=actor, staff=person)

    sales = {"full_name": "Nia New", "is_active": True, "roles": ["Sales"]}
    support = {**sales, "roles": ["Support"]}
    assert _rows() == [
        (
            "identity.staff.invite",
            "admin@audit-staff.example",
            None,
            {"email": "new@audit-staff.example", **sales},
        ),
        ("identity.staff.update", "admin@audit-staff.example", sales, support),
        (
            "identity.staff.deactivate",
            "admin@audit-staff.example",
            support,
            {**support, "is_active": False},
        ),
    ]
    assert set(AuditEntry.objects.values_list("target_public_id", flat=True).filter(
        action__startswith="identity.staff."
    )) == {str(person.public_id)}  # fmt: skip


def test_creating_and_changing_a_role_is_audited_and_a_refusal_writes_nothing(admin):
    actor, roles = admin
    role = services.role_create(actor=actor, name="Night desk", codes=["clients.view"], scope="own")
    services.role_update(
        actor=actor, role=role, scope="team", codes=["clients.edit", "clients.view"]
    )
    before = AuditEntry.objects.count()

    with pytest.raises(ValidationError):
        services.role_update(actor=actor, role=roles["super_admin"], scope="own")
    with pytest.raises(ValidationError):
        services.role_create(actor=actor, name="night DESK", codes=[])

    assert AuditEntry.objects.count() == before
    night = {"name": "Night desk", "scope": "own", "codes": ["clients.view"]}
    assert _rows() == [
        ("identity.role.create", "admin@audit-staff.example", None, night),
        (
            "identity.role.update",
            "admin@audit-staff.example",
            night,
            {"name": "Night desk", "scope": "team", "codes": ["clients.edit", "clients.view"]},
        ),
    ]
