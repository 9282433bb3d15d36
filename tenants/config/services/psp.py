"""PSP credentials: a provider's non-secret settings in clear, its secrets encrypted."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from brokerdesk.tenants.config import validators as v
from brokerdesk.tenants.config.crypto import Secret
from brokerdesk.tenants.config.models import PspCredential, PspProvider
from brokerdesk.tenants.config.services._common import (
    ActorLike,
    Validator,
    change_record,
    changed_fields,
    clean_fields,
    unique_check,
)


@dataclass(frozen=True)
class ProviderFields:
    """Which settings a provider takes in clear and which are secrets (reference/protocols §2)."""

    settings: tuple[str, ...]
    secrets: tuple[str, ...]


PROVIDER_FIELDS: Mapping[str, ProviderFields] = {
    # api_url: where the CRM reaches the PSP (the bundled sandbox runs on loopback; for Stripe
    # it is optional, api.stripe.com unless a Stripe-compatible server such as stripe-mock).
    PspProvider.STRIPE: ProviderFields(
        ("publishable_key", "api_url"), ("secret_key", "webhook_secret")
    ),
    PspProvider.SANDBOX: ProviderFields(("merchant_id", "api_url"), ("signing_secret",)),
    PspProvider.PRAXIS: ProviderFields(("merchant_id", "application_key"), ("merchant_secret",)),
    PspProvider.SKRILL: ProviderFields(("merchant_id", "pay_to_email"), ("secret_word",)),
    PspProvider.COINSPAID: ProviderFields(("public_key", "api_url"), ("api_secret",)),
}
_SKRILL_SECRET_WORD = re.compile(r"^[a-z0-9]{1,10}$")


def _provider(value: Any) -> str:
    if value not in PspProvider.values:
        raise ValidationError(f"Choose one of: {', '.join(PspProvider.values)}.")
    return str(value)


def _is_live(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("Enter true or false.")
    return value


def _string_map(value: Any, *, what: str) -> dict[str, str | None]:
    if not isinstance(value, dict):
        raise ValidationError(f"Give the {what} as an object of names and text values.")
    for key, item in value.items():
        if item is not None and (not isinstance(item, str) or len(item) > 1000):
            raise ValidationError(f"{key!r} must be text of at most 1000 characters.")
    return dict(value)


RULES: Mapping[str, Validator] = {
    "name": lambda x: v.text_validate(x, label="name", max_length=120),
    "provider": _provider,
    "is_live": _is_live,
    "settings": lambda x: _string_map(x, what="settings"),
    "secrets": lambda x: _string_map(x, what="secrets"),
}
REQUIRED = ("name", "provider")


@sensitive_variables()  # outermost: hides the locals of every frame below it
@transaction.atomic
def psp_credential_create(*, data: Mapping[str, Any], actor: ActorLike) -> PspCredential:
    """A new PSP credential; settings and secrets are checked against the provider's fields."""
    cleaned = clean_fields(data, RULES, required=REQUIRED)
    fields = PROVIDER_FIELDS[cleaned["provider"]]
    settings = _settings_check(cleaned.get("settings", {}), fields)
    secrets = _secrets_merge({}, cleaned.get("secrets", {}), fields, provider=cleaned["provider"])
    unique_check(PspCredential, field="name", value=cleaned["name"], exclude=None)
    credential = PspCredential(
        name=cleaned["name"],
        provider=cleaned["provider"],
        is_live=cleaned.get("is_live", False),
        settings=settings,
        secrets=_secrets_seal(secrets),
        secret_names=sorted(secrets),
    )
    change_record(credential, action="create", fields=[*cleaned], actor=actor)
    _save(credential)
    return credential


@sensitive_variables()  # outermost: hides the locals of every frame below it
@transaction.atomic
def psp_credential_update(
    *, psp_credential: PspCredential, changes: Mapping[str, Any], actor: ActorLike
) -> PspCredential:
    """Change a credential. In ``secrets`` a missing or empty value keeps the stored
    secret and ``None`` clears it; the provider cannot change (create another one)."""
    cleaned = clean_fields(changes, RULES)
    credential = PspCredential.objects.select_for_update().get(pk=psp_credential.pk)
    if cleaned.get("provider", credential.provider) != credential.provider:
        raise ValidationError({"provider": ["The provider cannot change; add a new credential."]})
    fields_of = PROVIDER_FIELDS[credential.provider]
    if "settings" in cleaned:
        cleaned["settings"] = _settings_check(cleaned["settings"], fields_of)
    new_secrets = cleaned.pop("secrets", {})
    if "name" in cleaned:
        unique_check(PspCredential, field="name", value=cleaned["name"], exclude=credential)
    changed = changed_fields(credential, cleaned)
    stored = psp_secrets_reveal(credential)
    merged = _secrets_merge(stored, new_secrets, fields_of, provider=credential.provider)
    for name, value in cleaned.items():
        setattr(credential, name, value)
    if merged != stored:
        credential.secrets = _secrets_seal(merged)
        credential.secret_names = sorted(merged)
        changed.append("secrets")
    if not changed:
        return credential
    change_record(credential, action="update", fields=changed, actor=actor)
    _save(credential)
    return credential


@sensitive_variables()
def psp_secrets_reveal(credential: PspCredential) -> dict[str, str]:
    """The decrypted secrets of ``credential``, for the PSP adapter only."""
    token = credential.secrets
    return json.loads(token.reveal()) if token else {}


def psp_secrets_status(credential: PspCredential) -> dict[str, bool]:
    """Which of the provider's secrets are set (what pages and the API may show)."""
    names = set(credential.secret_names)
    return {name: name in names for name in PROVIDER_FIELDS[credential.provider].secrets}


def _settings_check(settings: Mapping[str, str | None], fields: ProviderFields) -> dict[str, str]:
    unknown = sorted(set(settings) - set(fields.settings))
    if unknown:
        hint = " (secrets go in secrets)" if set(unknown) & set(fields.secrets) else ""
        raise ValidationError(
            {
                "settings": [
                    f"Unknown settings: {', '.join(unknown)}{hint}; this provider takes "
                    f"{', '.join(fields.settings)}."
                ]
            }
        )
    return {key: (value or "").strip() for key, value in settings.items() if value}


@sensitive_variables()
def _secrets_merge(
    stored: Mapping[str, str],
    new: Mapping[str, str | None],
    fields: ProviderFields,
    *,
    provider: str,
) -> dict[str, str]:
    unknown = sorted(set(new) - set(fields.secrets))
    if unknown:
        raise ValidationError(
            {
                "secrets": [
                    f"Unknown secrets: {', '.join(unknown)}; this provider takes "
                    f"{', '.join(fields.secrets)}."
                ]
            }
        )
    merged = dict(stored)
    for key, value in new.items():
        if value is None:
            merged.pop(key, None)
        elif value:
            merged[key] = value
    if provider == PspProvider.SKRILL and not _SKRILL_SECRET_WORD.match(
        merged.get("secret_word", "x")
    ):
        raise ValidationError(
            {"secrets": ["Skrill's secret word is lower-case letters and digits, at most 10."]}
        )
    return merged


@sensitive_variables()
def _secrets_seal(secrets: Mapping[str, str]) -> Secret:
    return Secret.of(json.dumps(dict(sorted(secrets.items())))) if secrets else Secret()


def _save(credential: PspCredential) -> None:
    try:
        with transaction.atomic():
            credential.save()
    except IntegrityError:
        raise ValidationError({"name": [f"{credential.name!r} is already used."]}) from None
