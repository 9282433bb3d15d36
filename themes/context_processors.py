"""What every page's layout needs: the tenant's brand and the files of its base theme."""

from __future__ import annotations

from urllib.parse import quote

from django.http import HttpRequest

from brokerdesk.tenants.branding import BASE_THEMES, Brand, current_branding


def theme(request: HttpRequest) -> dict[str, object]:
    """``brand``, its base theme's stylesheet and a favicon (the uploaded one, or a drawn one)."""
    brand = current_branding(request)
    base_theme = brand.base_theme if brand.base_theme in BASE_THEMES else BASE_THEMES[0]
    return {
        "brand": brand,
        "base_theme": base_theme,
        "theme_stylesheet": f"brokerdesk/themes/{base_theme}.css",
        "favicon_href": brand.favicon_url or favicon_drawn(brand),
    }


def favicon_drawn(brand: Brand) -> str:
    """An SVG data URL: the brand's initial on its primary colour, so every broker's tab differs."""
    initial = (brand.name.strip()[:1] or "B").upper()
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'>"
        f"<rect width='32' height='32' rx='8' fill='{brand.primary_color}'/>"
        "<text x='16' y='22.5' font-family='system-ui,sans-serif' font-size='19' font-weight='700'"
        f" text-anchor='middle' fill='#fff'>{_xml_text(initial)}</text></svg>"
    )
    return "data:image/svg+xml," + quote(svg, safe="=:/',")


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
