"""Typed readers of environment variables that fail fast, naming the variable."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class _Missing:
    pass


MISSING: Any = _Missing()


def _raw(name: str, default: Any) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is MISSING:
            raise ImproperlyConfigured(f"{name} is required but not set")
        return None
    return value


def env_str(name: str, default: Any = MISSING) -> str:
    value = _raw(name, default)
    return default if value is None else value


def env_bool(name: str, default: Any = MISSING) -> bool:
    value = _raw(name, default)
    if value is None:
        return bool(default)
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: Any = MISSING, *, minimum: int | None = None) -> int:
    value = _raw(name, default)
    if value is None:
        return int(default)
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_choice(name: str, choices: tuple[str, ...], default: Any = MISSING) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def env_rate(name: str, default: Any = MISSING) -> str:
    """A rate limit such as "5/h" (count per s, m, h or d, optionally "5/10m")."""
    value = env_str(name, default)
    if not re.fullmatch(r"[1-9]\d*/\d*[smhd]", value):
        raise ImproperlyConfigured(f"{name} must look like 5/h or 30/10m, not {value!r}")
    return value


def env_list(name: str, default: Any = MISSING) -> list[str]:
    value = _raw(name, default)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class DatabaseUrl:
    name: str
    user: str
    password: str
    host: str
    port: str


def parse_database_url(name: str, value: str) -> DatabaseUrl:
    """Parse ``postgresql://user:pass@host:port/db`` (``?host=/socket/dir`` allowed)."""
    parts = urlsplit(value)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(
            f"{name} must be a postgresql:// URL, got scheme {parts.scheme!r}"
        )
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ImproperlyConfigured(f"{name} must name a database (…/<dbname>)")
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or ""])[0]
    try:
        port = str(parts.port or "")
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port") from None
    return DatabaseUrl(
        name=database,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        host=host,
        port=port,
    )


def env_database(name: str) -> DatabaseUrl:
    return parse_database_url(name, env_str(name))


def env_redis_url(name: str) -> str:
    value = env_str(name)
    parts = urlsplit(value)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"{name} must be a redis:// URL, got {value!r}")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port") from None
    return value
