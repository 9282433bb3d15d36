"""Where a lead came from: captured at the first touch on the Trader's Room, attached at
registration.

The first page a visitor lands on with campaign parameters (``utm_*``), an IB's referral code
(``ref``) or an outside referrer is kept in the session; later visits never overwrite it (first
touch wins). Visits with nothing to attribute store nothing, so plain visitors get no session.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

SESSION_KEY = "crm_first_touch"
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
REFERRAL_PARAMS = ("ref", "ib")
_REFERRAL = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Faces and files that are not a landing page of the Trader's Room.
_NOT_LANDING = ("/backoffice/", "/partners/", "/api/", "/static/", "/healthz", "/i18n/")


@dataclass(frozen=True)
class Source:
    """A first touch: campaign parameters, landing page, referral code, language, country."""

    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_term: str = ""
    utm_content: str = ""
    landing_page: str = ""
    referrer: str = ""
    referral_code: str = ""
    language: str = ""
    country: str = ""
    at: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _clip(value: str, size: int) -> str:
    return value.strip()[:size]


def _external_referrer(request: HttpRequest) -> str:
    referrer = str(request.META.get("HTTP_REFERER", ""))
    host = urlsplit(referrer).hostname or ""
    if not host or host == request.get_host().split(":")[0]:
        return ""
    return referrer[:500]


def _country(request: HttpRequest) -> str:
    from brokerdesk.modules.identity.devices import LOCAL, location_of
    from brokerdesk.modules.identity.lockout import client_ip

    code = location_of(request, client_ip(request))
    return "" if code == LOCAL else code


def source_from_request(request: HttpRequest) -> Source | None:
    """The first touch this request carries, or None when it carries nothing to attribute."""
    params = request.GET
    utm = {name: _clip(params.get(name, ""), 100) for name in UTM_FIELDS}
    referral = next(
        (params[name] for name in REFERRAL_PARAMS if _REFERRAL.fullmatch(params.get(name, ""))),
        "",
    )
    referrer = _external_referrer(request)
    if not any(utm.values()) and not referral and not referrer:
        return None
    return Source(
        **utm,
        landing_page=request.build_absolute_uri()[:500],
        referrer=referrer,
        referral_code=referral,
        language=getattr(request, "LANGUAGE_CODE", "") or "",
        country=_country(request),
        at=timezone.now().isoformat(),
    )


def source_of_session(request: HttpRequest | None) -> Source | None:
    """The first touch kept in the visitor's session, if any."""
    session = getattr(request, "session", None)
    data = session.get(SESSION_KEY) if session is not None else None
    if not isinstance(data, dict):
        return None
    known = {key: value for key, value in data.items() if key in Source.__dataclass_fields__}
    return Source(**known)


class FirstTouchMiddleware:
    """Keeps a Trader's Room visitor's first attributable touch in the session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self._capture(request)
        return self.get_response(request)

    @staticmethod
    def _capture(request: HttpRequest) -> None:
        if request.method != "GET" or request.path.startswith(_NOT_LANDING):
            return
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is None or (user is not None and user.is_authenticated):
            return
        if SESSION_KEY in session:
            return
        source = source_from_request(request)
        if source is not None:
            session[SESSION_KEY] = source.as_dict()
