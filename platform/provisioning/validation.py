"""What a tenant slug may be: a lower-case DNS label of at most 40 characters, not reserved."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

RESERVED_SLUGS = frozenset({"www", "api", "admin", "app", "public", "static", "mail"})
SLUG_MAX_LENGTH = 40
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


def validate_slug(slug: str) -> None:
    """Raise a ValidationError that says exactly what is wrong with ``slug``."""
    if not slug:
        raise ValidationError("The slug is empty.", code="empty")
    if slug != slug.lower():
        hint = f"; use {slug.lower()!r}" if _DNS_LABEL.match(slug.lower()) else ""
        raise ValidationError(f"The slug {slug!r} has upper-case letters{hint}.", code="case")
    if len(slug) > SLUG_MAX_LENGTH:
        raise ValidationError(
            f"The slug is {len(slug)} characters long; at most {SLUG_MAX_LENGTH} are allowed.",
            code="length",
        )
    if not _DNS_LABEL.match(slug):
        raise ValidationError(
            f"The slug {slug!r} is not a DNS label: use only a-z, 0-9 and '-', "
            "and start and end with a letter or digit.",
            code="dns",
        )
    if slug in RESERVED_SLUGS:
        raise ValidationError(f"The slug {slug!r} is reserved.", code="reserved")
