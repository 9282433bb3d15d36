"""`brokerdesk tenant …` from the shell: clear messages, nothing created on bad input."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import CommandError, call_command

from brokerdesk.tenants.models import Tenant
from support.tenants import tenant_destroy


def _tenant(*args: str) -> str:
    out = io.StringIO()
    call_command("tenant", *args, stdout=out)
    return out.getvalue()


def test_create_inline_prints_the_url_once_active(committed):
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    try:
        output = _tenant(
            "create",
            "--slug",
            slug,
            "--name",
            "CLI FX",
            "--owner-email",
            "o@cli.example",
            "--inline",
            "--primary-color",
            "#abcdef",
        )

        assert output.strip() == f"http://{slug}.localhost/"
        tenant = Tenant.objects.get(slug=slug)
        assert tenant.status == "active" and tenant.branding == {"primary_color": "#abcdef"}
        assert f"{slug:<24} active" in _tenant("list")
    finally:
        tenant_destroy(Tenant.objects.get(slug=slug))


def test_create_for_an_existing_slug_reports_its_state(public_db, test_tenant):
    output = _tenant("create", "--slug", "test", "--name", "X", "--owner-email", "x@y.example")

    assert output.splitlines() == ["tenant test already exists: active", "http://test.localhost/"]


def test_create_with_a_reserved_slug_fails_with_the_reason(public_db):
    before = Tenant.objects.count()

    with pytest.raises(CommandError, match="slug: The slug 'admin' is reserved."):
        _tenant("create", "--slug", "admin", "--name", "X", "--owner-email", "x@y.example")

    assert Tenant.objects.count() == before
