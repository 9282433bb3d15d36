"""Issue 10's programme pages in a real browser: an IB makes a campaign link with its QR code
in the Partner portal; a client of an entity with a refer-a-friend programme gets a link in
the Trader's Room (on a phone), a friend registers through it and funds; the IB manager sees
the client apart from the IB tree, and the quality report counts both. Screenshots (desktop
and phone) go to test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from browser_support import BROKERS, PASSWORD, SCREENSHOTS, face_sign_in

pytestmark = pytest.mark.slow
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
CAMPAIGN = "Spring webinar"


def _world(broker) -> dict[str, str]:
    import uuid

    from brokerdesk.modules.identity.models import StaffTotpDevice, User, UserKind
    from brokerdesk.modules.partners.attribution import entity_settings_set
    from brokerdesk.tenants import schemas
    from brokerdesk.tenants.config.models import LegalEntity
    from support.partners import world_make

    with schemas.tenant_context(broker.tenant):
        w = world_make()
        ib = w.ib("Irene")
        w.pay_by(ib, w.plan("Standard IB", [{"kind": "per_lot", "rate": "1000"}]))
        friends = w.plan("Refer a friend", [{"kind": "cpa", "rate": "5000"}]).plan
        country = "IS"
        entity = LegalEntity.objects.create(name=f"Nordic {uuid.uuid4().hex[:6]}",
                                            jurisdiction="CY", allowed_countries=[country])  # fmt: skip
        entity_settings_set(entity=entity, actor=w.managers[0],
                            data={"friends_enabled": True, "friend_plan": friends})  # fmt: skip
        referrer = User.objects.create(email=f"referrer-{uuid.uuid4().hex[:6]}@trader.example",
                                       kind=UserKind.CLIENT, country=country,
                                       full_name="Ragna Referrer")  # fmt: skip
        for user in (ib.user, w.managers[0], referrer):
            user.set_password(PASSWORD)
            user.save()
        StaffTotpDevice.objects.filter(user=w.managers[0]).delete()
        return {"ib": ib.user.email, "ib_code": ib.referral_code, "manager": w.managers[0].email,
                "referrer": referrer.email}  # fmt: skip


def _friend_registers_and_funds(broker, code: str) -> None:
    from django.utils import timezone

    from brokerdesk.modules.crm.records import record_on_registration
    from brokerdesk.modules.crm.source import Source
    from brokerdesk.modules.identity.models import User, UserKind
    from brokerdesk.modules.partners.deposits import qualifying_deposit_record
    from brokerdesk.modules.partners.engine import engine_run
    from brokerdesk.modules.partners.periods import month_of
    from brokerdesk.tenants import schemas

    with schemas.tenant_context(broker.tenant):
        friend = User.objects.create(email="best.friend@trader.example", kind=UserKind.CLIENT)
        record_on_registration(user=friend, source=Source(referral_code=code,
                                                          at=timezone.now().isoformat()))  # fmt: skip
        qualifying_deposit_record(client=friend, amount_minor=20000, currency="USD",
                                  deposited_at=timezone.now(), external_ref="friend-browser")  # fmt: skip
        start, end = month_of(timezone.now())
        engine_run(start=start, end=end, actor="tests")


def _sign_in(browser, base: str, login: str, email: str, viewport=DESKTOP):
    return face_sign_in(browser, base, login, email, viewport=viewport)


def test_links_qr_codes_refer_a_friend_and_the_back_office_view(
    brokers, browser, server_port, in_thread
):
    broker = brokers[BROKERS[0].slug]
    base = f"http://{broker.host}:{server_port}"
    ids = in_thread(_world, broker)

    # The IB: a campaign link with its QR code.
    ib = _sign_in(browser, base, "/partners/login/", ids["ib"])
    ib.wait_for_url(f"{base}/partners/")
    ib.goto(f"{base}/partners/links/")
    assert ib.get_by_test_id("link").count() == 1  # the main link
    ib.fill("[data-testid=link-form] input[name=campaign]", CAMPAIGN)
    ib.click("[data-testid=link-form] button[type=submit]")
    ib.wait_for_selector(f"[data-testid=link] h2:has-text('{CAMPAIGN}')")
    links = ib.get_by_test_id("link")
    assert links.count() == 2
    campaign = links.filter(has_text=CAMPAIGN)
    assert "?ref=" in campaign.locator("code").inner_text()
    assert campaign.locator(".qr svg").count() == 1  # the QR code, drawn
    ib.screenshot(path=str(SCREENSHOTS / "ib-programme-links.png"), full_page=True)

    # A client of the entity's programme, on a phone: gets a link, then sees a friend funded.
    phone = _sign_in(browser, base, "/login/", ids["referrer"], viewport=PHONE)
    phone.goto(f"{base}/referrals/")
    phone.click("[data-testid=referral-start] button[type=submit]")
    phone.wait_for_selector("[data-testid=referral-url]")
    url = phone.get_by_test_id("referral-url").inner_text()
    code = url.rsplit("?ref=", 1)[1]
    assert phone.locator("[data-testid=referral-link] .qr svg").count() == 1
    assert phone.get_by_test_id("rewards-earned").inner_text() == "0.00 USD"
    in_thread(_friend_registers_and_funds, broker, code)
    phone.reload()
    assert phone.get_by_test_id("masked-email").inner_text() == "b•••d@t•••.example"
    assert phone.get_by_test_id("friend").inner_text().endswith("Funded")
    assert phone.get_by_test_id("rewards-earned").inner_text() == "50.00 USD"
    assert "best.friend@" not in phone.content()
    phone.screenshot(path=str(SCREENSHOTS / "trader-refer-a-friend-phone.png"), full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The IB manager: the client is listed apart from the IB tree, with the reward.
    manager = _sign_in(browser, base, "/backoffice/login/", ids["manager"])
    manager.goto(f"{base}/backoffice/ibs/")
    assert code not in manager.get_by_test_id("ib-tree").inner_text()
    assert ids["ib_code"] in manager.get_by_test_id("ib-tree").inner_text()
    summary = manager.get_by_test_id("quality").inner_text()  # registered, funded, not active
    assert "Ragna Referrer\t1\t1\t0\t0" in summary
    referrers = manager.get_by_test_id("friend-referrers").inner_text()
    assert code in referrers and ids["referrer"] in referrers and "50.00 USD" in referrers
    manager.screenshot(path=str(SCREENSHOTS / "ib-programme-backoffice-ibs.png"), full_page=True)
    manager.goto(f"{base}/backoffice/ibs/quality/")
    rows = manager.get_by_test_id("quality-row")
    assert rows.filter(has_text="Ragna").count() == 1
    manager.screenshot(path=str(SCREENSHOTS / "ib-programme-quality.png"), full_page=True)
