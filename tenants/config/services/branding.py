"""Branding: the one row that gives a tenant its look."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from brokerdesk.tenants.branding import brand_cache_invalidate
from brokerdesk.tenants.config import validators as v
from brokerdesk.tenants.config.files import file_delete, file_store
from brokerdesk.tenants.config.models import BaseTheme, Branding
from brokerdesk.tenants.config.services._common import (
    ActorLike,
    Validator,
    change_record,
    changed_fields,
    clean_fields,
)


def _email(value: Any) -> str:
    value = v.text_validate(value, label="sender address", max_length=254, required=False)
    if value:
        validate_email(value)
    return value.lower()


def _theme(value: Any) -> str:
    if value not in BaseTheme.values:
        raise ValidationError(f"Choose one of: {', '.join(BaseTheme.values)}.")
    return str(value)


def _image(rules: v.ImageRules) -> Validator:
    def check(value: Any) -> v.CheckedImage | None:
        if value is None:  # None removes the image
            return None
        if not isinstance(value, bytes):
            raise ValidationError("Upload an image file.")
        return v.image_validate(value, rules=rules)

    return check


RULES: Mapping[str, Validator] = {
    "display_name": lambda x: v.text_validate(x, label="display name", max_length=120),
    "tagline": lambda x: v.text_validate(x, label="tagline", max_length=200, required=False),
    "primary_color": v.colour_validate,
    "accent_color": v.colour_validate,
    "email_sender_name": lambda x: v.text_validate(
        x, label="sender name", max_length=120, required=False
    ),
    "email_sender_address": _email,
    "base_theme": _theme,
    "custom_css": v.custom_css_validate,
    "time_zone": v.time_zone_validate,
    "logo": _image(v.LOGO_RULES),
    "favicon": _image(v.FAVICON_RULES),
}
IMAGES = ("logo", "favicon")


def branding_ensure(*, display_name: str, actor: ActorLike) -> Branding:
    """The tenant's branding row, created with defaults and ``display_name`` if missing."""
    # get_or_create survives two first saves racing on the singleton's unique key.
    branding, created = Branding.objects.get_or_create(
        singleton=1, defaults={"display_name": display_name[:120] or "Broker"}
    )
    if created:
        change_record(branding, action="create", fields=["display_name"], actor=actor)
        branding.save(update_fields=["updated_at", "updated_by"])
        brand_cache_invalidate()
    return branding


@transaction.atomic
def branding_update(
    *, changes: Mapping[str, Any], actor: ActorLike, default_name: str = "Broker"
) -> Branding:
    """Change branding fields; ``logo``/``favicon`` take image bytes (or None to remove).

    Every field is validated before anything is written, so bad input saves nothing.
    """
    cleaned = clean_fields(changes, RULES)
    branding = branding_ensure(display_name=default_name, actor=actor)
    branding = Branding.objects.select_for_update().get(pk=branding.pk)
    images = {name: cleaned.pop(name) for name in IMAGES if name in cleaned}
    fields = changed_fields(branding, cleaned)
    for name, value in cleaned.items():
        setattr(branding, name, value)
    old_files = _images_apply(branding, images)
    fields += sorted(images)
    if not fields:
        return branding
    change_record(branding, action="update", fields=fields, actor=actor)
    branding.save()
    transaction.on_commit(lambda: [file_delete(name) for name in old_files])
    brand_cache_invalidate()
    return branding


def _images_apply(branding: Branding, images: Mapping[str, v.CheckedImage | None]) -> list[str]:
    """Store new images and point the row at them; return the names they replace.

    Files are written after validation, so only a database failure can orphan one.
    """
    replaced = []
    for name, image in images.items():
        replaced.append(getattr(branding, f"{name}_file"))
        if image is None:
            setattr(branding, f"{name}_file", "")
            setattr(branding, f"{name}_content_type", "")
            continue
        stored = file_store(folder="branding", data=image.data, extension=image.extension)
        setattr(branding, f"{name}_file", stored)
        setattr(branding, f"{name}_content_type", image.content_type)
    return [name for name in replaced if name]
