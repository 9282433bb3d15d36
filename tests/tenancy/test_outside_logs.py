"""Log lines carry the schema: a request's lines carry its host's schema."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django_tenants.log import TenantContextFilter


@contextmanager
def _console_log() -> Iterator[io.StringIO]:
    """What the configured console handler writes, captured."""
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, TenantContextFilter) for f in handler.filters)
    ]
    assert len(handlers) == 1, "LOGGING must put the schema filter on the console handler"
    buffer = io.StringIO()
    previous = handlers[0].setStream(buffer)
    try:
        yield buffer
    finally:
        handlers[0].setStream(previous)


def _message_part(line: str) -> str:
    """A formatted line without its timestamp (`YYYY-MM-DD HH:MM:SS,mmm `)."""
    return line.split(" ", 2)[2]


def test_a_log_line_of_a_request_carries_the_schema_of_its_host(db, client, test_tenant):
    path = f"/no-such-page-{uuid.uuid4().hex[:8]}/"
    with _console_log() as log:
        tenant_response = client.get(path, HTTP_HOST=test_tenant.get_primary_domain().domain)
        public_response = client.get(path, HTTP_HOST=settings.PLATFORM_DOMAIN)

    assert (tenant_response.status_code, public_response.status_code) == (404, 404)
    assert [_message_part(line) for line in log.getvalue().splitlines()] == [
        f"WARNING [{test_tenant.schema_name}] django.request: Not Found: {path}",
        f"WARNING [public] django.request: Not Found: {path}",
    ]
