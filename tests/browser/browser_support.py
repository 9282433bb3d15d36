"""Constants and the broker record shared by the browser tests and their fixtures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "browser-tests-Pa55word"
# Playwright starts Chromium with a fresh temporary --user-data-dir of its own on every launch.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class Broker:
    """A committed tenant with one user per face."""

    slug: str
    name: str
    primary_color: str
    accent_color: str
    tagline: str
    tenant: Any = None

    @property
    def host(self) -> str:
        return f"{self.slug}.{settings.PLATFORM_DOMAIN}"

    def email(self, kind: str) -> str:
        return f"{kind}@{self.slug}.example"


BROKERS = (
    Broker("acme-ui", "Acme FX", "#e4572e", "#1b1b3a", "Tight spreads, fast fills."),
    Broker("zenith-ui", "Zenith Markets", "#17a398", "#0b3954", "Trade from the top."),
)
