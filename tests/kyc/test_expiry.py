"""Document expiry on a controlled clock (the run takes the business day as an argument, ADR
0003): warned exactly once per document and threshold, expired → the case takes the
configured ``expire`` event and the client's actions shrink, a configuration without that
transition leaves the case where it is, a new valid document restores through the normal
flow; staff correct dates (audited); Compliance sees the list, the client sees a banner."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from support_kyc import corpus_file, in_years, recent, s3_client

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.crm.models import ClientRecord
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.kyc.cases import case_open, case_transition, client_may
from brokerdesk.modules.kyc.documents import Upload, document_upload
from brokerdesk.modules.kyc.expiry import (
    document_expiry_correct,
    expiring_documents,
    expiry_run,
)
from brokerdesk.modules.kyc.models import (
    CaseEvent,
    DocumentStatus,
    ExpiryWarning,
    KycCase,
    KycDocument,
    KycTransition,
)
from brokerdesk.modules.kyc.tasks import EXPIRY_TASK
from brokerdesk.modules.notifications.models import OutboxEmail
from brokerdesk.platform.celery import app
from support.rbac_actors import sign_in, user_make

EXPIRES = dt.date(2031, 6, 30)


def _document(case, kind_key, *, status=DocumentStatus.APPROVED, expires_on=None, **extra):
    kind = case.configuration.document_kinds.get(key=kind_key)
    return KycDocument.objects.create(
        case=case, kind=kind, document_type=kind.accepted_types[0], status=status,
        file_key=f"kyc/{case.public_id}/{kind_key}.pdf", content_type="application/pdf",
        size_bytes=100, sha256="0" * 64, expires_on=expires_on, **extra,
    )  # fmt: skip


@pytest.fixture
def approved(trader_with_profile):
    """An approved case whose passport expires on EXPIRES."""
    case = case_open(client=trader_with_profile, actor=trader_with_profile)
    passport = _document(case, "identity", expires_on=EXPIRES)
    _document(case, "proof_of_address", issued_on=recent(10))
    case_transition(case=case, event=CaseEvent.SUBMIT, actor="tests")
    case_transition(case=case, event=CaseEvent.APPROVE, actor="tests")
    return case, passport


def _emails(trader):
    return OutboxEmail.objects.filter(to=trader.email, template="kyc_document_expiring")


def test_warned_once_not_twice_and_not_before_the_threshold(approved):
    case, passport = approved
    trader = case.client
    days = case.configuration.expiry_warning_days  # 60, seeded

    assert expiry_run(today=EXPIRES - dt.timedelta(days=days + 1)).warned == 0
    assert expiry_run(today=EXPIRES - dt.timedelta(days=days)).warned == 1
    assert expiry_run(today=EXPIRES - dt.timedelta(days=days)).warned == 0  # same day again
    assert expiry_run(today=EXPIRES - dt.timedelta(days=days - 1)).warned == 0  # next day

    (mail,) = _emails(trader)
    assert "2031-06-30" in mail.subject and "in 60 days" in mail.text
    assert "/documents/" in mail.text
    assert ExpiryWarning.objects.filter(document=passport).count() == 1
    assert AuditEntry.objects.filter(action="kyc.document.expiry_warning").count() == 1
    passport.refresh_from_db()
    assert passport.status == DocumentStatus.APPROVED
    case.refresh_from_db()
    assert case.state.key == "approved" and client_may(trader, "withdraw")


def test_the_threshold_is_the_configurations(approved):
    case, _ = approved
    case.configuration.expiry_warning_days = 14
    case.configuration.save()

    assert expiry_run(today=EXPIRES - dt.timedelta(days=15)).warned == 0
    assert expiry_run(today=EXPIRES - dt.timedelta(days=14)).warned == 1
    assert ExpiryWarning.objects.get().threshold_days == 14


def test_expired_restricts_the_client_through_the_configured_event(approved):
    case, passport = approved
    trader = case.client
    for action in ("open_live", "deposit", "withdraw"):
        assert client_may(trader, action)

    report = expiry_run(today=EXPIRES)

    assert (report.expired, report.cases_restricted) == (1, 1)
    case.refresh_from_db()
    passport.refresh_from_db()
    assert case.state.key == "resubmission_needed"  # the default configuration's expire target
    for action in ("open_live", "deposit", "withdraw"):
        assert not client_may(trader, action)
    assert client_may(trader, "upload_documents")
    assert passport.status == DocumentStatus.RESUBMISSION_NEEDED
    assert passport.reason_code == "document_expired" and "2031-06-30" in passport.feedback
    assert case.changes.last().event == CaseEvent.EXPIRE
    assert AuditEntry.objects.filter(action="kyc.case.expire").count() == 1
    # The CRM timeline hears it once.
    record = ClientRecord.objects.get(user=trader)
    assert record.timeline.filter(event="kyc.expired").count() == 1
    # A second run (or the next day's) changes nothing more.
    again = expiry_run(today=EXPIRES + dt.timedelta(days=1))
    assert (again.expired, again.cases_restricted, again.warned) == (0, 0, 0)
    assert AuditEntry.objects.filter(action="kyc.case.expire").count() == 1


def test_a_configuration_without_an_expire_transition_keeps_the_state(approved):
    case, passport = approved
    KycTransition.objects.filter(configuration=case.configuration, event=CaseEvent.EXPIRE).delete()

    report = expiry_run(today=EXPIRES)

    assert (report.expired, report.cases_restricted) == (1, 0)
    case.refresh_from_db()
    passport.refresh_from_db()
    assert case.state.key == "approved"
    assert client_may(case.client, "withdraw")  # the broker's rules say so
    assert passport.status == DocumentStatus.RESUBMISSION_NEEDED  # the reviewer sees why
    assert not case.changes.filter(event=CaseEvent.EXPIRE).exists()
    assert AuditEntry.objects.filter(action="kyc.document.expire").count() == 1


def test_a_configuration_may_send_expired_cases_elsewhere(approved):
    case, _ = approved
    KycTransition.objects.filter(configuration=case.configuration, event=CaseEvent.EXPIRE).update(
        to_state=case.configuration.states.get(key="pending_review")
    )
    expiry_run(today=EXPIRES)
    case.refresh_from_db()
    assert case.state.key == "pending_review"
    assert client_may(case.client, "open_demo") and not client_may(case.client, "deposit")


def test_refused_and_replaced_documents_are_neither_warned_nor_expired(trader_with_profile):
    case = case_open(client=trader_with_profile, actor=trader_with_profile)
    _document(case, "identity", status=DocumentStatus.REPLACED, expires_on=EXPIRES)
    _document(case, "identity", status=DocumentStatus.REJECTED, expires_on=EXPIRES)

    assert expiry_run(today=EXPIRES - dt.timedelta(days=10)).warned == 0
    report = expiry_run(today=EXPIRES)
    assert (report.expired, report.warned) == (0, 0)


@pytest.fixture
def s3_cleanup(s3_bucket):
    yield
    prefix = f"tenants/{connection.schema_name}/kyc/"
    for item in s3_client().list_objects_v2(Bucket=s3_bucket, Prefix=prefix).get("Contents", ()):
        s3_client().delete_object(Bucket=s3_bucket, Key=item["Key"])


def test_a_new_valid_document_restores_through_the_normal_flow(approved, s3_cleanup):
    case, passport = approved
    trader = case.client
    expiry_run(today=EXPIRES)
    assert not client_may(trader, "withdraw")

    document_upload(
        client=trader,
        upload=Upload(kind="identity", document_type="passport",
                      data=corpus_file("passport-photo.jpg"), expires_on=in_years(8)),
        actor=trader,
    )  # fmt: skip

    case.refresh_from_db()
    assert case.state.key == "pending_review"  # submitted again: the expired one no longer counts
    assert not client_may(trader, "withdraw")
    case_transition(case=case, event=CaseEvent.APPROVE, actor="compliance@x.example")
    assert client_may(trader, "withdraw")
    passport.refresh_from_db()
    assert passport.status == DocumentStatus.REPLACED


def test_staff_correct_an_expiry_date_audited_and_a_bad_date_changes_nothing(approved, test_tenant):
    case, passport = approved
    roles = default_roles_ensure()
    compliance = user_make("compliance@expiry.example", roles=[roles["compliance"]])
    support = user_make("support@expiry.example", roles=[roles["support"]])
    host = test_tenant.get_primary_domain().domain
    url = f"/backoffice/kyc/documents/{passport.public_id}/expiry/"

    http = sign_in(Client(HTTP_HOST=host), compliance)
    page = http.get(f"/backoffice/kyc/cases/{case.public_id}/")
    assert b'data-testid="correct-expiry"' in page.content
    answer = http.post(url, {"expires_on": "2032-01-15", "reason": "misread the year"})
    assert answer.status_code == 302
    passport.refresh_from_db()
    assert passport.expires_on == dt.date(2032, 1, 15)
    entry = AuditEntry.objects.get(action="kyc.document.expiry_correct")
    assert (entry.before, entry.after) == (
        {"expires_on": "2031-06-30"},
        {"expires_on": "2032-01-15"},
    )
    assert entry.reason == "misread the year"

    for bad in ({"expires_on": "not a date"}, {"expires_on": "1800-01-01"}, {}):
        assert http.post(url, bad).status_code == 400
    passport.refresh_from_db()
    assert passport.expires_on == dt.date(2032, 1, 15)
    # Support reads cases but does not decide: no form, and the POST is refused.
    support_http = sign_in(Client(HTTP_HOST=host), support)
    assert (
        b'data-testid="correct-expiry"'
        not in support_http.get(f"/backoffice/kyc/cases/{case.public_id}/").content
    )
    assert support_http.post(url, {"expires_on": "2040-01-01"}).status_code == 403
    passport.refresh_from_db()
    assert passport.expires_on == dt.date(2032, 1, 15)
    assert AuditEntry.objects.filter(action="kyc.document.expiry_correct").count() == 1


def test_a_corrected_date_is_warned_about_again_once(approved):
    case, passport = approved
    expiry_run(today=EXPIRES - dt.timedelta(days=60))
    document_expiry_correct(document=passport, expires_on=EXPIRES + dt.timedelta(days=5),
                            actor="tests")  # fmt: skip
    assert expiry_run(today=EXPIRES - dt.timedelta(days=55)).warned == 1
    assert expiry_run(today=EXPIRES - dt.timedelta(days=55)).warned == 0
    assert _emails(case.client).count() == 2


def test_compliance_sees_the_expiring_list_and_the_client_a_banner(approved, test_tenant):
    case, passport = approved
    host = test_tenant.get_primary_domain().domain
    roles = default_roles_ensure()
    compliance = user_make("compliance@list.example", roles=[roles["compliance"]])
    today = dt.date.today()
    KycDocument.objects.filter(pk=passport.pk).update(expires_on=today + dt.timedelta(days=20))

    found = expiring_documents(KycCase.objects.all(), today=today)
    assert [(e.document.pk, e.days_left) for e in found] == [(passport.pk, 20)]

    staff_http = sign_in(Client(HTTP_HOST=host), compliance)
    queue = staff_http.get("/backoffice/kyc/").content.decode()
    assert "1 document expiring within 60 days" in queue
    listing = staff_http.get("/backoffice/kyc/?expiring=1").content.decode()
    assert 'data-testid="expiring-list"' in listing and str(passport.public_id) in listing

    trader_http = Client(HTTP_HOST=host)
    trader_http.force_login(case.client)
    page = trader_http.get("/documents/").content.decode()
    assert 'data-testid="expiry-banner"' in page
    assert "in 20 days" in page


def test_beat_runs_the_expiry_in_every_tenant_through_the_fan_out():
    entry = settings.CELERY_BEAT_SCHEDULE["kyc-expiry"]
    assert entry["task"] == "tenants.for_each_active_tenant"
    assert entry["args"] == (EXPIRY_TASK,)
    assert EXPIRY_TASK in app.tasks


def test_the_api_lists_expiring_documents_and_corrects_a_date(approved, test_tenant):
    case, passport = approved
    roles = default_roles_ensure()
    compliance = user_make("compliance@expiry-api.example", roles=[roles["compliance"]])
    support = user_make("support@expiry-api.example", roles=[roles["support"]])
    host = test_tenant.get_primary_domain().domain
    KycDocument.objects.filter(pk=passport.pk).update(
        expires_on=dt.date.today() + dt.timedelta(days=45)
    )
    api = sign_in(Client(HTTP_HOST=host), compliance)

    (item,) = api.get("/api/v1/kyc/documents/expiring/").json()
    assert item["document"]["public_id"] == str(passport.public_id)
    assert (item["days_left"], item["warning_days"], item["case"]) == (45, 60, str(case.public_id))
    url = f"/api/v1/kyc/documents/{passport.public_id}/expiry/"
    for bad in ({}, {"expires_on": "31/12/2030"}, {"expires_on": "1800-01-01"}):
        assert api.post(url, bad, content_type="application/json").status_code == 400
    assert AuditEntry.objects.filter(action="kyc.document.expiry_correct").count() == 0
    fixed = api.post(url, {"expires_on": "2033-03-03", "reason": "typo"},
                     content_type="application/json")  # fmt: skip
    assert fixed.status_code == 200 and fixed.json()["expires_on"] == "2033-03-03"
    assert api.get("/api/v1/kyc/documents/expiring/").json() == []

    support_api = sign_in(Client(HTTP_HOST=host), support)
    assert support_api.get("/api/v1/kyc/documents/expiring/").status_code == 200
    assert support_api.post(url, {"expires_on": "2040-01-01"},
                            content_type="application/json").status_code == 403  # fmt: skip
    passport.refresh_from_db()
    assert passport.expires_on == dt.date(2033, 3, 3)


def test_the_policy_engine_refuses_after_expiry_and_allows_after_the_new_approval(approved):
    from django.utils import timezone

    from brokerdesk.modules.policy.engine import decide

    case, passport = approved
    trader = case.client
    trader.email_verified_at = timezone.now()
    trader.save()
    assert decide(trader, "withdraw").allowed and decide(trader, "open_live").allowed

    expiry_run(today=EXPIRES)

    for action in ("withdraw", "deposit", "open_live", "transfer", "change_leverage"):
        decision = decide(trader, action)
        assert (decision.allowed, decision.code) == (False, "kyc_state")
        assert decision.detail["state"] == "resubmission_needed"
    assert decide(trader, "open_demo").allowed
    # A new document reviewed and approved through the normal flow restores everything.
    case.refresh_from_db()
    case_transition(case=case, event=CaseEvent.SUBMIT, actor=trader)
    case_transition(case=case, event=CaseEvent.APPROVE, actor="compliance@x.example")
    assert decide(trader, "withdraw").allowed
