"""Staff import leads from a CSV file on a phone-sized screen: a dry run shows every row's
outcome, the real run imports the valid rows; a large import's progress updates by itself
(htmx polling) while a worker runs it. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import PASSWORD, SCREENSHOTS, Broker, staff_second_factor_pass

pytestmark = pytest.mark.slow

FILE = (
    "Email,First Name,Last Name,Phone,Country\n"
    "ui.anna@leads.example,Anna,Schmidt,+49 151 22222222,DE\n"
    "not-an-email,Bad,Mail,,DE\n"
    "UI.Anna+x@leads.example,Anna,Twin,,DE\n"
)


def _url(broker: Broker, port: int, path: str) -> str:
    return f"http://{broker.host}:{port}{path}"


def _prepare(broker: Broker) -> str:
    """Super admin for the staff user, and a large import waiting for its worker."""
    from brokerdesk.modules.crm import imports
    from brokerdesk.modules.identity.models import User
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        staff = User.objects.get(email=broker.email("staff"))
        staff.rbac_roles.set([default_roles_ensure()["super_admin"]])
        lines = [f"bulk{i}@leads.example,Bulk,Lead {i},,DE" for i in range(450)]
        data = ("Email,First Name,Last Name,Phone,Country\n" + "\n".join(lines)).encode()
        waiting = imports.import_create(actor=staff, name="bulk.csv", data=data, dry_run=True)
        return str(waiting.public_id)


def _process(broker: Broker, public_id: str) -> None:
    from brokerdesk.modules.crm import imports
    from brokerdesk.modules.crm.models import LeadImport
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        imports.import_process(LeadImport.objects.get(public_id=public_id).pk)


def _imported(broker: Broker) -> list[str]:
    from brokerdesk.modules.crm.models import ClientRecord
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        return sorted(
            ClientRecord.objects.filter(email__startswith="ui.").values_list("email", flat=True)
        )


def test_staff_dry_run_then_import_and_watch_a_large_import_progress(
    brokers, browser, server_port, in_thread, tmp_path
):
    broker = brokers["acme-ui"]
    waiting = in_thread(_prepare, broker)
    upload = tmp_path / "leads.csv"
    upload.write_text(FILE, encoding="utf-8")

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page: Any = context.new_page()
    page.goto(_url(broker, server_port, "/backoffice/clients/imports/"))
    page.fill("input[name=username]", broker.email("staff"))
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    staff_second_factor_pass(page)
    page.wait_for_url(_url(broker, server_port, "/backoffice/clients/imports/"))

    page.set_input_files("[data-testid=import-form] input[type=file]", str(upload))
    page.check("[data-testid=import-form] input[value=dry_run]")
    page.click("[data-testid=import-form] button[type=submit]")
    page.wait_for_selector("[data-testid=import-rows]")
    outcomes = page.locator("[data-testid=import-report-row]").evaluate_all(
        "rows => rows.map(r => r.dataset.outcome)"
    )
    assert outcomes == ["would_import", "error", "duplicate"]
    assert "Not a valid e-mail address." in page.get_by_test_id("import-rows").inner_text()
    assert in_thread(_imported, broker) == []
    page.screenshot(path=str(SCREENSHOTS / "crm-import-dry-run.png"), full_page=True)

    page.get_by_test_id("import-run").click()
    page.wait_for_selector("[data-testid=import-report-row][data-outcome=imported]")
    assert in_thread(_imported, broker) == ["ui.anna@leads.example"]

    # The large import waits for its worker; its page follows the progress by itself.
    page.goto(_url(broker, server_port, f"/backoffice/clients/imports/{waiting}/"))
    assert "0 of 450 rows" in page.get_by_test_id("import-progress").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "crm-import-waiting.png"), full_page=True)
    in_thread(_process, broker, waiting)
    page.wait_for_selector("[data-testid=import-progress][data-status=done]", timeout=15_000)
    assert "450 of 450 rows" in page.get_by_test_id("import-progress").inner_text()
    assert page.get_by_test_id("count-imported").inner_text() == "450"
    page.screenshot(path=str(SCREENSHOTS / "crm-import-done.png"), full_page=True)
    context.close()
