"""Vendored front-end libraries match the hashes in their manifest, and pages use them."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

VENDOR = Path(__file__).resolve().parents[2] / "themes" / "static" / "vendor"
ROW = re.compile(r"^\| (\S+) \| (\S+) \| (\S+) \| ([0-9a-f]{64}) \|$", re.M)


def _manifest() -> list[tuple[str, str, str, str]]:
    return ROW.findall((VENDOR / "README.md").read_text())


def test_the_manifest_lists_every_vendored_file():
    listed = {path for _, _, path, _ in _manifest()}
    present = {str(path.relative_to(VENDOR)) for path in VENDOR.rglob("*") if path.is_file()} - {
        "README.md"
    }

    assert listed == present and len(listed) >= 4


@pytest.mark.parametrize(("package", "version", "path", "sha256"), _manifest())
def test_each_vendored_file_has_its_recorded_hash(package, version, path, sha256):
    data = (VENDOR / path).read_bytes()

    assert hashlib.sha256(data).hexdigest() == sha256
    if path == "htmx/htmx.min.js":
        assert f'version:"{version}"'.encode() in data


def test_every_page_loads_htmx_and_its_sse_extension_from_this_site(tenant_client):
    html = tenant_client.get("/").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', html)

    assert "/static/vendor/htmx/htmx.min.js" in scripts
    assert "/static/vendor/htmx_ext_sse/sse.min.js" in scripts
    assert all(src.startswith("/static/") for src in scripts)
    for src in scripts:
        assert finders.find(src.removeprefix("/static/")), src
