"""Checking a KYC upload by its content: JPEG, PNG or WebP images that decode, or PDFs that
parse, within the size limits; everything else refused with a message the client can act on.

The file name and the browser's content type are never trusted. The type comes from the
bytes (``filetype``'s signatures), and then the whole file must be what it claims: images are
decoded by Pillow, PDFs parsed by pypdf. Files that are two things at once (polyglots: a
picture with an archive or a web page attached, a PDF that is also a ZIP) are refused, as are
PDFs with active content (JavaScript, launch actions, embedded files).
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass

import filetype
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError

# content type → (Pillow format or "PDF", stored extension)
ACCEPTED: dict[str, tuple[str, str]] = {
    "image/jpeg": ("JPEG", "jpg"),
    "image/png": ("PNG", "png"),
    "image/webp": ("WEBP", "webp"),
    "application/pdf": ("PDF", "pdf"),
}
MAX_SIDE_PX = 12_000
MAX_PIXELS = 60_000_000
MAX_PDF_PAGES = 30
# Markup and script openers: a web page or script must never pass as a picture or a PDF.
_MARKUP = re.compile(
    rb"<\s*(?:svg|html|script|iframe|object|embed|body|head|meta|xml|\?php|\?xml)\b|<!doctype",
    re.IGNORECASE,
)
# PDF names that make a document act on its own when opened.
_ACTIVE_PDF = re.compile(rb"/(?:JavaScript|JS|Launch|EmbeddedFile|EmbeddedFiles|RichMedia|XFA)\b")
_ZIP_END = b"PK\x05\x06"
_ZIP_TAIL = 65_536 + 22  # a ZIP reader looks for its directory in this many last bytes
_FAMILIES = {
    "application/zip": "archive",
    "application/x-tar": "archive",
    "application/x-rar-compressed": "archive",
    "application/gzip": "archive",
    "application/x-bzip2": "archive",
    "application/x-7z-compressed": "archive",
    "application/x-xz": "archive",
    "application/zstd": "archive",
    "application/vnd.ms-cab-compressed": "archive",
    "application/x-msdownload": "program",
    "application/x-executable": "program",
    "application/wasm": "program",
    "application/x-deb": "program",
    "application/x-rpm": "program",
}


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed every check, with what the checks found out."""

    data: bytes
    content_type: str
    extension: str
    sha256: str
    width_px: int | None = None
    height_px: int | None = None
    page_count: int | None = None


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def _accepted_text() -> str:
    return _("Upload a photo or scan as JPEG, PNG or WebP, or a PDF.")


def upload_check(data: bytes, *, max_bytes: int) -> CheckedFile:
    """``data`` as a checked file, or ``ValidationError`` with a code and a clear message."""
    if not data:
        raise _refuse(_("The file is empty."), "empty")
    if len(data) > max_bytes:
        raise _refuse(
            _("The file is %(size)s; files can be at most %(limit)s.")
            % {"size": _megabytes(len(data)), "limit": _megabytes(max_bytes)},
            "too_large",
        )
    content_type = _sniff(data)
    _no_second_file(data, content_type)
    if content_type == "application/pdf":
        return _pdf_checked(data)
    return _image_checked(data, content_type)


def _megabytes(size: int) -> str:
    return _("%(mb).1f MB") % {"mb": size / (1024 * 1024)}


def _sniff(data: bytes) -> str:
    kind = filetype.guess(data)
    if kind is None:
        head = data[:4096].lstrip(b"\xef\xbb\xbf\x00\t\r\n ")
        if _MARKUP.search(head[:1024]):
            raise _refuse(
                _("This is a web page or SVG drawing, not a document. %(a)s")
                % {"a": _accepted_text()},
                "markup",
            )
        if head.startswith(b"#!"):
            raise _refuse(
                _("This is a script, not a document. %(a)s") % {"a": _accepted_text()}, "script"
            )
        raise _refuse(
            _("We could not recognise this file. %(a)s") % {"a": _accepted_text()}, "unknown"
        )
    if kind.mime in ACCEPTED:
        return kind.mime
    family = _FAMILIES.get(kind.mime)
    if family == "archive":
        raise _refuse(
            _("This is an archive (%(ext)s); upload each document on its own. %(a)s")
            % {"ext": kind.extension.upper(), "a": _accepted_text()},
            "archive",
        )
    if family == "program":
        raise _refuse(_("This is a program, not a document. %(a)s") % {"a": _accepted_text()},
                      "program")  # fmt: skip
    raise _refuse(
        _("%(ext)s files are not accepted. %(a)s")
        % {"ext": kind.extension.upper(), "a": _accepted_text()},
        "type",
    )


