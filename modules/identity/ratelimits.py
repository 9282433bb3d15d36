"""Rate limits on what an anonymous visitor can make the broker send: registrations, password
reset requests and verification re-sends (ADR 0020).

Each attempt counts against the source address and against the e-mail address it names;
either over its limit refuses the attempt with ``RateLimited`` (pages and the API answer
429 with its message and a ``Retry-After``). Counting is django-ratelimit's fixed-window
counter in the cache, i.e. Redis, and the cache's keys are per tenant (ADR 0012), so one
broker's traffic never uses up another's allowance. The e-mail counter applies whether or
not the address has an account, so a refusal says nothing about who is registered.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import ngettext
from django_ratelimit.core import get_usage

from brokerdesk.modules.identity.lockout import client_ip

REGISTER = "register"
PASSWORD_RESET = "password_reset"
VERIFICATION_RESEND = "verification_resend"
ACTIONS = (REGISTER, PASSWORD_RESET, VERIFICATION_RESEND)


class RateLimited(Exception):
    """Too many attempts of one action from one source or for one address."""

    def __init__(self, *, retry_after_s: int) -> None:
        self.retry_after_s = max(1, retry_after_s)
        minutes = max(1, math.ceil(self.retry_after_s / 60))
        self.message = ngettext(
            "Too many attempts. Please wait %(minutes)d minute and try again.",
            "Too many attempts. Please wait %(minutes)d minutes and try again.",
            minutes,
        ) % {"minutes": minutes}
        super().__init__(self.message)


@dataclass(frozen=True)
class Limit:
    """One counter: its name and rate ("5/h": five attempts an hour)."""

    dimension: str
    rate: str
    value: str


def _source(request: HttpRequest) -> str:
    # IPv6 users usually own a whole /64: counting single addresses would let one person
    # rotate through billions of them.
    ip = client_ip(request)
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return ip


def rate_limit_check(*, request: HttpRequest, action: str, email: str) -> None:
    """Count one ``action`` attempt; raise ``RateLimited`` when a limit is exceeded."""
    rates = settings.IDENTITY_RATE_LIMITS[action]
    limits = [
        Limit("source", rates["source"], _source(request)),
        Limit("email", rates["email"], email.strip().lower()),
    ]
    waits = []
    for limit in limits:
        usage = get_usage(
            request,
            group=f"identity.{action}.{limit.dimension}",
            key=lambda _group, _request, value=limit.value: value,
            rate=limit.rate,
            increment=True,
        )
        if usage is not None and usage["should_limit"]:
            waits.append(usage["time_left"])
    if waits:
        raise RateLimited(retry_after_s=max(waits))
