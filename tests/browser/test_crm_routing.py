"""A visitor lands on the Trader's Room from a campaign link and registers; the routing rule
sends the new lead to a Sales owner at once, who signs in to the Back Office and finds the
lead — with its source — in their lead list and on its 360 record. Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import PASSWORD, SCREENSHOTS, Broker, staff_second_factor_pass

pytestmark = pytest.mark.slow

VISITOR = "routed.visitor@example.com"
OWNER = "olivia.sales@acme-ui.example"


def _url(broker: Broker, port: int, path: str) -> str:
    return f"http://{broker.host}:{port}{path}"


def _routing_prepare(broker: Broker) -> None:
    """A Sales owner with a password and a rule: leads from Great Britain go to her."""
    from brokerdesk.modules.crm import rules
    from brokerdesk.modules.identity.models import User, UserKind
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        roles = default_roles_ensure()
        owner, _ = User.objects.update_or_create(
            email=OWNER,
            defaults={"kind": UserKind.STAFF, "is_staff": True, "full_name": "Olivia Sales"},
        )
        owner.set_password(PASSWORD)
        owner.save()
        owner.rbac_roles.set([roles["sales"]])
        rules.rule_create(
            actor="tests",
            data={
                "name": "UK desk",
                "countries": ["GB"],
                "target": "owner",
                "owner": owner.public_id,
            },
        )


def _record(broker: Broker) -> tuple[str, str, str, str] | None:
    from brokerdesk.modules.crm.models import ClientRecord
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        record = ClientRecord.objects.select_related("owner", "user").filter(email=VISITOR).first()
        if record is None:
            return None
        owner = record.owner.email if record.owner else ""
        return owner, record.utm_campaign, record.stage, str(record.user.public_id)


def test_a_registration_appears_routed_in_the_owner_s_lead_list(
    brokers, browser, server_port, in_thread
):
    broker = brokers["acme-ui"]
    in_thread(_routing_prepare, broker)

    visitor = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    page: Any = visitor.new_page()
    page.goto(_url(broker, server_port, "/?utm_source=newsletter&utm_campaign=spring-fx"))
    page.get_by_test_id("register-link").first.click()
    page.fill("[data-testid=register-form] [name=email]", VISITOR)
    page.fill("[data-testid=register-form] [name=password]", "visiting trader 2026")
    page.select_option("[data-testid=register-form] [name=country]", "GB")
    page.select_option("[data-testid=register-form] [name=language]", "en")
    page.fill("[data-testid=register-form] [name=phone]", "+44 20 7946 0958")
    page.screenshot(path=str(SCREENSHOTS / "crm-register-from-campaign.png"), full_page=True)
    page.click("[data-testid=register-form] button[type=submit]")
    page.wait_for_url(_url(broker, server_port, "/register/done/"))
    visitor.close()

    owner, campaign, stage, client_id = in_thread(_record, broker)
    assert (owner, campaign, stage) == (OWNER, "spring-fx", "registered")

    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = staff.new_page()
    page.goto(_url(broker, server_port, "/backoffice/clients/leads/"))
    page.fill("input[name=username]", OWNER)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    staff_second_factor_pass(page)
    page.wait_for_url(_url(broker, server_port, "/backoffice/clients/leads/"))

    row = page.locator(f"[data-testid=client-row][data-client='{client_id}']")
    assert row.count() == 1
    assert (
        VISITOR in row.inner_text() and "Olivia Sales" in row.get_by_test_id("owner").inner_text()
    )
    assert "newsletter" in row.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "crm-owner-lead-list.png"), full_page=True)

    # Filtering by "me" through htmx keeps the lead; the 360 shows the routing and source.
    page.select_option("#id_owner", "me")
    page.wait_for_url("**owner=me**")
    assert page.locator(f"[data-client='{client_id}']").count() == 1
    row.get_by_role("link").first.click()
    page.wait_for_url(_url(broker, server_port, f"/backoffice/clients/{client_id}/"))
    assert "Olivia Sales" in page.get_by_test_id("panel-owner").inner_text()
    assert "spring-fx" in page.get_by_test_id("panel-source").inner_text()
    timeline = page.get_by_test_id("timeline").inner_text()
    assert "Routed to olivia.sales@acme-ui.example" in timeline
    assert "Stage: Lead → Registered" in timeline
    page.screenshot(path=str(SCREENSHOTS / "crm-client-360.png"), full_page=True)
    staff.close()
