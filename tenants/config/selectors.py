"""Reads of tenant configuration, and the one access check every entry point goes through.

Only staff holding ``config.manage`` (ADR 0016; Super admin has it) may read or change
configuration. ``<noun>_get_for_actor`` is the only way to load an
object for someone: a missing object and a forbidden one raise the same ``ConfigNotFound``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Count, QuerySet

from brokerdesk.modules.audit.selectors import AuditFilters, audit_entries
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.tenants.config.models import (
    Branding,
    ConfigObject,
    LegalDocument,
    LegalEntity,
    PspCredential,
    TradingServer,
)

T = TypeVar("T", bound=ConfigObject)


class ConfigNotFound(ObjectDoesNotExist):
    """No such configuration object for this actor (missing or not theirs to see)."""


def is_config_admin(user: Any) -> bool:
    """Whether ``user`` may see and change tenant configuration: the ``config.manage`` code,
    decided by the one RBAC check."""
    return permission_check(user, "config.manage")


def config_access_check(*, actor: Any) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` may manage configuration."""
    if not is_config_admin(actor):
        raise PermissionDenied("You need the permission 'config.manage'.")


def _get_for_actor(queryset: QuerySet[T], *, public_id: Any, actor: Any) -> T:
    if not is_config_admin(actor):
        raise ConfigNotFound()
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise ConfigNotFound() from None
    found = queryset.filter(public_id=key).first()
    if found is None:
        raise ConfigNotFound()
    return found


def legal_entity_get_for_actor(*, public_id: Any, actor: Any) -> LegalEntity:
    return _get_for_actor(LegalEntity.objects.all(), public_id=public_id, actor=actor)


def legal_document_get_for_actor(*, public_id: Any, actor: Any) -> LegalDocument:
    documents = LegalDocument.objects.select_related("legal_entity")
    return _get_for_actor(documents, public_id=public_id, actor=actor)


def trading_server_get_for_actor(*, public_id: Any, actor: Any) -> TradingServer:
    return _get_for_actor(TradingServer.objects.all(), public_id=public_id, actor=actor)


def psp_credential_get_for_actor(*, public_id: Any, actor: Any) -> PspCredential:
    return _get_for_actor(PspCredential.objects.all(), public_id=public_id, actor=actor)


def branding_get() -> Branding | None:
    return Branding.objects.filter(singleton=1).first()


def legal_entity_list() -> QuerySet[LegalEntity]:
    return LegalEntity.objects.annotate(document_count=Count("documents")).order_by("name")


def trading_server_list() -> QuerySet[TradingServer]:
    return TradingServer.objects.order_by("name")


def psp_credential_list() -> QuerySet[PspCredential]:
    return PspCredential.objects.order_by("name")


def legal_document_public_get(*, public_id: Any) -> LegalDocument | None:
    """A legal document anyone may read (clients read terms before registering)."""
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return LegalDocument.objects.filter(public_id=key).exclude(file="").first()


@dataclass(frozen=True)
class ConfigHistoryItem:
    """One configuration change as the settings page lists it, read from the audit log."""

    occurred_at: datetime
    actor_label: str
    action: str  # "create" | "update" | "delete"
    object_type: str  # "branding", "legal_entity", …
    fields: list[str]
    note: str  # the audit row's reason (imported history says what it recorded)


def config_history(*, limit: int = 50) -> list[ConfigHistoryItem]:
    """The newest configuration changes: the audit rows with a ``config.`` action."""
    entries = audit_entries(AuditFilters(action="config.")).order_by("-occurred_at", "-sequence")
    items = []
    for entry in entries[:limit]:
        _, object_type, action = (entry.action.split(".", 2) + ["", ""])[:3]
        changed = entry.after if entry.after is not None else entry.before
        items.append(
            ConfigHistoryItem(
                occurred_at=entry.occurred_at,
                actor_label=entry.actor_label,
                action=action,
                object_type=object_type,
                fields=sorted(changed) if isinstance(changed, dict) else [],
                note=entry.reason,
            )
        )
    return items
