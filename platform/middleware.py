"""Input no field can hold, refused before any view sees it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict

MESSAGE = "Null characters (U+0000) are not allowed in the request's fields."


def _has_nul(fields: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values)
               for key, values in fields.lists())  # fmt: skip


def _refusal(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": MESSAGE}, status=400)
    return HttpResponse(MESSAGE, status=400, content_type="text/plain; charset=utf-8")


class NullCharacterMiddleware:
    """400 for a request whose query fields — or, for a page form, whose posted fields —
    carry a NUL character. PostgreSQL text cannot hold one, so a filter or a save with it
    failed deep inside a view as a 500 (``?state=%00`` on the KYC case list, found by
    tests/contract/test_api_fuzz.py); no legitimate client sends one.

    Posted fields are read only for views CSRF protects (the CSRF check reads them right
    after anyway); CSRF-exempt views — the API, whose serializers refuse NUL themselves, and
    signed callbacks, which read their raw body — are left theirs unread."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request.GET):
            return _refusal(request)
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable[..., Any], args: Any,
                     kwargs: Any) -> HttpResponse | None:  # fmt: skip
        if request.method != "POST" or getattr(view, "csrf_exempt", False):
            return None
        return _refusal(request) if _has_nul(request.POST) else None
