"""Provider accounts and which configuration uses which (``config.manage``, audited).

Secrets are write-only: stored as one encrypted JSON token (ADR 0013), audited as
``[set]``/``[changed]``, never returned.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import SECRET_CHANGED, SECRET_SET, audit_record
from brokerdesk.modules.identity.rbac.checks import require_permission
from brokerdesk.modules.kyc.models import KycConfiguration, KycProvider, ProviderKind
from brokerdesk.modules.kyc.providers.sumsub import SECRET_NAMES
from brokerdesk.tenants.config.crypto import Secret

ActorLike = Any


def _check(actor: ActorLike) -> None:
    if not isinstance(actor, str):
        require_permission(actor, "config.manage")


@transaction.atomic
def provider_save(
    *,
    actor: ActorLike,
    name: str,
    kind: str,
    base_url: str,
    level_name: str,
    sdk_url: str = "",
    secrets: dict[str, str] | None = None,
    is_active: bool = True,
    provider: KycProvider | None = None,
) -> KycProvider:
    """Create or change a provider account; secrets left out (or blank) keep their value."""
    _check(actor)
    errors: dict[str, list[str]] = {}
    if kind not in ProviderKind.values:
        errors["kind"] = [_("Choose a provider.")]
    for field, value in (("base_url", base_url), ("sdk_url", sdk_url)):
        if field == "sdk_url" and not value:
            continue
        try:
            URLValidator(schemes=["https", "http"])(value)
        except ValidationError:
            errors[field] = [_("Enter a full https:// address.")]
    if not name.strip():
        errors["name"] = [_("Give the provider a name.")]
    if not level_name.strip():
        errors["level_name"] = [_("Enter the provider's verification level.")]
    unknown = set(secrets or {}) - set(SECRET_NAMES)
    if unknown:
        errors["secrets"] = [_("Unknown secret: %(n)s.") % {"n": ", ".join(sorted(unknown))}]
    if errors:
        raise ValidationError(errors)
    row = provider or KycProvider(kind=kind)
    before = None if provider is None else _snapshot(provider)
    current = json.loads(row.secrets.reveal()) if provider and row.secrets.is_set else {}
    given = {k: v for k, v in (secrets or {}).items() if v}
    changed_secrets = sorted(k for k, v in given.items() if current.get(k) != v)
    current.update(given)
    row.name, row.kind, row.base_url = name.strip(), kind, base_url.strip()
    row.level_name, row.sdk_url, row.is_active = level_name.strip(), sdk_url.strip(), is_active
    row.secrets = Secret.of(json.dumps(current)) if current else Secret()
    row.secret_names = sorted(current)
    row.updated_at = timezone.now()
    row.save()
    after = _snapshot(row)
    for secret in changed_secrets:
        after[f"secret.{secret}"] = SECRET_CHANGED if provider else SECRET_SET
    audit_record(
        actor=actor,
        action="kyc.provider.create" if provider is None else "kyc.provider.update",
        target=row,
        before=before,
        after=after,
    )
    return row


def _snapshot(row: KycProvider) -> dict[str, Any]:
    return {"name": row.name, "kind": row.kind, "base_url": row.base_url,
            "level_name": row.level_name, "sdk_url": row.sdk_url, "is_active": row.is_active,
            "secrets_set": list(row.secret_names)}  # fmt: skip


@transaction.atomic
def configuration_provider_set(
    *, actor: ActorLike, configuration: KycConfiguration, provider: KycProvider | None
) -> KycConfiguration:
    """Who verifies the identities of this configuration's clients (None: in-house review).
    Open cases follow the change; an applicant already made at a provider stays recorded."""
    _check(actor)
    before = str(configuration.provider.public_id) if configuration.provider_id else None
    KycConfiguration.objects.filter(pk=configuration.pk).update(
        provider=provider, updated_at=timezone.now()
    )
    configuration.provider = provider
    audit_record(
        actor=actor,
        action="kyc.configuration.provider",
        target=configuration,
        before={"provider": before},
        after={"provider": str(provider.public_id) if provider else None},
    )
    return configuration


MAX_WARNING_DAYS = 365


@transaction.atomic
def configuration_verification_set(
    *,
    actor: ActorLike,
    configuration: KycConfiguration,
    provider: KycProvider | None,
    expiry_warning_days: Any,
) -> KycConfiguration:
    """Who verifies this configuration's clients and how early expiring documents are
    warned about, in one audited change."""
    _check(actor)
    try:
        days = int(str(expiry_warning_days).strip())
    except ValueError:
        days = -1
    if not 1 <= days <= MAX_WARNING_DAYS:
        raise ValidationError(
            {"expiry_warning_days": [_("Enter a number of days from 1 to %(n)s.")
                                     % {"n": MAX_WARNING_DAYS}]}
        )  # fmt: skip
    if provider is not None and not provider.is_active:
        raise ValidationError({"provider": [_("This provider is switched off.")]})
    before = {"expiry_warning_days": configuration.expiry_warning_days,
              "provider": str(configuration.provider.public_id) if configuration.provider_id
              else None}  # fmt: skip
    KycConfiguration.objects.filter(pk=configuration.pk).update(
        provider=provider, expiry_warning_days=days, updated_at=timezone.now(),
        updated_by=actor if isinstance(actor, str) else actor.email,
    )  # fmt: skip
    configuration.provider, configuration.expiry_warning_days = provider, days
    audit_record(
        actor=actor,
        action="kyc.configuration.verification",
        target=configuration,
        before=before,
        after={"expiry_warning_days": days,
               "provider": str(provider.public_id) if provider else None},
    )  # fmt: skip
    return configuration
