"""Named regions a routing rule may use instead of listing countries (ISO 3166-1 alpha-2)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

REGIONS: dict[str, tuple[object, frozenset[str]]] = {
    "eu": (
        _("European Union"),
        frozenset(
            "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
        ),
    ),
    "dach": (_("Germany, Austria, Switzerland"), frozenset({"DE", "AT", "CH"})),
    "uk_ie": (_("United Kingdom and Ireland"), frozenset({"GB", "IE"})),
    "gcc": (_("Gulf states"), frozenset({"AE", "BH", "KW", "OM", "QA", "SA"})),
    "mena": (
        _("Middle East and North Africa"),
        frozenset("AE BH DZ EG IQ JO KW LB LY MA OM PS QA SA SY TN YE".split()),
    ),
    "latam": (
        _("Latin America"),
        frozenset("AR BO BR CL CO CR CU DO EC GT HN MX NI PA PE PY SV UY VE".split()),
    ),
    "sea": (
        _("South-East Asia"),
        frozenset("BN KH ID LA MY MM PH SG TH TL VN".split()),
    ),
    "africa_sub": (
        _("Sub-Saharan Africa"),
        frozenset("AO BW CM CI ET GH KE MZ NA NG RW SN TZ UG ZA ZM ZW".split()),
    ),
}


def region_countries(codes: list[str]) -> frozenset[str]:
    """Every country of the named regions (unknown names contribute nothing)."""
    found: set[str] = set()
    for code in codes:
        if code in REGIONS:
            found |= REGIONS[code][1]
    return frozenset(found)


def region_choices() -> list[tuple[str, object]]:
    return [(code, label) for code, (label, _countries) in REGIONS.items()]
