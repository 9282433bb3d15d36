"""Branding images and legal documents in the default storage (tenant-prefixed S3 in
production). Names are random, so a new upload never overwrites one a page still shows."""

from __future__ import annotations

import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def file_store(*, folder: str, data: bytes, extension: str) -> str:
    """Save ``data`` under a fresh name and return the name the storage chose."""
    name = f"tenant-config/{folder}/{uuid.uuid4().hex}.{extension}"
    return default_storage.save(name, ContentFile(data))


def file_delete(name: str) -> None:
    """Remove a file that is no longer referenced; a missing file is not an error."""
    if name:
        default_storage.delete(name)


def file_read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()
