"""Validation of tenant configuration values; each raises ``ValidationError`` with a message
a broker's admin can act on. Services call them; forms and the API only parse types."""

from __future__ import annotations

import io
import ipaddress
import re
import warnings
import zoneinfo
from dataclasses import dataclass
from typing import Any

import pycountry
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from PIL import Image, UnidentifiedImageError

from brokerdesk.platform.money import CURRENCY_EXPONENTS

_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_ACCOUNT_TYPE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

CUSTOM_CSS_MAX_CHARS = 20_000
MAX_LEVERAGE = 3000
MAX_GROUPS = 50


def colour_validate(value: str) -> str:
    """A CSS hex colour, ``#rgb`` or ``#rrggbb``; returned lower-case."""
    if not _COLOUR.match(value or ""):
        raise ValidationError(
            "Enter a colour as #rgb or #rrggbb, e.g. #1f6feb.", code="invalid_colour"
        )
    return value.lower()


def time_zone_validate(value: str) -> str:
    """An IANA time zone name that this system's zone database knows."""
    try:
        if not value or value != value.strip():
            raise ValueError(value)
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError(
            f"{value!r} is not a time zone; use an IANA name such as Europe/Nicosia.",
            code="invalid_time_zone",
        ) from None
    return value


def country_validate(value: str) -> str:
    """An ISO 3166-1 alpha-2 code of an existing country; returned upper-case."""
    code = (value or "").strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValidationError(
            f"{value!r} is not an ISO 3166-1 alpha-2 country code.", code="invalid_country"
        )
    return code


def countries_validate(values: Any) -> list[str]:
    """A list of country codes, de-duplicated and sorted; every bad code is named."""
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValidationError("Give a list of country codes.", code="invalid_countries")
    bad = [v for v in values if not _is_country(v)]
    if bad:
        raise ValidationError(
            f"Not ISO 3166-1 alpha-2 country codes: {', '.join(repr(v) for v in bad)}.",
            code="invalid_country",
        )
    return sorted({v.strip().upper() for v in values})


def _is_country(value: str) -> bool:
    try:
        country_validate(value)
    except ValidationError:
        return False
    return True


def currency_validate(value: str) -> str:
    """A currency the money table knows (ADR 0001): unknown codes are refused, never guessed."""
    if value not in CURRENCY_EXPONENTS:
        raise ValidationError(
            f"{value!r} is not a supported currency; use one of "
            f"{', '.join(sorted(CURRENCY_EXPONENTS))}.",
            code="invalid_currency",
        )
    return value


