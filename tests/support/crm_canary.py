"""CRM objects for the isolation walker's canaries: a client (with a note and a source), a
duplicate flag, a segment and a routing rule, each carrying the canary's marker, and the
argument providers that point the CRM's parameterised routes at them."""

from __future__ import annotations

from typing import Any

from brokerdesk.modules.crm import records, rules, segments
from brokerdesk.modules.crm.models import (
    ClientRecord,
    DuplicateFlag,
    LeadImport,
    RoutingRule,
    Segment,
)
from brokerdesk.modules.crm.source import Source
from brokerdesk.modules.identity.models import User, UserKind
from support.crm import import_finished


def _client(email: str, marker: str) -> ClientRecord:
    found = ClientRecord.objects.filter(email=email).first()
    if found is not None:
        return found
    user = User(
        email=email, kind=UserKind.CLIENT, full_name=f"{marker} client", phone="+4915112345678"
    )
    user.set_unusable_password()
    user.save()
    return records.record_on_registration(
        user=user, source=Source(utm_campaign=f"{marker}-campaign")
    )


def crm_canary(slug: str, marker: str, owner: User) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Create (once) the canary's CRM objects; returns secrets and route arguments.

    Runs inside the canary tenant's schema.
    """
    client = _client(f"client@{slug}.example", marker)
    twin = _client(f"twin@{slug}.example", marker)
    if not client.notes.exists():
        records.note_add(actor=owner, record=client, text=f"{marker} note")
    flag = DuplicateFlag.objects.filter(record=twin).first()
    segment = Segment.objects.filter(name=f"{marker} segment").first() or segments.segment_create(
        actor=owner, name=f"{marker} segment", filters={"utm_campaign": f"{marker}-campaign"}
    )
    rule = RoutingRule.objects.filter(name=f"{marker} rule").first() or rules.rule_create(
        actor="tests",
        data={
            "name": f"{marker} rule",
            "countries": ["CY"],
            "target": "owner",
            "owner": owner.public_id,
        },
    )
    lead_import = LeadImport.objects.filter(file_name=f"{marker}.csv").first() or import_finished(
        owner, f"{marker}.csv", f"imported@{slug}.example"
    )
    secrets = [client.email, twin.email, f"{marker}-campaign", f"imported@{slug}.example"]
    args = {
        "crm_import": {"public_id": str(lead_import.public_id)},
        "crm_client": {"public_id": str(client.user.public_id)},
        "crm_flag": {"public_id": str(flag.public_id)},
        "crm_segment": {"public_id": str(segment.public_id)},
        "crm_rule": {"public_id": str(rule.public_id)},
    }
    return secrets, args


def _arg(kind: str) -> Any:
    return lambda canary: canary.route_args[kind]


def crm_providers() -> dict[str, object]:
    routes = {
        "crm_client": [
            "backoffice:crm:detail",
            "backoffice:crm:timeline",
            "backoffice:crm:note-add",
            "backoffice:crm:assign",
            "backoffice:crm:merge",
            "crm-api:client",
            "policy-api:client",  # the policy engine (ADR 0026): a client's answers
            "crm-api:notes",
            "crm-api:timeline",
            "crm-api:assign",
            "crm-api:merge",
        ],
        "crm_flag": ["backoffice:crm:duplicate-dismiss", "crm-api:duplicate-dismiss"],
        "crm_segment": [
            "backoffice:crm:segment-delete",
            "crm-api:segment",
            "crm-api:segment-clients",
        ],
        "crm_import": [
            "backoffice:crm:import",
            "backoffice:crm:import-run",
            "backoffice:crm:import-report",
            "crm-api:import",
            "crm-api:import-report",
        ],
        "crm_rule": [
            "backoffice:crm:routing-edit",
            "backoffice:crm:routing-move",
            "backoffice:crm:routing-delete",
            "crm-api:routing-rule",
            "crm-api:routing-rule-move",
        ],
    }
    return {name: _arg(kind) for kind, names in routes.items() for name in names}
