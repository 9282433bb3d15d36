"""Helpers the committed (threaded) CRM tests import by module name."""

from __future__ import annotations

from django.db import transaction

from brokerdesk.modules.crm import records
from brokerdesk.modules.identity.models import User, UserKind


def register_committed(email: str) -> None:
    with transaction.atomic():
        user = User(email=email, kind=UserKind.CLIENT, country="DE", language="en")
        user.set_unusable_password()
        user.save()
        records.record_on_registration(user=user, source=None)


def import_finished(staff: User, name: str, email: str, *, dry_run: bool = True) -> object:
    """A finished lead import (a dry run by default) of a one-row file, made by ``staff``."""
    from brokerdesk.modules.crm import imports

    data = f"email,full_name\n{email},Imported Lead\n".encode()
    lead_import = imports.import_create(actor=staff, name=name, data=data, dry_run=dry_run)
    imports.import_process(lead_import.pk)
    lead_import.refresh_from_db()
    return lead_import


def crm_targets(staff: User) -> dict[str, dict[str, str]]:
    """CRM objects for the role matrix: an unowned client (not Sales' own), an open duplicate
    flag, a segment made by ``staff`` and a routing rule to ``staff``."""
    from brokerdesk.modules.crm import rules, segments
    from brokerdesk.modules.crm.models import DuplicateFlag

    made = []
    for email in ("crm.target@rbac.example", "crm.twin@rbac.example"):
        user = User(email=email, kind=UserKind.CLIENT, country="DE", phone="+4915112345678")
        user.set_unusable_password()
        user.save()
        made.append(records.record_on_registration(user=user, source=None))
    flag = DuplicateFlag.objects.get(record=made[1])
    segment = segments.segment_create(actor=staff, name="Matrix", filters={"country": "DE"})
    rule = rules.rule_create(
        actor="tests", data={"name": "Matrix", "target": "owner", "owner": staff.public_id}
    )
    lead_import = import_finished(staff, "matrix.csv", "matrix.lead@rbac.example")
    return {
        "crm_import": {"public_id": str(lead_import.public_id)},
        "crm_client": {"public_id": str(made[0].user.public_id)},
        "crm_flag": {"public_id": str(flag.public_id)},
        "crm_segment": {"public_id": str(segment.public_id)},
        "crm_rule": {"public_id": str(rule.public_id)},
    }
