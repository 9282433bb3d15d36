"""Partner portal and Back Office pages: an IB sees only its own tree's clients, masked;
a dispute goes from the portal to a resolution with provenance (issue 10)."""

from __future__ import annotations

from django.test import Client

from brokerdesk.modules.partners.engine import engine_run
from brokerdesk.modules.partners.models import CommissionLine, Dispute, DisputeStatus
from brokerdesk.modules.partners.selectors import mask_email
from support.partners import local, world_make
from support.rbac_actors import sign_in

OCT = (local(2026, 10, 1, 0), local(2026, 11, 1, 0))


def _client(test_tenant, user) -> Client:
    client = Client(HTTP_HOST=test_tenant.get_primary_domain().domain)
    return sign_in(client, user)


def test_an_ib_sees_only_its_own_trees_clients_and_masked(db, test_tenant):
    w = world_make()
    master = w.ib("Master")
    sub = w.ib("Sub", parent=master)
    stranger = w.ib("Stranger")
    mine, theirs = w.client(sub), w.client(stranger)
    page = _client(test_tenant, master.user).get("/partners/clients/")
    body = page.content.decode()
    assert page.status_code == 200
    assert mask_email(mine.email) in body and mine.email not in body
    assert mask_email(theirs.email) not in body and theirs.email not in body
    assert mask_email("jane.doe@example.com") == "j•••e@e•••.com"
    # The sub-IB does not see up its tree either.
    assert (
        _client(test_tenant, sub.user)
        .get("/partners/clients/")
        .content.decode()
        .count('data-testid="masked-email"')
        == 1
    )


def test_a_dispute_goes_from_the_portal_to_a_resolution_with_provenance(db, test_tenant):
    w = world_make()
    ib = w.ib("Disputer")
    w.pay_by(ib, w.plan("Plan", [{"kind": "per_lot", "rate": "1000"}]))
    client = w.client(ib)
    w.trade(w.account(client), closed_at=local(2026, 10, 9), lots="2")
    engine_run(start=OCT[0], end=OCT[1], actor="tests")
    line = CommissionLine.objects.get(partner=ib)
    portal = _client(test_tenant, ib.user)
    page = portal.get(f"/partners/commissions/{line.public_id}/")
    assert page.status_code == 200 and "20.00 USD" in page.content.decode()
    assert (
        portal.post(f"/partners/commissions/{line.public_id}/", {"message": " "}).status_code == 400
    )
    assert not Dispute.objects.exists()
    answer = portal.post(f"/partners/commissions/{line.public_id}/",
                         {"message": "I expected $12 a lot"})  # fmt: skip
    assert answer.status_code == 302
    dispute = Dispute.objects.get()
    # Another IB cannot even see the line.
    other = w.ib("Other")
    assert (
        _client(test_tenant, other.user).get(f"/partners/commissions/{line.public_id}/").status_code
        == 404
    )
    manager = _client(test_tenant, w.managers[0])
    detail = manager.get(f"/backoffice/ibs/disputes/{dispute.public_id}/")
    body = detail.content.decode()
    assert detail.status_code == 200
    assert 'data-testid="provenance"' in body and 'data-testid="assignment-history"' in body
    assert client.email in body and "Plan" in body
    assert manager.post(f"/backoffice/ibs/disputes/{dispute.public_id}/",
                        {"decision": "reject", "resolution": ""}).status_code == 400  # fmt: skip
    manager.post(f"/backoffice/ibs/disputes/{dispute.public_id}/",
                 {"decision": "reject", "resolution": "The plan pays $10 a lot."})  # fmt: skip
    dispute.refresh_from_db()
    assert (dispute.status, dispute.resolved_by_id) == (DisputeStatus.REJECTED, w.managers[0].pk)
    assert "The plan pays $10 a lot." in portal.get("/partners/disputes/").content.decode()


def test_the_links_page_shows_each_link_with_its_qr_code_and_makes_campaign_links(db, test_tenant):
    w = world_make()
    ib = w.ib("Linker")
    portal = _client(test_tenant, ib.user)
    assert portal.post("/partners/links/", {"campaign": " "}).status_code == 400
    assert portal.post("/partners/links/", {"campaign": "Telegram"}).status_code == 302
    body = portal.get("/partners/links/").content.decode()
    assert body.count("<svg") >= 2 and f"?ref={ib.referral_code}" in body and "Telegram" in body


def test_onboarding_application_approval_then_agreement(db, test_tenant):
    from brokerdesk.modules.identity.models import User, UserKind
    from brokerdesk.modules.partners.models import Partner, PartnerStatus

    w = world_make()
    applicant = User.objects.create(email="new-ib@ib.example", kind=UserKind.IB)
    portal = _client(test_tenant, applicant)
    assert 'data-testid="application-form"' in portal.get("/partners/").content.decode()
    assert portal.post("/partners/", {"name": " "}).status_code == 400
    assert portal.post("/partners/", {"name": "Gulf Partners", "country": "ae"}).status_code == 302
    partner = Partner.objects.get(user=applicant)
    assert (partner.status, partner.country) == (PartnerStatus.APPLIED, "AE")
    waiting = portal.get("/partners/clients/").content.decode()  # nothing before activation
    assert "waiting for an IB manager" in waiting and 'data-testid="clients"' not in waiting
    manager = _client(test_tenant, w.managers[0])
    assert "Gulf Partners" in manager.get("/backoffice/ibs/").content.decode()
    manager.post(f"/backoffice/ibs/applications/{partner.public_id}/approve/", {"note": ""})
    partner.refresh_from_db()
    assert (partner.status, partner.manager_id) == (PartnerStatus.APPROVED, w.managers[0].pk)
    assert 'data-testid="agreement-form"' in portal.get("/partners/").content.decode()
    assert portal.post("/partners/").status_code == 302
    partner.refresh_from_db()
    assert partner.status == PartnerStatus.ACTIVE and partner.agreement_accepted_at is not None
    assert portal.get("/partners/clients/").status_code == 200
