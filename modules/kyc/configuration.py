"""KYC configurations: the seeded default, one per legal entity, and changes to them.

Which configuration applies to a client: their legal entity's own, else the broker's default.
Every change is audited in its transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from brokerdesk.modules.audit.services import audit_record, json_normalise
from brokerdesk.modules.kyc import defaults
from brokerdesk.modules.kyc.models import (
    ClientAction,
    DocumentKind,
    DocumentType,
    KycConfiguration,
    KycState,
    KycTier,
    KycTransition,
)
from brokerdesk.tenants.config.models import LegalEntity

ActorLike = Any  # identity.User or a system actor's name ("provisioning", "cli")


def _label(actor: ActorLike) -> str:
    return actor if isinstance(actor, str) else actor.email


@transaction.atomic
def configuration_defaults_ensure(*, actor: ActorLike = "provisioning") -> KycConfiguration:
    """The broker's default configuration, created from ``defaults`` the first time."""
    existing = KycConfiguration.objects.filter(legal_entity__isnull=True).first()
    if existing is not None:
        return existing
    configuration = KycConfiguration.objects.create(
        name=defaults.DEFAULT_NAME,
        review_time_text=defaults.REVIEW_TIME_TEXT,
        updated_by=_label(actor),
    )
    _defaults_fill(configuration)
    audit_record(
        actor=actor,
        action="kyc.configuration.create",
        target=configuration,
        before=None,
        after={"name": configuration.name, "legal_entity": None},
    )
    return configuration


def _defaults_fill(configuration: KycConfiguration) -> None:
    states = {}
    for position, state in enumerate(defaults.STATES):
        states[state.key] = KycState.objects.create(
            configuration=configuration,
            key=state.key,
            label=state.label,
            client_message=state.client_message,
            allowed_actions=[str(action) for action in state.allowed_actions],
            is_initial=state.is_initial,
            awaits_review=state.awaits_review,
            position=position,
        )
    KycTransition.objects.bulk_create(
        KycTransition(
            configuration=configuration,
            from_state=states[source],
            event=str(event),
            to_state=states[target],
        )
        for source, event, target in defaults.TRANSITIONS
    )
    DocumentKind.objects.bulk_create(
        DocumentKind(
            configuration=configuration,
            key=kind.key,
            label=kind.label,
            help_text=kind.help_text,
            required_from_tier=kind.required_from_tier,
            accepted_types=[str(t) for t in kind.accepted_types],
            max_age_days=kind.max_age_days,
            expires=kind.expires,
            position=position,
        )
        for position, kind in enumerate(defaults.DOCUMENT_KINDS)
    )
    KycTier.objects.bulk_create(
        KycTier(configuration=configuration, number=n, label=label, deposit_limit_minor=limit,
                currency=currency)
        for n, label, limit, currency in defaults.TIERS
    )  # fmt: skip
    from brokerdesk.modules.kyc.risk import risk_rules_ensure

    risk_rules_ensure(configuration)


def configuration_for_entity(legal_entity: LegalEntity | None) -> KycConfiguration:
    """The configuration clients of ``legal_entity`` are verified by."""
    if legal_entity is not None:
        own = KycConfiguration.objects.filter(legal_entity=legal_entity).first()
        if own is not None:
            return own
    return configuration_defaults_ensure()


def legal_entity_for_country(country: str) -> LegalEntity | None:
    """The entity that onboards clients of ``country``: the first (by name) that lists it.

    Until the CRM assigns clients to entities, this is how a new case finds its rules.
    """
    if not country:
        return None
    for entity in LegalEntity.objects.order_by("name"):
        if country.upper() in entity.allowed_countries:
            return entity
    return None


@transaction.atomic
def configuration_copy_for_entity(
    *, legal_entity: LegalEntity, actor: ActorLike
) -> KycConfiguration:
    """Give ``legal_entity`` its own configuration, a copy of the default, to change freely.

    Cases already open keep the configuration they were opened with.
    """
    if KycConfiguration.objects.filter(legal_entity=legal_entity).exists():
        raise ValidationError({"legal_entity": ["This entity already has its own KYC rules."]})
    source = configuration_defaults_ensure()
    configuration = KycConfiguration.objects.create(
        legal_entity=legal_entity,
        name=f"{legal_entity.name}",
        expiry_warning_days=source.expiry_warning_days,
        max_upload_bytes=source.max_upload_bytes,
        review_time_text=source.review_time_text,
        updated_by=_label(actor),
    )
    _copy_rows(source, configuration)
    audit_record(
        actor=actor,
        action="kyc.configuration.create",
        target=configuration,
        before=None,
        after={"name": configuration.name, "legal_entity": str(legal_entity.public_id)},
    )
    return configuration