def _no_second_file(data: bytes, content_type: str) -> None:
    """Refuse polyglots: markup anywhere, an archive directory at the end, a PDF in a picture."""
    if _MARKUP.search(data):
        raise _refuse(
            _("This file has a web page or script hidden inside it and cannot be accepted."),
            "polyglot",
        )
    if _ZIP_END in data[-_ZIP_TAIL:]:
        raise _refuse(
            _("This file has an archive attached to it and cannot be accepted."), "polyglot"
        )
    if content_type != "application/pdf" and b"%PDF-" in data:
        raise _refuse(
            _("This picture has a PDF attached to it and cannot be accepted."), "polyglot"
        )


def _image_checked(data: bytes, content_type: str) -> CheckedFile:
    expected_format, extension = ACCEPTED[content_type]
    unreadable = _refuse(
        _("This picture is damaged or incomplete and cannot be read. %(a)s")
        % {"a": _accepted_text()},
        "corrupt",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if image.format != expected_format:
                raise unreadable
            if max(width, height) > MAX_SIDE_PX or width * height > MAX_PIXELS:
                raise _refuse(
                    _("The picture is %(w)s×%(h)s pixels; at most %(max)s on each side.")
                    % {"w": width, "h": height, "max": MAX_SIDE_PX},
                    "too_large",
                )
            image.load()  # decode every pixel: a truncated or forged file fails here
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(
            _("The picture has too many pixels to be opened safely; take a smaller photo."),
            "too_large",
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise unreadable from None
    _nothing_after_image(data, content_type)
    return CheckedFile(
        data=data,
        content_type=content_type,
        extension=extension,
        sha256=hashlib.sha256(data).hexdigest(),
        width_px=width,
        height_px=height,
    )


def _nothing_after_image(data: bytes, content_type: str) -> None:
    """Another recognisable file appended after the picture's end is a polyglot."""
    end = None
    if content_type == "image/png":
        marker = data.rfind(b"IEND")
        end = marker + 8 if marker >= 0 else None
    elif content_type == "image/jpeg":
        marker = data.rfind(b"\xff\xd9")
        end = marker + 2 if marker >= 0 else None
    if end is None or end >= len(data):
        return
    trailer = data[end:]
    if trailer.strip(b"\x00\r\n\t ") and filetype.guess(trailer) is not None:
        raise _refuse(
            _("This picture has another file attached to it and cannot be accepted."),
            "polyglot",
        )


def _pdf_checked(data: bytes) -> CheckedFile:
    damaged = _refuse(
        _("This PDF is damaged or incomplete and cannot be opened. %(a)s")
        % {"a": _accepted_text()},
        "corrupt",
    )
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-2048:]:
        raise damaged
    if _ACTIVE_PDF.search(data):
        raise _refuse(_active_pdf_text(), "active_content")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=True)
            if reader.is_encrypted:
                raise _refuse(
                    _("This PDF is protected by a password. Save it without the password "
                      "and upload it again."),
                    "encrypted",
                )  # fmt: skip
            pages = len(reader.pages)
            for page in reader.pages:
                page.mediabox.width  # noqa: B018 - reading each page's box parses it
            active = _pdf_catalog_is_active(reader)
    except ValidationError:
        raise
    except (PyPdfError, ValueError, TypeError, KeyError, AttributeError, IndexError,
            AssertionError, RecursionError, OSError, ZeroDivisionError):  # fmt: skip
        raise damaged from None
    if active:
        raise _refuse(_active_pdf_text(), "active_content")
    if pages < 1:
        raise damaged
    if pages > MAX_PDF_PAGES:
        raise _refuse(
            _("This PDF has %(n)s pages; upload at most %(max)s.")
            % {"n": pages, "max": MAX_PDF_PAGES},
            "too_large",
        )
    return CheckedFile(
        data=data,
        content_type="application/pdf",
        extension="pdf",
        sha256=hashlib.sha256(data).hexdigest(),
        page_count=pages,
    )


def _active_pdf_text() -> str:
    return _("This PDF contains scripts, attachments or actions. Print it to a new PDF or "
             "scan it, and upload that.")  # fmt: skip


def _pdf_catalog_is_active(reader: PdfReader) -> bool:
    """Active entries of the catalog, also when they sit in compressed object streams."""
    root = reader.trailer["/Root"]
    names = root.get("/Names")
    names = names.get_object() if names is not None else {}
    if "/JavaScript" in names or "/EmbeddedFiles" in names:
        return True
    if "/AA" in root:
        return True
    action = root.get("/OpenAction")
    if action is not None:
        action = action.get_object()
        if hasattr(action, "get") and action.get("/S") in ("/JavaScript", "/Launch"):
            return True
    form = root.get("/AcroForm")
    return form is not None and "/XFA" in form.get_object()
