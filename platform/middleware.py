"""Input no field can hold, refused before any view sees it."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

MESSAGE = "Null characters (U+0000) are not allowed in the query."


class NullCharacterMiddleware:
    """400 for a request whose query fields (names or values) carry a NUL character.

    PostgreSQL text cannot hold one, so a filter read straight from the query failed deep
    inside a view as a 500 (``?state=%00`` on the KYC case list, found by
    tests/contract/test_api_fuzz.py); no legitimate link carries one. Posted fields are left
    to the forms and serializers that read them: Django's and DRF's text fields refuse NUL
    themselves, with a message on the field at fault."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in "".join(key + "".join(values) for key, values in request.GET.lists()):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": MESSAGE}, status=400)
            return HttpResponse(MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
