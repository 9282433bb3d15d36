"""A Super admin creates an API token in the Back Office, sees its secret once, an integrator
uses it (audit log yes, configuration no), and revoking it on the page ends it (401).
Screenshots of the form, the secret page and the list (desktop and phone) go to
test-artifacts/screenshots/."""

from __future__ import annotations

import http.client
import json

import pytest
from browser_support import (
    BROKERS,
    PASSWORD,
    SCREENSHOTS,
    staff_second_factor_pass,
    staff_totp_reset,
)

pytestmark = pytest.mark.slow
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _api(port: int, host: str, path: str, secret: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            "GET", path, headers={"Host": f"{host}:{port}", "Authorization": f"Bearer {secret}"}
        )
        response = conn.getresponse()
        json.loads(response.read() or b"{}")
        return response.status
    finally:
        conn.close()


def test_a_token_is_created_shown_once_used_and_revoked_on_the_page(
    brokers, browser, server_port, in_thread
):
    broker = brokers[BROKERS[0].slug]
    base = f"http://{broker.host}:{server_port}"
    in_thread(staff_totp_reset, broker)
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    page.goto(f"{base}/backoffice/login/")
    page.fill("input[name=username]", broker.email("staff"))
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    staff_second_factor_pass(page)
    page.wait_for_url(f"{base}/backoffice/")

    page.goto(f"{base}/backoffice/tokens/")
    page.fill("input[name=name]", "Accounting export")
    page.check("input[name=codes][value='audit.view']")
    page.screenshot(path=str(SCREENSHOTS / "api-tokens-form.png"), full_page=True)
    page.click("[data-testid=token-form] button[type=submit]")
    secret = page.get_by_test_id("token-secret").inner_text().strip()
    page.screenshot(path=str(SCREENSHOTS / "api-tokens-created.png"), full_page=True)

    assert secret.startswith("bdt_")
    assert _api(server_port, broker.host, "/api/v1/audit/", secret) == 200
    assert _api(server_port, broker.host, "/api/v1/config/branding/", secret) == 403

    page.goto(f"{base}/backoffice/tokens/")
    row = page.get_by_test_id("token-row").first
    assert "Accounting export" in row.inner_text() and secret not in page.content()
    assert secret.split("_")[1] in row.inner_text()  # the prefix identifies it
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SCREENSHOTS / "api-tokens-list-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    with page.expect_navigation():
        row.get_by_test_id("revoke").click()
    assert "is revoked" in page.inner_text("[role=status]")
    page.screenshot(path=str(SCREENSHOTS / "api-tokens-revoked.png"), full_page=True)

    assert _api(server_port, broker.host, "/api/v1/audit/", secret) == 401
    for name in ("form", "created", "list-phone", "revoked"):
        assert (SCREENSHOTS / f"api-tokens-{name}.png").stat().st_size > 10_000
    context.close()
