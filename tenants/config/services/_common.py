"""What every configuration service shares: actors, field cleaning, change records."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.audit.services import SECRET_CHANGED, SECRET_SET, audit_record, target_of
from brokerdesk.tenants.config.fields import EncryptedSecretField
from brokerdesk.tenants.config.models import ConfigObject


class Actor(Protocol):
    """The acting user (identity.User); typed loosely so this app needs no import of it."""

    email: str
    public_id: Any


ActorLike = Actor | str  # a system actor is a label such as "provisioning" or "cli"
Validator = Callable[[Any], Any]
REQUIRED = "This field is required."


def actor_label(actor: ActorLike) -> str:
    return actor if isinstance(actor, str) else actor.email


# Its locals hold whatever was submitted, secrets included: keep them out of error reports.
@sensitive_variables()
def clean_fields(
    data: Mapping[str, Any],
    rules: Mapping[str, Validator],
    *,
    required: Iterable[str] = (),
) -> dict[str, Any]:
    """Run each field's validator; raise one ``ValidationError`` naming every bad field."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name in required:
        if name not in data:
            errors[name] = [REQUIRED]
    for name, value in data.items():
        if name not in rules:
            errors[name] = ["Unknown field."]
            continue
        try:
            cleaned[name] = rules[name](value)
        except ValidationError as exc:
            errors[name] = exc.messages
        except (TypeError, AttributeError, ValueError):
            # A value of the wrong type from the API is the client's mistake, never a 500.
            errors[name] = ["Enter a valid value."]
    if errors:
        raise ValidationError(errors)
    return cleaned


def changed_fields(obj: ConfigObject, cleaned: Mapping[str, Any]) -> list[str]:
    """Names of the fields whose value differs from ``obj``'s, in a stable order."""
    return sorted(name for name, value in cleaned.items() if getattr(obj, name) != value)


def change_record(
    obj: ConfigObject, *, action: str, fields: Iterable[str], actor: ActorLike
) -> AuditEntry:
    """Stamp ``obj`` with who and when, and write the audit row (before/after values of
    ``fields``, secrets masked) in the caller's transaction: the configuration history.

    Call it after setting the new values on ``obj`` and before saving it: the database row
    still holds the old values, which become the audit row's ``before``.
    """
    obj.updated_at = timezone.now()
    obj.updated_by = actor_label(actor)
    before, after = _audit_values(obj, action=action, fields=sorted(set(fields)))
    return audit_record(
        actor=actor,
        action=f"config.{target_of(obj).type}.{action}",
        target=obj,
        before=before,
        after=after,
    )


def _audit_values(
    obj: ConfigObject, *, action: str, fields: list[str]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Old and new values of ``fields``; a secret shows only as "[set]" or "[changed]"."""
    model = type(obj)
    columns: dict[str, str] = {}  # field name as the service says it -> model attribute
    for name in fields:
        for candidate in (name, f"{name}_file"):  # branding's "logo" is stored as logo_file
            try:
                model._meta.get_field(candidate)
            except Exception:  # noqa: BLE001 - FieldDoesNotExist: try the next spelling
                continue
            columns[name] = candidate
            break
    secret = {
        n for n, c in columns.items() if isinstance(model._meta.get_field(c), EncryptedSecretField)
    }
    if "secrets" in secret:
        columns["secret_names"] = "secret_names"  # which secrets exist is not itself secret
    stored = None
    if obj.pk is not None and action != "create":
        stored = model.objects.filter(pk=obj.pk).values(*columns.values()).first()
    before = None
    if stored is not None:
        before = {n: (SECRET_SET if n in secret else stored[c]) for n, c in columns.items()}
    if action == "delete":
        return before, None
    mark = SECRET_SET if before is None else SECRET_CHANGED
    after = {n: (mark if n in secret else getattr(obj, c)) for n, c in columns.items()}
    return before, after


def unique_check(model: type[ConfigObject], *, field: str, value: str, exclude: Any) -> None:
    """Refuse a name another object of ``model`` already has (case-insensitive)."""
    others = model.objects.filter(**{f"{field}__iexact": value})
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise ValidationError({field: [f"{value!r} is already used."]})
