"""The two brokers look different in all three faces, in both base themes and all three
languages (Arabic right-to-left), on a desktop and on a phone; screenshots of each go to
test-artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import (
    BROKERS,
    PASSWORD,
    SCREENSHOTS,
    Broker,
    staff_second_factor_pass,
    staff_totp_reset,
)

pytestmark = pytest.mark.slow

FACES = {
    # face: (login path, home path, which user signs in)
    "portal": ("/login/", "/", "client"),
    "backoffice": ("/backoffice/login/", "/backoffice/", "staff"),
    "partners": ("/partners/login/", "/partners/", "ib"),
}
THEMES = ("classic", "midnight")
LANGUAGES = {"en": ("ltr", "Sign out"), "de": ("ltr", "Abmelden"), "ar": ("rtl", "تسجيل الخروج")}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _url(broker: Broker, port: int, path: str) -> str:
    return f"http://{broker.host}:{port}{path}"


def _theme_set(broker: Broker, theme: str) -> None:
    from brokerdesk.tenants import schemas
    from brokerdesk.tenants.config.services import branding_update

    with schemas.tenant_context(broker.tenant):
        branding_update(changes={"base_theme": theme}, actor="browser tests")


@pytest.fixture
def page_for(browser, server_port, in_thread) -> Iterator[Any]:
    """``page_for(broker, face, viewport)``: a fresh context, signed in to ``face``.

    Staff also pass the second factor (enrolling afresh each time, see staff_totp_reset).
    """
    contexts = []

    def open_page(broker: Broker, face: str, viewport: dict[str, int]) -> Any:
        context = browser.new_context(viewport=viewport, locale="en-US")
        contexts.append(context)
        page = context.new_page()
        login, home, who = FACES[face]
        if face == "backoffice":
            in_thread(staff_totp_reset, broker)
        page.goto(_url(broker, server_port, login))
        page.fill("input[name=username]", broker.email(who))
        page.fill("input[name=password]", PASSWORD)
        page.click("[data-testid=login-form] button[type=submit]")
        if face == "backoffice":
            staff_second_factor_pass(page)
        page.wait_for_url(_url(broker, server_port, home))
        return page

    yield open_page
    for context in contexts:
        context.close()


def _language_switch(page: Any, language: str) -> None:
    with page.expect_navigation():
        page.select_option("#language-select", language)


def _assert_branded(page: Any, broker: Broker, language: str) -> None:
    direction, sign_out = LANGUAGES[language]
    root = page.locator("html")
    assert root.get_attribute("lang") == language
    assert root.get_attribute("dir") == direction
    assert page.get_by_test_id("brand-name").first.inner_text() == broker.name
    assert page.get_by_test_id("sign-out").inner_text().strip() == sign_out
    primary = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--brand-primary').trim()"
    )
    assert primary == broker.primary_color
    others = [other.name for other in BROKERS if other.slug != broker.slug]
    text = page.content()
    assert not [name for name in others if name in text]


@pytest.mark.parametrize("broker_slug", [broker.slug for broker in BROKERS])
def test_every_face_in_both_themes_and_three_languages(brokers, page_for, in_thread, broker_slug):
    broker = brokers[broker_slug]
    for theme in THEMES:
        in_thread(_theme_set, broker, theme)
        for face in FACES:
            page = page_for(broker, face, DESKTOP)
            assert page.locator("html").get_attribute("data-theme") == theme
            for language in LANGUAGES:
                _language_switch(page, language)
                _assert_branded(page, broker, language)
                shot = SCREENSHOTS / f"{broker.slug}-{face}-{theme}-{language}.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000


@pytest.mark.parametrize("broker_slug", [broker.slug for broker in BROKERS])
def test_on_a_phone_the_navigation_collapses_and_nothing_overflows(
    brokers, page_for, in_thread, broker_slug
):
    broker = brokers[broker_slug]
    in_thread(_theme_set, broker, "classic")
    for face in FACES:
        page = page_for(broker, face, PHONE)
        nav = page.get_by_test_id("nav")
        toggle = page.locator("[data-nav-toggle]")
        for language in ("en", "ar"):
            _language_switch(page, language)
            assert not nav.is_visible() and toggle.is_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            shot = SCREENSHOTS / f"{broker.slug}-{face}-mobile-{language}.png"
            page.screenshot(path=str(shot), full_page=True)

        toggle.click()

        assert nav.is_visible() and toggle.get_attribute("aria-expanded") == "true"
        page.screenshot(path=str(SCREENSHOTS / f"{broker.slug}-{face}-mobile-menu-ar.png"))


@pytest.mark.parametrize("broker_slug", [broker.slug for broker in BROKERS])
def test_the_front_door_and_the_login_pages_carry_the_brand(
    brokers, browser, server_port, broker_slug
):
    broker = brokers[broker_slug]
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    for face, (login, _, _) in FACES.items():
        page.goto(_url(broker, server_port, login))
        assert page.get_by_test_id("brand-name").inner_text() == broker.name
        assert page.get_by_test_id("face").is_visible()
        page.screenshot(path=str(SCREENSHOTS / f"{broker.slug}-{face}-login-en.png"))
    page.goto(_url(broker, server_port, "/"))
    for language in LANGUAGES:
        _language_switch(page, language)
        assert page.get_by_test_id("welcome").is_visible()
        assert page.locator("html").get_attribute("dir") == LANGUAGES[language][0]
        page.screenshot(path=str(SCREENSHOTS / f"{broker.slug}-welcome-{language}.png"))
    page.goto(_url(broker, server_port, "/backoffice/login/"))  # the cookie now says Arabic
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.screenshot(path=str(SCREENSHOTS / f"{broker.slug}-backoffice-login-ar.png"))
    context.close()


def test_the_language_chosen_is_remembered_at_the_next_sign_in(brokers, page_for):
    broker = brokers[BROKERS[0].slug]
    page = page_for(broker, "portal", DESKTOP)
    _language_switch(page, "de")
    with page.expect_navigation():
        page.get_by_test_id("sign-out").click()

    again = page_for(broker, "portal", DESKTOP)

    assert again.locator("html").get_attribute("lang") == "de"
    assert again.get_by_test_id("sign-out").inner_text().strip() == "Abmelden"
    _language_switch(again, "en")


def test_a_client_is_refused_at_the_back_office_login(brokers, browser, server_port):
    broker = brokers[BROKERS[1].slug]
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    page.goto(_url(broker, server_port, "/backoffice/"))
    assert re.search(r"/backoffice/login/\?next=", page.url)

    page.fill("input[name=username]", broker.email("client"))
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")

    assert "cannot sign in to the Back Office" in page.get_by_test_id("form-errors").inner_text()
    page.screenshot(path=str(SCREENSHOTS / f"{broker.slug}-backoffice-login-refused.png"))
    context.close()
