"""Tenant configuration for the isolation walker's canaries: one object of each kind, with
secrets that must never show anywhere (not even on the tenant's own pages)."""

from __future__ import annotations

from brokerdesk.tenants.config import services
from brokerdesk.tenants.config.models import (
    LegalDocument,
    LegalEntity,
    PspCredential,
    TradingServer,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def config_canary(slug: str, marker: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Create (once) the canary's configuration; returns its secrets and route arguments.

    Runs inside the canary tenant's schema.
    """
    entity = LegalEntity.objects.filter(name=f"{marker} Entity").first()
    if entity is None:
        entity = services.legal_entity_create(
            data={"name": f"{marker} Entity", "jurisdiction": "CY", "allowed_countries": ["CY"]},
            actor="tests",
        )
        services.legal_document_add(
            legal_entity=entity, name=f"{marker} Terms", file_data=PDF, actor="tests"
        )
    server = TradingServer.objects.filter(name=f"{marker} MT5").first() or (
        services.trading_server_create(
            data={
                "name": f"{marker} MT5",
                "platform": "mt5",
                "address": f"{slug}.mt5.example",
                "manager_login": "1001",
                "secret": f"{marker}-server-password",
                "currency": "USD",
            },  # fmt: skip
            actor="tests",
        )
    )
    psp = PspCredential.objects.filter(name=f"{marker} PSP").first() or (
        services.psp_credential_create(
            data={
                "name": f"{marker} PSP",
                "provider": "sandbox",
                "secrets": {"signing_secret": f"{marker}-psp-secret"},
            },  # fmt: skip
            actor="tests",
        )
    )
    document = LegalDocument.objects.get(legal_entity=entity)
    ids = {
        "entity": {"public_id": str(entity.public_id)},
        "document": {"public_id": str(document.public_id)},
        "server": {"public_id": str(server.public_id)},
        "psp": {"public_id": str(psp.public_id)},
    }
    secrets = [f"{marker} Entity", f"{marker} MT5", f"{marker}-server-password",
               f"{marker}-psp-secret", str(entity.public_id), str(server.public_id)]  # fmt: skip
    return secrets, ids


# Which object of the canary each parameterised configuration route points at (also the role
# matrix's targets, support/route_targets.py).
ROUTES = {
    "backoffice:settings:entity-edit": "entity",
    "backoffice:settings:document-add": "entity",
    "backoffice:settings:document-remove": "document",
    "backoffice:settings:server-edit": "server",
    "backoffice:settings:psp-edit": "psp",
    "config-api:legal-entity": "entity",
    "config-api:trading-server": "server",
    "config-api:psp-credential": "psp",
    "config-files:legal-document": "document",
}


def config_providers() -> dict[str, object]:
    """Argument providers for every parameterised configuration route."""
    return {name: _provider(kind) for name, kind in ROUTES.items()}


def _provider(kind: str) -> object:
    return lambda canary: canary.route_args[kind]
