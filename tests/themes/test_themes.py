"""Tenant branding reaches every face through CSS custom properties; two base themes; the
broker's custom CSS last; a layout that mirrors for right-to-left languages."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.template.loader import render_to_string

from brokerdesk.tenants.branding import BASE_THEMES, Brand
from brokerdesk.tenants.config.services import branding_update
from brokerdesk.themes import context_processors
from brokerdesk.themes.context_processors import favicon_drawn

STATIC = Path(__file__).resolve().parents[2] / "themes" / "static" / "brokerdesk"
HOMES = {"client": "/", "staff": "/backoffice/", "ib": "/partners/"}


@pytest.mark.parametrize("base_theme", BASE_THEMES)
@pytest.mark.parametrize("who", HOMES)
def test_each_face_renders_in_each_base_theme(tenant_client, users, admin_user, base_theme, who):
    branding_update(
        changes={"base_theme": base_theme, "primary_color": "#123abc"}, actor=admin_user
    )
    tenant_client.force_login(users[who])

    response = tenant_client.get(HOMES[who])

    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-theme="{base_theme}"' in html
    assert f'href="/static/brokerdesk/themes/{base_theme}.css"' in html
    assert "--brand-primary: #123abc;" in html
    assert tenant_client.get(f"/static/brokerdesk/themes/{base_theme}.css").status_code == 200


@pytest.mark.parametrize("base_theme", BASE_THEMES)
def test_each_base_theme_sets_every_colour_the_layout_uses(base_theme):
    layout = (STATIC / "brokerdesk.css").read_text()
    tokens = (STATIC / "themes" / f"{base_theme}.css").read_text()
    used = set(re.findall(r"var\((--[a-z0-9-]+)\)", layout)) - {"--brand-primary", "--brand-accent"}
    defined = set(re.findall(r"^\s*(--[a-z0-9-]+):", tokens, re.M))

    assert used <= defined


def test_the_brokers_custom_css_comes_after_every_stylesheet(tenant_client, admin_user):
    branding_update(changes={"custom_css": ".card { border-width: 2px; }"}, actor=admin_user)

    html = tenant_client.get("/").content.decode()

    custom = html.index('<style data-testid="custom-css">.card { border-width: 2px; }</style>')
    assert custom > max(match.start() for match in re.finditer(r'rel="stylesheet"', html))
    assert custom > html.index("--brand-primary")


def test_no_custom_css_means_no_empty_style_element(tenant_client):
    assert b'data-testid="custom-css"' not in tenant_client.get("/").content


def test_a_logo_replaces_the_drawn_mark():
    brand = Brand(name="Acme FX", logo_url="/branding/logo?v=abc")

    html = render_to_string("layouts/_brand.html", {"brand": brand})

    assert '<img class="brand__logo" src="/branding/logo?v=abc"' in html
    assert "brand__mark" not in html


def test_the_favicon_is_drawn_in_the_brand_colour_until_one_is_uploaded(rf, monkeypatch):
    drawn = unquote(favicon_drawn(Brand(name="zenith", primary_color="#17a398")))
    uploaded = Brand(name="Acme", favicon_url="/branding/favicon?v=1")
    monkeypatch.setattr(context_processors, "current_branding", lambda request: uploaded)

    assert drawn.startswith("data:image/svg+xml,<svg")
    assert "fill='#17a398'" in drawn and ">Z</text>" in drawn
    assert ">&lt;</text>" in unquote(favicon_drawn(Brand(name="<script>")))
    assert context_processors.theme(rf.get("/"))["favicon_href"] == "/branding/favicon?v=1"


def test_the_pages_link_the_favicon(tenant_client):
    assert re.search(
        rb'<link rel="icon" href="data:image/svg\+xml,', tenant_client.get("/").content
    )


def test_the_layout_uses_only_logical_directions_so_rtl_mirrors():
    physical = re.compile(
        r"(margin|padding|border)-(left|right)|(?<![-\w])(left|right)\s*:|"
        r"text-align:\s*(left|right)|float:\s*(left|right)"
    )
    for path in [STATIC / "brokerdesk.css", *(STATIC / "themes").glob("*.css")]:
        css = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
        assert physical.findall(css) == [], path.name


def test_arabic_pages_are_right_to_left_and_mirror_directional_icons(tenant_client, client_user):
    tenant_client.force_login(client_user)
    tenant_client.post("/i18n/language/", {"language": "ar", "next": "/"})

    html = tenant_client.get("/").content.decode()

    assert '<html lang="ar" dir="rtl"' in html
    assert "icon--directional" in html
    assert '[dir="rtl"] .icon--directional' in (STATIC / "brokerdesk.css").read_text()
