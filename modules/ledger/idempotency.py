"""The ``Idempotency-Key`` header on money-moving API requests (DESIGN.md §9, Stripe semantics).

Same actor + same key + same request → the first response replayed (header
``Idempotent-Replayed: true``), however often and however concurrently it is sent; same key
with another request → 422 and no effect. Keys are per actor: another user's identical key
is another key. The key row is written in the request's own transaction (the transaction
*is* the request: nothing here calls outside systems), so a refused request (4xx) or a
crash leaves no key behind and can be retried with the same key.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable

from django.db import connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from brokerdesk.modules.audit.services import json_normalise
from brokerdesk.modules.ledger.models import IdempotentRequest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX = 255


class _Refused(Exception):
    """Carries a 4xx response out of the transaction so the key row rolls back with it."""

    def __init__(self, response: Response) -> None:
        self.response = response


def request_key(request: Request) -> str:
    """The client's key, or a fresh one when the header is absent (no retry protection)."""
    return request.headers.get(HEADER, "").strip() or f"auto-{uuid.uuid4()}"


def _fingerprint(request: Request) -> str:
    body = json.dumps(json_normalise(request.data), sort_keys=True, separators=(",", ":"))
    content = f"{request.method}\n{request.path}\n{body}"
    return hashlib.sha256(content.encode()).hexdigest()


def _claim(request: Request, key: str, fingerprint: str) -> IdempotentRequest | None:
    """Insert the key row; None when this actor's key exists (after its first use committed)."""
    with connection.cursor() as cursor:
        # A concurrent request with the same key waits here until the first one commits.
        cursor.execute(
            f"INSERT INTO {IdempotentRequest._meta.db_table} "
            "(actor_id, key, method, path, request_sha256, response_body, created_at) "
            "VALUES (%s, %s, %s, %s, %s, '', %s) ON CONFLICT (actor_id, key) DO NOTHING RETURNING id",
            [request.user.pk, key, request.method, request.path[:300], fingerprint,
             timezone.now()],
        )  # fmt: skip
        row = cursor.fetchone()
    return IdempotentRequest(id=row[0]) if row else None


def _rendered(status: int, content: bytes, **headers: str) -> HttpResponse:
    response = HttpResponse(content, status=status, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    return response


def idempotent(request: Request, handler: Callable[[str], Response]) -> HttpResponse | Response:
    """Run ``handler(key)`` once per (actor, key); replay or refuse every later use."""
    key = request_key(request)
    if len(key) > KEY_MAX:
        detail = _("The Idempotency-Key header is at most %(max)d characters.") % {"max": KEY_MAX}
        return Response({"idempotency_key": [detail]}, status=400)
    fingerprint = _fingerprint(request)
    try:
        with transaction.atomic():
            claimed = _claim(request, key, fingerprint)
            if claimed is None:
                return _replay(request, key, fingerprint)
            response = handler(key)
            if response.status_code >= 400:
                raise _Refused(response)
            content = JSONRenderer().render(response.data)
            IdempotentRequest.objects.filter(pk=claimed.pk).update(
                status_code=response.status_code, response_body=content.decode()
            )
    except _Refused as refused:
        return refused.response
    return _rendered(response.status_code, content)


def _replay(request: Request, key: str, fingerprint: str) -> HttpResponse | Response:
    stored = IdempotentRequest.objects.get(actor_id=request.user.pk, key=key)
    if stored.request_sha256 != fingerprint:
        return Response(
            {
                "code": "idempotency_key_reused",
                "detail": _(
                    "This Idempotency-Key was already used for a different request; "
                    "use a new key for a new request."
                ),
            },
            status=422,
        )
    return _rendered(stored.status_code, stored.response_body.encode(), **{REPLAYED_HEADER: "true"})