def leverage_validate(value: Any) -> int:
    """Maximum leverage as the x of 1:x, between 1 and 3000."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LEVERAGE:
        raise ValidationError(
            f"Enter the leverage as a whole number from 1 to {MAX_LEVERAGE} (30 means 1:30).",
            code="invalid_leverage",
        )
    return value


def host_validate(value: str) -> str:
    """A trading-server address: host name, IPv4 or IPv6, with an optional port.

    No scheme and no path: the gateway adds the scheme the platform speaks.
    """
    value = (value or "").strip()
    error = ValidationError(
        f"{value!r} is not a host: give a host name or IP address with an optional port, "
        "e.g. mt5.example.com:443 or [2001:db8::1]:443 (no https://, no path).",
        code="invalid_host",
    )
    if not value or len(value) > 260 or _CONTROL.search(value) or "/" in value or "@" in value:
        raise error
    host, port = _split_host_port(value, error)
    if port is not None and not 1 <= port <= 65535:
        raise error
    if not (_is_ip(host) or _is_hostname(host)):
        raise error
    return value.lower()


def _split_host_port(value: str, error: ValidationError) -> tuple[str, int | None]:
    if value.startswith("["):
        match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?", value)
        if not match or ":" not in match.group(1):
            raise error
        return match.group(1), int(match.group(2)) if match.group(2) else None
    if value.count(":") > 1:  # a bare IPv6 address cannot carry a port
        return value, None
    host, _, port = value.partition(":")
    if _ and not port.isdigit():
        raise error
    return host, int(port) if port else None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_hostname(host: str) -> bool:
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        return False
    # "10.0.0.999" looks like a name but is a mistyped address.
    return not labels[-1].isdigit()


def manager_login_validate(value: str, *, platform: str) -> str:
    """MT4/MT5 manager logins are numbers; other platforms use names."""
    value = (value or "").strip()
    if not value or len(value) > 64 or _CONTROL.search(value):
        raise ValidationError("Enter the manager login.", code="invalid_login")
    if platform in {"mt4", "mt5"} and not (value.isdigit() and 0 < int(value) < 2**63):
        raise ValidationError(
            "An MT4/MT5 manager login is a number, e.g. 1001.", code="invalid_login"
        )
    return value


def groups_validate(value: Any) -> dict[str, str]:
    """Group per account type: ``{"standard": "real\\\\forex\\\\standard", ...}``."""
    if not isinstance(value, dict):
        raise ValidationError(
            "Give the groups as an object mapping account type to group name.",
            code="invalid_groups",
        )
    if len(value) > MAX_GROUPS:
        raise ValidationError(f"At most {MAX_GROUPS} account types.", code="invalid_groups")
    for account_type, group in value.items():
        if not isinstance(account_type, str) or not _ACCOUNT_TYPE.match(account_type):
            raise ValidationError(
                f"{account_type!r} is not an account type: use a-z, 0-9, _ and -, "
                "at most 40 characters.",
                code="invalid_groups",
            )
        if not isinstance(group, str) or not group.strip() or len(group) > 64:
            raise ValidationError(
                f"The group of {account_type!r} must be a name of 1 to 64 characters.",
                code="invalid_groups",
            )
        if _CONTROL.search(group):
            raise ValidationError(
                f"The group of {account_type!r} contains control characters.",
                code="invalid_groups",
            )
    return {key: group.strip() for key, group in value.items()}


def https_url_validate(value: str) -> str:
    """A public https:// link (legal documents shown to clients)."""
    try:
        URLValidator(schemes=["https"])(value)
    except ValidationError:
        raise ValidationError("Enter a full https:// address.", code="invalid_url") from None
    return value


# --- Custom CSS -------------------------------------------------------------------------------

_CSS_COMMENT = re.compile(r"/\*.*?(\*/|$)", re.S)
_CSS_HEX_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})[ \t\n\r\f]?")
_CSS_ESCAPE = re.compile(r"\\(.)", re.S)
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.S | re.I)
_CSS_FORBIDDEN = (
    ("expression(", "expression() runs script in old browsers"),
    ("@import", "@import loads other style sheets"),
    ("javascript:", "javascript: URLs run script"),
    ("vbscript:", "vbscript: URLs run script"),
    ("behavior:", "behavior: loads script in old browsers"),
    ("-moz-binding", "-moz-binding loads script in old browsers"),
    ("image-set(", "image-set() can load images from other hosts"),
    ("src(", "src() can load files from other hosts"),
)


def custom_css_validate(value: str) -> str:
    """Custom CSS within safe limits.

    Refused: anything that runs script or loads from another host — ``expression(``,
    ``@import``, ``javascript:``, ``behavior:``, ``-moz-binding``, ``image-set(``, ``src(``,
    any ``<`` (``</style`` would end the style element), and ``url(`` unless it points to a
    path on the tenant's own host (``url(/branding/logo)``). CSS escapes and comments are
    decoded first, so ``u\\72l(`` is seen as ``url(``.
    """
    value = value or ""
    if len(value) > CUSTOM_CSS_MAX_CHARS:
        raise ValidationError(
            f"Custom CSS is limited to {CUSTOM_CSS_MAX_CHARS} characters.", code="css_too_long"
        )
    if "<" in value:
        raise ValidationError(
            "Custom CSS cannot contain '<' (it could end the style element with </style>).",
            code="css_forbidden",
        )
    normalised = _css_normalise(value)
    if "<" in normalised:
        raise ValidationError(
            "Custom CSS cannot contain '<', escaped or not.", code="css_forbidden"
        )
    lowered = normalised.lower()
    for token, why in _CSS_FORBIDDEN:
        if token in lowered:
            raise ValidationError(f"Custom CSS cannot use {token}: {why}.", code="css_forbidden")
    for match in _CSS_URL.finditer(normalised):
        if not _is_own_path(match.group(2).strip()):
            raise ValidationError(
                f"url({match.group(2).strip()}) points outside this site; custom CSS may only "
                "use paths on the broker's own host, such as url(/branding/logo).",
                code="css_forbidden",
            )
    if lowered.count("url(") != len(_CSS_URL.findall(normalised)):
        raise ValidationError("Custom CSS has a url( that is never closed.", code="css_forbidden")
    return value


