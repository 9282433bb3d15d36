"""Helpers shared by the configuration tests (imported as `support_config`)."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes_of(fmt: str = "PNG", size: tuple[int, int] = (32, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "#e4572e").save(buffer, format=fmt)
    return buffer.getvalue()
