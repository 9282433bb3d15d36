"""The partner programme over the API and pages (issue 10, ADR 0036): marketing materials,
IB onboarding and links, attribution by first or last touch within the window, refer a
friend in the Trader's Room, the quality report and disputes accepted with an amount."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.storage import storages
from django.test import Client
from django.utils import timezone
from PIL import Image

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.crm.records import record_on_registration
from brokerdesk.modules.crm.source import Source
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.partners.attribution import TOUCHES_KEY, entity_settings_set, touches_bound
from brokerdesk.modules.partners.deposits import qualifying_deposit_record
from brokerdesk.modules.partners.engine import engine_run
from brokerdesk.modules.partners.models import (
    AttributionSettings,
    CommissionLine,
    Dispute,
    MarketingMaterial,
    Partner,
    Referral,
)
from brokerdesk.modules.partners.periods import month_of
from brokerdesk.modules.partners.referrals import link_create, partner_for_code
from brokerdesk.tenants.config.models import LegalEntity
from support.partners import local, world_make
from support.rbac_actors import sign_in

OCT = (local(2026, 10, 1, 0), local(2026, 11, 1, 0))


def _client(test_tenant, user=None) -> Client:
    client = Client(HTTP_HOST=test_tenant.get_primary_domain().domain)
    return sign_in(client, user) if user is not None else client


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (728, 90), (20, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def _upload(api: Client, data: bytes, name: str, **fields):
    upload = io.BytesIO(data)
    upload.name = name
    return api.post("/api/v1/partners/materials/", {"file": upload, "title": "Spring banner",
                                                    **fields})  # fmt: skip


# --- 1. Marketing materials ---------------------------------------------------------------------


def test_materials_are_checked_by_content_stored_by_tenant_and_ibs_see_only_active(db, test_tenant):
    w = world_make()
    manager = _client(test_tenant, w.managers[0])
    ib = w.ib("Marketer")
    portal = _client(test_tenant, ib.user)
    audit = AuditEntry.objects.count()

    # An SVG named .png is a web page, not a banner: refused, nothing stored or audited.
    refused = _upload(manager, b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "banner.png")
    assert refused.status_code == 400 and "file" in refused.json()
    assert (MarketingMaterial.objects.count(), AuditEntry.objects.count()) == (0, audit)
    assert _upload(manager, _png(), "b.png", language="xx").json().keys() == {"language"}

    answer = _upload(manager, _png(), "banner.png", language="de", campaign="Spring")
    assert answer.status_code == 201, answer.content
    material = MarketingMaterial.objects.get()
    assert (answer.json()["kind"], answer.json()["width_px"], material.language) == (
        "banner", 728, "de")  # fmt: skip
    assert material.file_key.startswith("marketing/") and storages["default"].exists(
        material.file_key
    )
    assert f"tenants/{test_tenant.schema_name}/" in storages["default"].url(material.file_key)

    listed = portal.get("/api/v1/partner/materials/?language=de").json()
    assert [row["id"] for row in listed] == [str(material.public_id)]
    assert portal.get("/api/v1/partner/materials/?language=ar").json() == []
    link = portal.post(f"/api/v1/partner/materials/{material.public_id}/link/")
    assert link.status_code == 200 and "X-Amz-Expires=300" in link.json()["url"]
    assert AuditEntry.objects.filter(action="partners.material_download",
                                     actor_public_id=ib.user.public_id).count() == 1  # fmt: skip

    hidden = manager.patch(f"/api/v1/partners/materials/{material.public_id}/",
                           {"is_active": False}, content_type="application/json")  # fmt: skip
    assert hidden.status_code == 200 and hidden.json()["is_active"] is False
    assert portal.get("/api/v1/partner/materials/").json() == []
    assert portal.post(f"/api/v1/partner/materials/{material.public_id}/link/").status_code == 404
    page = portal.get("/partners/materials/")
    assert page.status_code == 200 and "Spring banner" not in page.content.decode()


def test_the_portal_and_back_office_material_pages(db, test_tenant):
    w = world_make()
    office = _client(test_tenant, w.managers[0])
    upload = io.BytesIO(_png())
    upload.name = "b.png"
    assert office.post("/backoffice/ibs/materials/", {"title": " "}).status_code == 400
    done = office.post("/backoffice/ibs/materials/", {"title": "Leaderboard", "file": upload})
    assert done.status_code == 302
    material = MarketingMaterial.objects.get()
    ib = w.ib("Reader")
    portal = _client(test_tenant, ib.user)
    page = portal.get("/partners/materials/?all=1")
    assert page.status_code == 200 and "Leaderboard" in page.content.decode()
    download = portal.post(f"/partners/materials/{material.public_id}/download/")
    assert download.status_code == 302 and "X-Amz-Expires=300" in download["Location"]


# --- 3. IB onboarding and links -----------------------------------------------------------------


def test_an_ib_applies_a_manager_decides_and_the_ib_accepts_over_the_api(db, test_tenant):
    w = world_make()
    user = User.objects.create(email=f"applicant-{uuid.uuid4().hex[:6]}@ib.example",
                               kind=UserKind.IB)  # fmt: skip
    me = _client(test_tenant, user)
    assert me.get("/api/v1/partner/application/").status_code == 404
    assert me.post("/api/v1/partner/application/", {}, content_type="application/json"
                   ).json().keys() == {"name"}  # fmt: skip
    applied = me.post("/api/v1/partner/application/", {"name": "Alpha Intro", "country": "cy"},
                      content_type="application/json")  # fmt: skip
    assert applied.status_code == 201 and applied.json()["status"] == "applied"
    public_id = applied.json()["id"]
    manager = _client(test_tenant, w.managers[0])
    pending = manager.get("/api/v1/partners/applications/").json()
    assert public_id in [row["id"] for row in pending]
    # Rejecting needs a reason; nothing changes without one.
    assert manager.post(f"/api/v1/partners/applications/{public_id}/reject/", {},
                        content_type="application/json").status_code == 400  # fmt: skip
    assert Partner.objects.get(public_id=public_id).status == "applied"
    approved = manager.post(f"/api/v1/partners/applications/{public_id}/approve/",
                            {"note": "Welcome"}, content_type="application/json")  # fmt: skip
    assert approved.json()["status"] == "approved"
    assert me.post("/api/v1/partner/application/agreement/").json()["status"] == "active"
    assert me.get("/api/v1/partner/me/").status_code == 200


def test_an_ib_manages_its_campaign_links_with_qr_codes(db, test_tenant):
    w = world_make()
    ib, other = w.ib("Linker"), w.ib("Other")
    api = _client(test_tenant, ib.user)
    assert api.post("/api/v1/partner/links/", {"campaign": " "},
                    content_type="application/json").status_code == 400  # fmt: skip
    created = api.post("/api/v1/partner/links/", {"campaign": "Webinar"},
                       content_type="application/json").json()  # fmt: skip
    assert created["url"].endswith(f"?ref={created['code']}")
    link = f"/api/v1/partner/links/{created['id']}/"
    assert api.patch(link, {"campaign": "Webinar 2"}, content_type="application/json"
                     ).json()["campaign"] == "Webinar 2"  # fmt: skip
    svg, png = api.get(link + "qr.svg"), api.get(link + "qr.png")
    assert svg["Content-Type"] == "image/svg+xml" and svg.content.startswith(b"<?xml")
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    foreign = link_create(partner=other, campaign="Theirs")
    assert api.get(f"/api/v1/partner/links/{foreign.public_id}/").status_code == 404
    assert api.delete(link).status_code == 204
    assert api.get("/api/v1/partner/links/").json() == []
    assert partner_for_code(created["code"]) == (None, None)
    assert AuditEntry.objects.filter(action__in=["partners.link_create", "partners.link_update"],
                                     target_public_id=created["id"]).count() == 3  # fmt: skip


# --- 4. Attribution: first or last touch, within the window ------------------------------------


def _entity(country: str, **settings) -> LegalEntity:
    entity = LegalEntity.objects.create(name=f"000 {uuid.uuid4().hex[:6]}", jurisdiction="CY",
                                        allowed_countries=[country])  # fmt: skip
    if settings:
        entity_settings_set(entity=entity, actor=_manager(), data=settings)
    return entity


def _manager() -> User:
    return User.objects.filter(rbac_roles__key="ib_manager").first()


def _register(country: str, touches: list[tuple[str, int]]) -> User:
    """A client registers now with referral touches ``(code, days ago)`` in their session."""
    user = User.objects.create(email=f"t-{uuid.uuid4().hex[:8]}@trader.example",
                               kind=UserKind.CLIENT, country=country)  # fmt: skip
    now = timezone.now()
    rows = [
        {"code": code, "at": (now - timedelta(days=days)).isoformat()} for code, days in touches
    ]
    first = rows[0] if rows else {"code": "", "at": ""}
    with touches_bound(rows):  # the session's touches; the CRM keeps only the first
        record_on_registration(user=user, source=Source(referral_code=first["code"],
                                                        at=first["at"]))  # fmt: skip
    return user


@pytest.mark.parametrize(("rule", "expected"), [("first", "A"), ("last", "B")])
def test_the_entitys_rule_picks_the_first_or_the_last_touch(db, rule, expected):
    w = world_make()
    ibs = {"A": w.ib("A"), "B": w.ib("B")}
    _entity("IS", rule=rule, window_days=30)
    client = _register("IS", [(ibs["A"].referral_code, 10), (ibs["B"].referral_code, 2)])
    assert Referral.objects.get(client=client).partner == ibs[expected]


def test_the_window_keeps_only_recent_touches_for_either_rule(db):
    w = world_make()
    old, recent, later = w.ib("Old"), w.ib("Recent"), w.ib("Later")
    _entity("IS", rule="first", window_days=7)
    _entity("FO", rule="last", window_days=7)
    touches = [(old.referral_code, 20), (recent.referral_code, 5), (later.referral_code, 1)]
    # First touch inside the window: the 20-day-old touch is outside it.
    assert Referral.objects.get(client=_register("IS", touches)).partner == recent
    # Last touch: the latest inside the window.
    assert Referral.objects.get(client=_register("FO", touches)).partner == later
    # Nothing inside the window: nobody is credited.
    assert not Referral.objects.filter(client=_register("IS", touches[:1])).exists()


def test_without_entity_settings_the_brokers_rule_applies(db):
    w = world_make()
    a, b = w.ib("A"), w.ib("B")
    AttributionSettings.objects.update_or_create(singleton=1, defaults={"rule": "last",
                                                                        "window_days": 30})  # fmt: skip
    client = _register("", [(a.referral_code, 3), (b.referral_code, 1)])
    assert Referral.objects.get(client=client).partner == b


def test_the_session_keeps_every_referral_touch_for_last_touch(db, test_tenant):
    w = world_make()
    a, b = w.ib("A"), w.ib("B")
    visitor = _client(test_tenant)
    visitor.get(f"/?ref={a.referral_code}")
    visitor.get(f"/?utm_source=newsletter&ref={b.referral_code}")
    visitor.get("/?utm_source=other")
    assert [t["code"] for t in visitor.session[TOUCHES_KEY]] == [a.referral_code, b.referral_code]


def test_attribution_settings_over_the_api_refuse_bad_input_and_change_nothing(db, test_tenant):
    w = world_make()
    entity = _entity("IS")
    api = _client(test_tenant, w.managers[0])
    url = f"/api/v1/partners/entities/{entity.public_id}/referrals/"
    audit = AuditEntry.objects.count()
    for bad in ({"rule": "middle"}, {"window_days": 0}, {"friends_enabled": True},
                {"friend_plan": str(uuid.uuid4())}):  # fmt: skip
        answer = api.patch(url, bad, content_type="application/json")
        assert answer.status_code == 400, bad
    assert AuditEntry.objects.count() == audit and not entity.__class__.objects.filter(
        referral_settings__isnull=False, pk=entity.pk).exists()  # fmt: skip
    done = api.patch(url, {"rule": "last", "window_days": 14}, content_type="application/json")
    assert (done.json()["rule"], done.json()["window_days"]) == ("last", 14)
    broker = api.patch("/api/v1/partners/attribution/", {"rule": "last"},
                       content_type="application/json")  # fmt: skip
    assert broker.json() == {"rule": "last", "window_days": 30}


# --- 2. Refer a friend in the Trader's Room -----------------------------------------------------


def test_a_client_refers_a_friend_and_sees_referrals_masked_and_rewards(db, test_tenant):
    w = world_make()
    plan = w.plan("Refer a friend", [{"kind": "cpa", "rate": "5000"}]).plan
    _entity("IS", friends_enabled=True, friend_plan=plan)
    referrer = User.objects.create(email="referrer@trader.example", kind=UserKind.CLIENT,
                                   country="IS", created_at=local(2026, 9, 1))  # fmt: skip
    room = _client(test_tenant, referrer)
    page = room.get("/referrals/")
    assert page.status_code == 200 and 'data-testid="referral-start"' in page.content.decode()
    assert room.post("/referrals/").status_code == 302
    partner = Partner.objects.get(user=referrer)
    assert (partner.program, partner.status) == ("friend", "active")
    # A friend registers through the link, funds, and the engine pays the reward.
    friend = User.objects.create(email="bestfriend@trader.example", kind=UserKind.CLIENT)
    record_on_registration(user=friend, source=Source(referral_code=partner.referral_code,
                                                      at=timezone.now().isoformat()))  # fmt: skip
    qualifying_deposit_record(client=friend, amount_minor=20000, currency="USD",
                              deposited_at=timezone.now(), external_ref="friend-1")  # fmt: skip
    start, end = month_of(timezone.now())
    engine_run(start=start, end=end, actor="tests")
    assert CommissionLine.objects.get(partner=partner).amount_minor == 5000
    body = room.get("/referrals/").content.decode()
    assert "b•••d@t•••.example" in body and "bestfriend@" not in body
    assert "50.00 USD" in body and f"?ref={partner.referral_code}" in body
    mine = room.get("/api/v1/referrals/").json()
    assert (mine["offered"], mine["earned"], mine["referrals"][0]["status"]) == (
        True, "50.00", "funded")  # fmt: skip
    # A client is never an IB: the Partner portal's API refuses the referrer.
    assert room.get("/api/v1/partner/me/").status_code == 403
    # The Back Office lists the referrer apart: not in the IB tree, nor among the IBs a
    # client can be moved to, but with the friends referred and the rewards earned.
    staff = _client(test_tenant, w.managers[0])
    tree = staff.get("/api/v1/partners/ibs/").json()
    assert str(partner.public_id) not in {row["partner"]["public_id"] for row in tree}
    assert len(tree) == Partner.objects.filter(program="ib").count()
    body = staff.get("/backoffice/ibs/").content.decode()
    tree_html = body.split('data-testid="ib-tree"')[1].split("</table>")[0]
    friends_html = body.split('data-testid="friend-referrers"')[1].split("</table>")[0]
    assert partner.referral_code not in tree_html
    assert partner.referral_code in friends_html and "50.00 USD" in friends_html
    assert "referrer@trader.example" in friends_html
    moves = staff.get("/backoffice/ibs/moves/").content.decode()
    assert partner.referral_code not in moves


def test_where_the_entity_offers_no_programme_the_page_says_so(db, test_tenant):
    world_make()
    client = User.objects.create(email="plain@trader.example", kind=UserKind.CLIENT, country="IS")
    room = _client(test_tenant, client)
    assert 'data-testid="referrals-unavailable"' in room.get("/referrals/").content.decode()
    assert room.post("/api/v1/referrals/").status_code == 400
    room.post("/referrals/")
    assert not Partner.objects.filter(user=client).exists()


# --- 8. Quality report --------------------------------------------------------------------------


def test_the_quality_report_counts_per_ib_for_a_period_and_the_csv_agrees(db, test_tenant):
    w = world_make()
    good, thin = w.ib("Good"), w.ib("Thin")
    made = []
    for ib, registered in ((good, local(2026, 10, 5)), (good, local(2026, 10, 6)),
                           (thin, local(2026, 10, 7)), (good, local(2026, 8, 1))):  # fmt: skip
        user = User.objects.create(email=f"q-{uuid.uuid4().hex[:6]}@trader.example",
                                   kind=UserKind.CLIENT, created_at=registered)  # fmt: skip
        record_on_registration(user=user, source=Source(referral_code=ib.referral_code,
                                                        at=registered.isoformat()))  # fmt: skip
        made.append(user)
    qualifying_deposit_record(client=made[0], amount_minor=10000, currency="USD",
                              deposited_at=local(2026, 10, 8), external_ref="q-1")  # fmt: skip
    w.trade(w.account(made[0]), closed_at=local(2026, 10, 9), lots="1")
    w.trade(w.account(made[3]), closed_at=local(2026, 10, 9), lots="1")  # registered in August
    api = _client(test_tenant, w.managers[0])
    rows = api.get("/api/v1/partners/quality/?start=2026-10-01&end=2026-10-31").json()
    assert [(r["ib_name"], r["registered"], r["kyc_approved"], r["funded"], r["active"])
            for r in rows] == [(good.name, 2, 0, 1, 1), (thin.name, 1, 0, 0, 0)]  # fmt: skip
    csv_text = api.get("/api/v1/partners/quality/export/?start=2026-10-01&end=2026-10-31")
    lines = csv_text.content.decode().splitlines()
    assert lines[1].split(",")[3:8] == ["2", "0", "1", "1", "0"]
    page = api.get("/backoffice/ibs/quality/?start=2026-10-01&end=2026-10-31")
    assert page.status_code == 200 and page.content.decode().count('data-testid="quality-row"') == 2
    assert api.get("/backoffice/ibs/quality/?start=2026-10-31&end=2026-10-01").status_code == 400
    exported = api.get("/backoffice/ibs/quality/export.csv?start=2026-10-01&end=2026-10-31")
    assert exported.content.decode().splitlines()[1:] == lines[1:]


def test_the_quality_reports_default_period_ends_today_in_the_brokers_zone(
    db, test_tenant, monkeypatch
):
    # Given 22:30 UTC on 31 October: already 1 November in Cyprus, the broker's zone
    w = world_make()
    ib = w.ib("Late")
    now = datetime(2026, 10, 31, 22, 30, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: now)
    # When a client registers through the IB's link a quarter of an hour before
    user = User.objects.create(email=f"late-{uuid.uuid4().hex[:6]}@trader.example",
                               kind=UserKind.CLIENT, created_at=now - timedelta(minutes=15))  # fmt: skip
    record_on_registration(user=user, source=Source(
        referral_code=ib.referral_code, at=(now - timedelta(minutes=15)).isoformat()))  # fmt: skip
    # Then the report for the last 30 days (no dates given) counts the registration: its
    # last day is 1 November in Cyprus, not the machine's 31 October
    api = _client(test_tenant, w.managers[0])
    rows = api.get("/api/v1/partners/quality/").json()
    assert [(r["ib_name"], r["registered"]) for r in rows] == [(ib.name, 1)]
    page = api.get("/backoffice/ibs/quality/").content.decode()
    assert page.count('data-testid="quality-row"') == 1 and "2026-11-01" in page


@pytest.mark.parametrize("query", [
    "end=0001-01-01", "start=0001-01-01&end=0001-01-02", "end=9999-12-31",
    "start=9999-12-30&end=9999-12-31", "start=1899-12-31&end=2026-10-01",
])  # fmt: skip
def test_the_quality_report_refuses_days_outside_the_calendar_with_a_message(
    db, test_tenant, query
):
    # 0001-01-01 went through fromisoformat and overflowed 29 days back or at the zone's
    # offset: a 500 (found by tests/contract/test_api_fuzz.py). Now a 400 that says why.
    w = world_make()
    api = _client(test_tenant, w.managers[0])
    answer = api.get(f"/api/v1/partners/quality/?{query}")
    assert answer.status_code == 400 and answer.json() == {
        "start": ["Give the dates as YYYY-MM-DD."]}  # fmt: skip
    assert api.get(f"/api/v1/partners/quality/export/?{query}").status_code == 400
    page = api.get(f"/backoffice/ibs/quality/?{query}")
    assert page.status_code == 400 and "YYYY-MM-DD" in page.content.decode()
    # The first and last days of the calendar still work
    edge = api.get("/api/v1/partners/quality/?start=1900-01-01&end=9998-12-31")
    assert edge.status_code == 200 and edge.json() == []


# --- 6. Disputes accepted with an amount, over the API ------------------------------------------


def test_a_dispute_is_accepted_with_an_exact_corrected_amount_over_the_api(db, test_tenant):
    w = world_make()
    ib = w.ib("Disputer")
    w.pay_by(ib, w.plan("Plan", [{"kind": "per_lot", "rate": "1000"}]))
    w.trade(w.account(w.client(ib)), closed_at=local(2026, 10, 9), lots="1")
    engine_run(start=OCT[0], end=OCT[1], actor="tests")
    line = CommissionLine.objects.get(partner=ib)
    answer = _client(test_tenant, ib.user).post(
        "/api/v1/partner/disputes/", {"line": str(line.public_id), "message": "Expected $12.50"},
        content_type="application/json",
    )  # fmt: skip
    url = f"/api/v1/partners/disputes/{answer.json()['id']}/resolve/"
    api = _client(test_tenant, w.managers[0])
    too_fine = api.post(url, {"accept": True, "resolution": "ok", "corrected_amount": "12.505"},
                        content_type="application/json")  # fmt: skip
    assert too_fine.status_code == 400 and "corrected_amount" in too_fine.json()
    assert Dispute.objects.get().status == "open" and CommissionLine.objects.count() == 1
    done = api.post(url, {"accept": True, "resolution": "Rate card", "corrected_amount": "12.50"},
                    content_type="application/json")  # fmt: skip
    assert (done.json()["status"], done.json()["corrected_amount"]) == ("accepted", "12.50")
    correction = CommissionLine.objects.get(kind="correction")
    assert (str(correction.public_id), correction.amount_minor) == (
        done.json()["correction_line"], 250)  # fmt: skip


def test_a_web_registration_honours_last_touch_from_the_session(db, test_tenant):
    w = world_make()
    first, last = w.ib("First"), w.ib("Last")
    _entity("DE", rule="last", window_days=30)
    visitor = _client(test_tenant)
    visitor.get(f"/?ref={first.referral_code}")
    visitor.get(f"/?ref={last.referral_code}")
    answer = visitor.post("/register/", {"email": "Touched@Example.com",
                                         "password": "correct horse battery", "country": "DE",
                                         "language": "de", "phone": "+49 151 23456789"})  # fmt: skip
    assert answer.status_code == 302
    client = User.objects.get(email__iexact="touched@example.com")
    referral = Referral.objects.get(client=client)
    # The CRM kept the first touch; the entity's rule credited the last one.
    assert client.crm_record.referral_code == first.referral_code
    assert referral.partner == last


# --- Back Office pages: exchange rates and attribution ------------------------------------------


def test_finance_records_a_rate_on_the_page_and_bad_input_changes_nothing(db, test_tenant):
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from brokerdesk.modules.partners.models import FxRate

    w = world_make()
    finance = User.objects.create(email="fin@staff.example", kind=UserKind.STAFF, is_staff=True)
    finance.rbac_roles.set([default_roles_ensure()["finance"]])
    page = _client(test_tenant, finance)
    good = {"base": "EUR", "quote": "USD", "rate": "1.0852", "effective_at": "2026-10-01T00:00",
            "source": "ECB reference rate"}  # fmt: skip
    refused = page.post("/backoffice/ibs/fx-rates/", {**good, "rate": "-1"})
    assert refused.status_code == 400 and 'data-testid="error-rate"' in refused.content.decode()
    assert not FxRate.objects.exists()
    assert page.post("/backoffice/ibs/fx-rates/", good).status_code == 302
    assert _client(test_tenant, w.managers[0]).post("/backoffice/ibs/fx-rates/", good
                                                    ).status_code == 403  # fmt: skip
    listed = _client(test_tenant, w.managers[0]).get("/backoffice/ibs/fx-rates/")
    assert "1.0852000000" in listed.content.decode()
    assert FxRate.objects.get().effective_at == local(2026, 10, 1, 0)


def test_an_ib_manager_sets_an_entitys_rule_and_programme_on_the_page(db, test_tenant):
    w = world_make()
    entity = _entity("IS")
    plan = w.plan("Friends", [{"kind": "cpa", "rate": "1000"}]).plan
    page = _client(test_tenant, w.managers[0])
    form = {"entity": str(entity.public_id), "rule": "last", "window_days": "10",
            "friends_enabled": "on"}  # fmt: skip
    refused = page.post("/backoffice/ibs/attribution/", form)  # no plan for the programme
    assert refused.status_code == 400 and not hasattr(entity, "referral_settings_cached")
    from brokerdesk.modules.partners.models import EntityReferralSettings

    assert not EntityReferralSettings.objects.filter(legal_entity=entity).exists()
    done = page.post("/backoffice/ibs/attribution/", {**form, "friend_plan": str(plan.public_id)})
    assert done.status_code == 302
    row = EntityReferralSettings.objects.get(legal_entity=entity)
    assert (row.rule, row.window_days, row.friends_enabled, row.friend_plan) == (
        "last", 10, True, plan)  # fmt: skip
    assert page.get("/backoffice/ibs/attribution/").status_code == 200


def test_active_means_traded_in_the_funnel_and_the_quality_summary(db):
    from brokerdesk.modules.partners import selectors

    w = world_make()
    ib = w.ib("Funnel")
    w.pay_by(ib, w.plan("CPA and lots", [{"kind": "cpa", "rate": "5000"},
                                         {"kind": "per_lot", "rate": "100"}]))  # fmt: skip
    trader, depositor = w.client(ib), w.client(ib)
    for client in (trader, depositor):
        Referral.objects.create(partner=ib, client=client, touched_at=timezone.now())
    w.trade(w.account(trader), closed_at=timezone.now() - timedelta(days=1), lots="1")
    qualifying_deposit_record(client=depositor, amount_minor=20000, currency="USD",
                              deposited_at=timezone.now(), external_ref="funnel-1")  # fmt: skip
    start, end = month_of(timezone.now())
    engine_run(start=start, end=end, actor="tests")
    assert CommissionLine.objects.filter(client=depositor, source="cpa").exists()
    # The depositor's CPA line is not trading: one client is active, in both places.
    counts, _rows = selectors.funnel(ib)
    assert (counts["funded"], counts["active"]) == (1, 1)
    summary = {row["partner"]: row for row in selectors.quality_report()}[ib]
    assert (summary["registered"], summary["funded"], summary["active"]) == (2, 1, 1)