def _css_normalise(value: str) -> str:
    # Comments are dropped, not spaced: old IE read expr/**/ession( as expression(.
    text = _CSS_COMMENT.sub("", value)
    text = _CSS_HEX_ESCAPE.sub(lambda m: _code_point(m.group(1)), text)
    text = _CSS_ESCAPE.sub(lambda m: "" if m.group(1) == "\n" else m.group(1), text)
    text = _CSS_COMMENT.sub("", text)
    # Whitespace before "(" or ":" must not hide a function or property from the checks.
    return re.sub(r"\s+\(", "(", re.sub(r"\s+:", ":", text))


def _code_point(hex_digits: str) -> str:
    number = int(hex_digits, 16)
    return chr(number) if 0 < number <= 0x10FFFF and not 0xD800 <= number <= 0xDFFF else "\ufffd"


def _is_own_path(target: str) -> bool:
    # A same-host absolute path: no scheme, no "//host", no backslash tricks, no data: URLs.
    return (
        target.startswith("/")
        and not target.startswith("//")
        and ":" not in target
        and "\\" not in target
        and not _CONTROL.search(target)
    )


# --- Images -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRules:
    max_bytes: int
    max_side_px: int
    formats: frozenset[str]


LOGO_RULES = ImageRules(
    max_bytes=1024 * 1024, max_side_px=2048, formats=frozenset({"PNG", "JPEG", "WEBP"})
)
FAVICON_RULES = ImageRules(
    max_bytes=256 * 1024, max_side_px=512, formats=frozenset({"PNG", "ICO", "WEBP"})
)
IMAGE_CONTENT_TYPES = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
    "ICO": ("image/x-icon", "ico"),
}


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    content_type: str
    extension: str


def image_validate(data: bytes, *, rules: ImageRules) -> CheckedImage:
    """Bytes that decode as one of the allowed raster formats, within the size limits.

    SVG is refused rather than sanitised: it is a document that can carry script, and a
    sanitiser is one more parser to get wrong. The type comes from the decoded bytes, never
    from the file name or the browser's content type.
    """
    allowed = ", ".join(sorted(rules.formats))
    if len(data) > rules.max_bytes:
        raise ValidationError(
            f"The image is larger than {rules.max_bytes // 1024} KB.", code="image_too_large"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image_format = image.format or ""
            width, height = image.size
            if image_format in rules.formats and max(width, height) <= rules.max_side_px:
                image.load()  # decode fully: a truncated or forged file fails here
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):  # fmt: skip
        raise ValidationError(
            f"This file is not an image we can read; upload {allowed} (SVG is not accepted).",
            code="not_an_image",
        ) from None
    if image_format not in rules.formats:
        raise ValidationError(
            f"{image_format or 'This'} images are not accepted; upload {allowed}.",
            code="image_format",
        )
    if max(width, height) > rules.max_side_px:
        raise ValidationError(
            f"The image is {width}×{height} pixels; at most {rules.max_side_px} on each side.",
            code="image_too_large",
        )
    content_type, extension = IMAGE_CONTENT_TYPES[image_format]
    return CheckedImage(data=data, content_type=content_type, extension=extension)


DOCUMENT_MAX_BYTES = 10 * 1024 * 1024


def pdf_validate(data: bytes) -> bytes:
    """Legal documents are PDFs: checked by their signature and size."""
    if len(data) > DOCUMENT_MAX_BYTES:
        raise ValidationError("The document is larger than 10 MB.", code="document_too_large")
    if not data.startswith(b"%PDF-"):
        raise ValidationError("Upload the document as a PDF.", code="not_a_pdf")
    return data


def text_validate(value: Any, *, label: str, max_length: int, required: bool = True) -> str:
    """A single-line text value: trimmed, no control characters, within its length."""
    if not isinstance(value, str):
        raise ValidationError(f"Enter the {label} as text.", code="invalid")
    value = value.strip()
    if required and not value:
        raise ValidationError(f"Enter the {label}.", code="required")
    if len(value) > max_length:
        raise ValidationError(
            f"The {label} is limited to {max_length} characters.", code="max_length"
        )
    if _CONTROL.search(value):
        raise ValidationError(f"The {label} contains control characters.", code="invalid")
    return value