def _copy_rows(source: KycConfiguration, target: KycConfiguration) -> None:
    states = {}
    for state in source.states.all():
        old_pk = state.pk
        state.pk = None
        state.configuration = target
        state.save()
        states[old_pk] = state
    for transition in source.transitions.all():
        KycTransition.objects.create(
            configuration=target,
            from_state=states[transition.from_state_id],
            event=transition.event,
            to_state=states[transition.to_state_id],
        )
    for row in [*source.document_kinds.all(), *source.tiers.all()]:
        row.pk = None
        row.configuration = target
        row.save()
    from brokerdesk.modules.kyc.risk import risk_rules_copy

    risk_rules_copy(source, target)


def _actions_validate(value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError("Give a list of actions.")
    unknown = sorted(set(value) - set(ClientAction.values))
    if unknown:
        raise ValidationError(f"Unknown actions: {', '.join(unknown)}.")
    return sorted(set(value), key=ClientAction.values.index)


def _types_validate(value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError("Accept at least one document type.")
    unknown = sorted({str(v) for v in value} - set(DocumentType.values))
    if unknown:
        raise ValidationError(f"Unknown document types: {', '.join(unknown)}.")
    return [t for t in DocumentType.values if t in value]


def _whole_number(value: Any) -> int:
    """An int, or text of digits (a form field); never a bool or a fraction."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(value)
    if isinstance(value, str) and not value.strip().isdigit():
        raise ValueError(value)
    return int(value)


def _optional_days(value: Any) -> int | None:
    if value is None or value == "":
        return None
    days = _whole_number(value)
    if not 1 <= days <= 3650:
        raise ValidationError("Between 1 and 3650 days, or empty for any age.")
    return days


def _tier(value: Any) -> int:
    tier = _whole_number(value)
    if not 1 <= tier <= 9:
        raise ValidationError("A tier from 1 to 9.")
    return tier


def _text(limit: int):
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError("Enter text.")
        text = value.strip()
        if not text or len(text) > limit:
            raise ValidationError(f"Between 1 and {limit} characters.")
        if "\x00" in text:  # PostgreSQL text cannot hold it (a 500, found by API fuzzing)
            raise ValidationError("Null characters are not allowed.")
        return text

    return check


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("true or false.")
    return value


STATE_RULES = {
    "label": _text(100),
    "client_message": _text(500),
    "allowed_actions": _actions_validate,
}
KIND_RULES = {
    "label": _text(100),
    "help_text": _text(300),
    "required_from_tier": _tier,
    "accepted_types": _types_validate,
    "max_age_days": _optional_days,
    "expires": lambda value: _boolean(value),
}


def _clean(changes: Mapping[str, Any], rules: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in rules:
            errors[name] = ["Unknown field."]
            continue
        try:
            cleaned[name] = rules[name](value)
        except ValidationError as exc:
            errors[name] = exc.messages
        except (TypeError, ValueError):
            errors[name] = ["Enter a valid value."]
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def state_update(*, state: KycState, changes: Mapping[str, Any], actor: ActorLike) -> KycState:
    """Change a state's texts or what clients may do in it (audited)."""
    return _row_update(state, _clean(changes, STATE_RULES), actor, "kyc.state.update")


@transaction.atomic
def document_kind_update(
    *, kind: DocumentKind, changes: Mapping[str, Any], actor: ActorLike
) -> DocumentKind:
    """Change which tier needs a document kind, the accepted types, its maximum age …"""
    return _row_update(kind, _clean(changes, KIND_RULES), actor, "kyc.document_kind.update")


def _row_update(row: Any, cleaned: dict[str, Any], actor: ActorLike, action: str) -> Any:
    row = type(row).objects.select_for_update().get(pk=row.pk)
    cleaned = {name: value for name, value in cleaned.items() if getattr(row, name) != value}
    if not cleaned:
        return row  # nothing changes, nothing to record
    before = {name: getattr(row, name) for name in cleaned}
    for name, value in cleaned.items():
        setattr(row, name, value)
    row.save(update_fields=list(cleaned))
    configuration = row.configuration
    KycConfiguration.objects.filter(pk=configuration.pk).update(
        updated_at=timezone.now(), updated_by=_label(actor)
    )
    audit_record(
        actor=actor,
        action=action,
        target=configuration,
        before=json_normalise({"key": row.key, **before}),
        after=json_normalise({"key": row.key, **cleaned}),
    )
    return row
