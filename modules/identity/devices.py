"""Devices and locations of sign-ins, and the "new device" signal later rules ask for.

A device is a browser, recognised by a random long-lived cookie (only its hash is stored):
user agents are shared by millions of browsers and change with every update, so they are only
used for the label shown to people. There is no offline GeoIP database in this deployment, so
the location is what can be said honestly: "local" for loopback and private addresses, the
country a trusted proxy names in ``settings.LOGIN_COUNTRY_HEADER`` when one is configured, and
otherwise unknown ("").
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import django.dispatch
import pycountry
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.identity.lockout import client_ip, security_audit
from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.security_models import Device, LoginEvent

DEVICE_COOKIE = "bd_device"
DEVICE_COOKIE_AGE = 2 * 365 * 24 * 3600
LOCAL = "local"

# Sent after a sign-in from a device the user had not used before (sender: LoginEvent).
new_device_login = django.dispatch.Signal()

_BROWSERS = [
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/|Chromium/")),
    ("Safari", re.compile(r"Safari/")),
]
_SYSTEMS = [
    ("Android", re.compile(r"Android")),
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Linux", re.compile(r"Linux|X11")),
]


def device_label(user_agent: str) -> str:
    """A short label such as "Chrome on Linux" (never the raw string: it is unreadable)."""
    browser = next((name for name, rx in _BROWSERS if rx.search(user_agent)), "")
    system = next((name for name, rx in _SYSTEMS if rx.search(user_agent)), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


def location_of(request: HttpRequest, ip: str) -> str:
    """ "local", a country code from the trusted proxy header, or "" when nobody can tell."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if address.is_loopback or address.is_private or address.is_link_local:
        return LOCAL
    header = settings.LOGIN_COUNTRY_HEADER
    if header:
        code = str(request.META.get("HTTP_" + header.upper().replace("-", "_"), "")).upper()
        if pycountry.countries.get(alpha_2=code) is not None:
            return code
    return ""


def location_name(code: str) -> str | Promise:
    """The words shown for a stored location code (lazy: translated where it is rendered)."""
    if code == LOCAL:
        return _("Local network")
    country = pycountry.countries.get(alpha_2=code) if code else None
    return country.name if country is not None else _("Unknown")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class LoginRecorded:
    event: LoginEvent
    cookie_key: str | None  # a new device cookie value to set, or None to keep the current


def login_record(*, request: HttpRequest, user: User, face: str) -> LoginRecorded:
    """Record a successful sign-in; on a new device, raise the signal and e-mail the user."""
    now = timezone.now()
    ip = client_ip(request)
    location = location_of(request, ip)
    user_agent = str(request.META.get("HTTP_USER_AGENT", ""))[:512]
    key = request.COOKIES.get(DEVICE_COOKIE, "")
    device = Device.objects.filter(user=user, key_hash=_hash(key)).first() if key else None
    new_cookie = None
    if device is None:
        had_devices = Device.objects.filter(user=user).exists()
        # Keep the browser's cookie when it has one (another user of the same browser set
        # it), so one browser is one device for everyone who uses it.
        if not key or len(key) > 64:
            key = secrets.token_urlsafe(32)
            new_cookie = key
        device = Device.objects.create(
            user=user,
            key_hash=_hash(key),
            label=device_label(user_agent),
            user_agent=user_agent,
            first_seen_at=now,
            last_seen_at=now,
            last_ip=ip or None,
            last_location=location,
            flagged_new=had_devices,
        )
        is_new = had_devices
    else:
        Device.objects.filter(pk=device.pk).update(
            last_seen_at=now, last_ip=ip or None, last_location=location, user_agent=user_agent
        )
        is_new = False
    event = LoginEvent.objects.create(
        user=user,
        device=device,
        at=now,
        face=face,
        ip=ip or None,
        location=location,
        user_agent=user_agent,
        new_device=is_new,
    )
    if is_new:
        _new_device_notify(request=request, user=user, event=event)
        new_device_login.send(sender=LoginEvent, event=event, user=user)
    return LoginRecorded(event=event, cookie_key=new_cookie)


def _new_device_notify(*, request: HttpRequest, user: User, event: LoginEvent) -> None:
    from brokerdesk.modules.notifications.services import email_queue

    security_audit(
        actor=user,
        action="identity.new_device_login",
        target=user,
        after={"device": event.device.label, "ip": event.ip, "location": event.location},
    )
    email_queue(
        to=user.email,
        template="new_device",
        context={
            "device": event.device.label,
            "ip": event.ip or "",
            "location": location_name(event.location),
            "at": event.at,
            "devices_url": request.build_absolute_uri(reverse("portal:devices")),
        },
        user=user,
    )


def device_cookie_set(response: HttpResponseBase, key: str) -> None:
    """The device cookie: host-only, HTTP-only, long-lived (it is the device's identity)."""
    response.set_cookie(
        DEVICE_COOKIE,
        key,
        max_age=DEVICE_COOKIE_AGE,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )


def device_is_new(user: User, *, within: timedelta = timedelta(days=7)) -> bool:
    """The "new device" signal for later rules (withdrawal risk, KYC risk).

    True when the user's latest sign-in came from a device flagged new (the user had others)
    that first appeared less than ``within`` ago.
    """
    latest = LoginEvent.objects.filter(user=user).select_related("device").first()
    if latest is None:
        return False
    device = latest.device
    return device.flagged_new and device.first_seen_at >= timezone.now() - within


def devices_of(user: User) -> list[Device]:
    """A user's devices, most recently used first, each with ``location_name`` set."""
    found = list(Device.objects.filter(user=user).order_by("-last_seen_at"))
    for device in found:
        device.location_name = location_name(device.last_location)  # type: ignore[attr-defined]
    return found


def logins_of(user: User, *, limit: int = 20) -> list[LoginEvent]:
    """A user's latest sign-ins, newest first."""
    found = list(LoginEvent.objects.filter(user=user).select_related("device")[:limit])
    for event in found:
        event.location_name = location_name(event.location)  # type: ignore[attr-defined]
    return found
