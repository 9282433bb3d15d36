"""Writes to tenant configuration: ``<noun>_<verb>(*, ..., actor)``, one transaction each,
every field validated before anything is saved, an audit row per change (the configuration history)."""

from brokerdesk.tenants.config.services.branding import branding_ensure, branding_update
from brokerdesk.tenants.config.services.legal import (
    legal_document_add,
    legal_document_remove,
    legal_entity_create,
    legal_entity_update,
)
from brokerdesk.tenants.config.services.psp import (
    PROVIDER_FIELDS,
    psp_credential_create,
    psp_credential_update,
    psp_secrets_reveal,
    psp_secrets_status,
)
from brokerdesk.tenants.config.services.servers import (
    trading_server_create,
    trading_server_update,
)

__all__ = [
    "PROVIDER_FIELDS",
    "branding_ensure",
    "branding_update",
    "legal_document_add",
    "legal_document_remove",
    "legal_entity_create",
    "legal_entity_update",
    "psp_credential_create",
    "psp_credential_update",
    "psp_secrets_reveal",
    "psp_secrets_status",
    "trading_server_create",
    "trading_server_update",
]
