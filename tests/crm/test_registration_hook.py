"""Registration on the Trader's Room: the first touch (campaign, landing page, IB referral,
language, country) kept in the session and attached to the record, routing within the same
request, and duplicate detection at registration."""

from __future__ import annotations

import time

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.crm import rules
from brokerdesk.modules.crm.models import ClientRecord, DuplicateFlag, Stage
from brokerdesk.modules.crm.source import SESSION_KEY
from brokerdesk.modules.identity.models import User

FORM = {
    "email": "Visitor@Example.com",
    "password": "correct horse battery",
    "country": "DE",
    "language": "de",
    "phone": "+49 151 23456789",
}


def test_the_first_touch_is_kept_and_attached_at_registration(tenant_client, make_staff):
    admin = make_staff("admin", "super_admin")
    manager = make_staff("manager", "ib_manager")
    rules.rule_create(
        actor=admin,
        data={"name": "DE", "countries": ["DE"], "target": "owner", "owner": manager.public_id},
    )

    landing = tenant_client.get(
        "/?utm_source=google&utm_medium=cpc&utm_campaign=spring&ref=IB-42",
        HTTP_REFERER="https://search.example/?q=forex",
        HTTP_ACCEPT_LANGUAGE="de",
    )
    # A later visit with other parameters does not overwrite the first touch.
    tenant_client.get("/register/?utm_source=facebook")
    started = time.monotonic()
    response = tenant_client.post("/register/", FORM)
    elapsed = time.monotonic() - started

    assert landing.status_code == 200 and response.status_code == 302
    record = ClientRecord.objects.select_related("owner").get(email="visitor@example.com")
    assert (record.utm_source, record.utm_medium, record.utm_campaign) == (
        "google",
        "cpc",
        "spring",
    )
    assert record.referral_code == "IB-42"
    assert record.landing_page.endswith(
        "/?utm_source=google&utm_medium=cpc&utm_campaign=spring&ref=IB-42"
    )
    assert record.referrer == "https://search.example/?q=forex"
    assert record.source_language == "de"
    assert record.first_touch_at is not None
    # Routed in the registration request itself: well within a second.
    assert record.owner == manager and elapsed < 1.0
    assert record.stage == Stage.REGISTERED
    assert AuditEntry.objects.filter(
        action="crm.routed", target_public_id=str(record.user.public_id)
    ).exists()


def test_plain_visits_store_nothing_and_the_record_has_no_source(tenant_client):
    tenant_client.get("/")
    assert SESSION_KEY not in tenant_client.session

    tenant_client.post("/register/", FORM)

    record = ClientRecord.objects.get(email="visitor@example.com")
    assert (record.utm_source, record.referral_code, record.landing_page) == ("", "", "")
    assert record.owner is None  # no rule, no fallback: waits unassigned


def test_a_bad_referral_code_is_ignored(tenant_client):
    tenant_client.get("/?ref=<script>")
    assert SESSION_KEY not in tenant_client.session


def test_a_taken_address_creates_no_second_record(tenant_client):
    tenant_client.post("/register/", FORM)
    tenant_client.post("/register/", FORM)
    assert ClientRecord.objects.count() == 1 and User.objects.filter(kind="client").count() == 1


def test_a_registration_with_a_known_phone_is_flagged_as_a_duplicate(tenant_client, make_client):
    existing = make_client("old@example.com", phone="+4915123456789")

    tenant_client.post("/register/", FORM)

    flag = DuplicateFlag.objects.get()
    assert flag.record.email == "visitor@example.com" and flag.duplicate_of == existing
    assert flag.reasons == ["phone"]
    assert ClientRecord.objects.filter(has_open_duplicates=True).count() == 2


def test_same_mailbox_and_same_name_with_birth_date_are_duplicates(admin_staff, make_client):
    from datetime import date

    from brokerdesk.modules.crm.records import lead_create

    make_client("j.doe@gmail.com")
    imported = lead_create(
        actor=admin_staff,
        email="jdoe+fx@googlemail.com",
        full_name="Jöhn  Doe",
        date_of_birth=date(1990, 5, 1),
    )
    twin = lead_create(
        actor=admin_staff,
        email="other@example.com",
        full_name="john doe",
        date_of_birth=date(1990, 5, 1),
    )
    stranger = lead_create(
        actor=admin_staff,
        email="x@example.com",
        full_name="John Doe",
        date_of_birth=date(1991, 5, 1),
    )

    assert DuplicateFlag.objects.get(record=imported).reasons == ["email"]
    assert DuplicateFlag.objects.get(record=twin).reasons == ["name_dob"]
    assert not DuplicateFlag.objects.filter(record=stranger).exists()


def test_clients_from_before_the_crm_get_their_record_from_the_migration(db):
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "brokerdesk.modules.crm.migrations.0003_records_for_existing_clients"
    )
    old = User.objects.create(email="early.bird@example.com", kind="client", country="FR")
    staff = User.objects.create(email="staff.only@example.com", kind="staff", is_staff=True)

    migration.records_create(apps, None)
    migration.records_create(apps, None)  # idempotent

    record = ClientRecord.objects.get(user=old)
    assert (record.stage, record.country, record.owner, record.email_key) == (
        "registered",
        "FR",
        None,
        "early.bird@example.com",
    )
    assert not ClientRecord.objects.filter(user=staff).exists()
