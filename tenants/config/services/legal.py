"""Legal entities and their documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from brokerdesk.tenants.config import validators as v
from brokerdesk.tenants.config.files import file_delete, file_store
from brokerdesk.tenants.config.models import LegalDocument, LegalEntity
from brokerdesk.tenants.config.services._common import (
    ActorLike,
    Validator,
    change_record,
    changed_fields,
    clean_fields,
    unique_check,
)

RULES: Mapping[str, Validator] = {
    "name": lambda x: v.text_validate(x, label="name", max_length=200),
    "regulator": lambda x: v.text_validate(x, label="regulator", max_length=200, required=False),
    "licence_number": lambda x: v.text_validate(
        x, label="licence number", max_length=100, required=False
    ),
    "jurisdiction": v.country_validate,
    "allowed_countries": v.countries_validate,
    "max_leverage": v.leverage_validate,
}
REQUIRED = ("name", "jurisdiction")


@transaction.atomic
def legal_entity_create(*, data: Mapping[str, Any], actor: ActorLike) -> LegalEntity:
    """A new legal entity; every field is checked before the row is written."""
    cleaned = clean_fields(data, RULES, required=REQUIRED)
    unique_check(LegalEntity, field="name", value=cleaned["name"], exclude=None)
    entity = LegalEntity(**cleaned)
    change_record(entity, action="create", fields=cleaned, actor=actor)
    _save(entity)
    return entity


@transaction.atomic
def legal_entity_update(
    *, legal_entity: LegalEntity, changes: Mapping[str, Any], actor: ActorLike
) -> LegalEntity:
    """Change some fields of ``legal_entity``; nothing is written if any of them is bad."""
    cleaned = clean_fields(changes, RULES)
    entity = LegalEntity.objects.select_for_update().get(pk=legal_entity.pk)
    if "name" in cleaned:
        unique_check(LegalEntity, field="name", value=cleaned["name"], exclude=entity)
    fields = changed_fields(entity, cleaned)
    if not fields:
        return entity
    for name, value in cleaned.items():
        setattr(entity, name, value)
    change_record(entity, action="update", fields=fields, actor=actor)
    _save(entity)
    return entity


def _save(obj: LegalEntity | LegalDocument) -> None:
    # The checks above run first; this catches only a concurrent insert of the same name.
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise ValidationError({"name": [f"{obj.name!r} is already used."]}) from None


@transaction.atomic
def legal_document_add(
    *,
    legal_entity: LegalEntity,
    name: Any,
    url: Any = "",
    file_data: bytes | None = None,
    actor: ActorLike,
) -> LegalDocument:
    """Attach a document to ``legal_entity``: an https link or an uploaded PDF, not both."""
    cleaned = clean_fields(
        {"name": name, "url": url or ""},
        {
            "name": lambda x: v.text_validate(x, label="document name", max_length=200),
            "url": lambda x: v.https_url_validate(x) if x else "",
        },
    )
    _document_source_check(url=cleaned["url"], file_data=file_data)
    if legal_entity.documents.filter(name__iexact=cleaned["name"]).exists():
        raise ValidationError({"name": [f"{cleaned['name']!r} is already used."]})
    document = LegalDocument(legal_entity=legal_entity, name=cleaned["name"], url=cleaned["url"])
    if file_data is not None:
        document.file = file_store(folder="legal", data=file_data, extension="pdf")
    change_record(document, action="create", fields=["name", "url", "file"], actor=actor)
    _save(document)
    return document


def _document_source_check(*, url: str, file_data: bytes | None) -> None:
    if url and file_data is not None:
        raise ValidationError({"file": ["Give a link or a file, not both."]})
    if not url and file_data is None:
        raise ValidationError({"url": ["Give an https:// link or upload a PDF."]})
    if file_data is not None:
        try:
            v.pdf_validate(file_data)
        except ValidationError as exc:
            raise ValidationError({"file": exc.messages}) from None


@transaction.atomic
def legal_document_remove(*, document: LegalDocument, actor: ActorLike) -> None:
    """Remove a document; its file goes once the removal is committed."""
    change_record(document, action="delete", fields=["name"], actor=actor)
    stored = document.file
    document.delete()
    transaction.on_commit(lambda: file_delete(stored))
