"""Lead import from CSV: row validation with field messages, duplicates against the database
and within the file, the dry run that changes nothing, the real run that imports exactly the
valid rows once, routing, the audit row, bad uploads, the pages, the API and the worker."""

from __future__ import annotations

import csv
import io
import time

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.crm import imports, rules
from brokerdesk.modules.crm.models import (
    ClientRecord,
    DuplicateFlag,
    ImportedLead,
    ImportStatus,
    LeadImport,
    LeadImportRow,
    RowOutcome,
    TimelineEntry,
)
from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.rbac.models import Role
from support.rbac_actors import sign_in, user_make

HEADER = "E-Mail,First Name,last_name,Phone,COUNTRY,Language,Date of Birth,Owner,Desk,Campaign\n"


def _csv(*lines: str, header: str = HEADER) -> bytes:
    return (header + "\n".join(lines) + "\n").encode()


def _run(actor, data: bytes, *, dry_run: bool, name: str = "leads.csv") -> LeadImport:
    lead_import = imports.import_create(actor=actor, name=name, data=data, dry_run=dry_run)
    return imports.import_process(lead_import.pk)


def _outcomes(lead_import: LeadImport) -> dict[int, str]:
    return dict(lead_import.rows.values_list("number", "outcome"))


def _state() -> tuple:
    return (
        sorted(User.objects.values_list("email", flat=True)),
        sorted(ClientRecord.objects.values_list("email", "owner_id", "desk_id", "stage")),
        DuplicateFlag.objects.count(),
        TimelineEntry.objects.count(),
        ImportedLead.objects.count(),
    )


@pytest.fixture
def admin(make_staff):
    return make_staff("admin", "super_admin")


@pytest.fixture
def world(admin, make_staff, make_desk, make_client):
    """An existing client, a staff owner and a desk the file names."""
    owner = make_staff("olga")
    desk = make_desk("Berlin desk", owner)
    existing = make_client(
        "taken@crm.example", phone="+4915112345678", full_name="Taken Person", country="DE"
    )
    return {"owner": owner, "desk": desk, "existing": existing}


# Rows 2..: 2 and 3 valid, 4-9 errors, 10 duplicate of the database (phone), 11 duplicate of
# row 2 (same mailbox), 12 valid with owner and desk.
MIXED = _csv(
    "anna@leads.example,Anna,Schmidt,+49 151 22222222,DE,de,1990-01-02,,,spring",
    "omar@leads.example,Omar,Haddad,,United Arab Emirates,ar,,,,",
    "not-an-email,Bad,Mail,,DE,en,,,,",
    "bad.country@leads.example,Bad,Country,,XX,en,,,,",
    "bad.language@leads.example,Bad,Language,,DE,klingon,,,,",
    "bad.phone@leads.example,Bad,Phone,0151 123,DE,en,,,,",
    "bad.owner@leads.example,Bad,Owner,,DE,en,,nobody@crm.example,,",
    "bad.desk@leads.example,Bad,Desk,,DE,en,,,Moon desk,",
    "other@leads.example,Phone,Twin,+49 151 12345678,DE,en,,,,",
    "Anna+promo@Leads.example,Anna,Again,,DE,en,,,,",
    "owned@leads.example,Owned,Lead,,DE,en,,olga@crm.example,Berlin desk,",
)


def test_the_dry_run_reports_row_by_row_and_changes_nothing(admin, world):
    before = _state()

    done = _run(admin, MIXED, dry_run=True)

    assert _state() == before
    assert done.status == ImportStatus.DONE
    assert _outcomes(done) == {
        2: RowOutcome.WOULD_IMPORT,
        3: RowOutcome.WOULD_IMPORT,
        4: RowOutcome.ERROR,
        5: RowOutcome.ERROR,
        6: RowOutcome.ERROR,
        7: RowOutcome.ERROR,
        8: RowOutcome.ERROR,
        9: RowOutcome.ERROR,
        10: RowOutcome.DUPLICATE,
        11: RowOutcome.DUPLICATE,
        12: RowOutcome.WOULD_IMPORT,
    }
    assert (done.total_rows, done.processed_rows) == (11, 11)
    assert (done.imported_count, done.duplicate_count, done.error_count) == (3, 2, 6)
    messages = {row.number: row.messages for row in done.rows.filter(outcome="error")}
    assert set(messages[4]) == {"email"}
    assert set(messages[5]) == {"country"}
    assert set(messages[6]) == {"language"}
    assert "country code" in messages[7]["phone"][0]
    assert messages[8] == {"owner": ["No active staff member has this e-mail address."]}
    assert messages[9] == {"desk": ["No desk has this name."]}
    audit = AuditEntry.objects.filter(action="crm.import_dry_run").get()
    assert audit.after["would_import"] == 3 and audit.after["imported"] == 0


def test_duplicates_are_flagged_against_the_database_and_within_the_file(admin, world):
    done = _run(admin, MIXED, dry_run=True)

    database = done.rows.get(number=10)
    assert database.duplicate_of == str(world["existing"].user.public_id)
    assert database.reasons == ["phone"]
    in_file = done.rows.get(number=11)
    assert in_file.duplicate_of == "row 2"
    assert in_file.reasons == ["email"]


def test_a_name_and_date_of_birth_twin_is_a_duplicate(admin, world):
    data = _csv(
        "one@leads.example,Jana,Nováková,,CZ,en,1985-05-05,,,",
        "two@leads.example,JANA,novakova,,CZ,en,1985-05-05,,,",
        "three@leads.example,Jana,Novakova,,CZ,en,1985-05-06,,,",
    )
    done = _run(admin, data, dry_run=True)

    assert _outcomes(done) == {2: "would_import", 3: "duplicate", 4: "would_import"}
    assert done.rows.get(number=3).reasons == ["name_dob"]


def test_the_real_run_imports_exactly_the_valid_rows(admin, world):
    users_before = User.objects.count()

    done = _run(admin, MIXED, dry_run=False)

    assert _outcomes(done)[2] == RowOutcome.IMPORTED
    imported = set(
        ClientRecord.objects.filter(
            user__public_id__in=done.rows.exclude(client_public_id=None).values("client_public_id")
        ).values_list("email", flat=True)
    )
    assert imported == {"anna@leads.example", "omar@leads.example", "owned@leads.example"}
    assert User.objects.count() == users_before + 3
    anna = ClientRecord.objects.get(email="anna@leads.example")
    assert (anna.full_name, anna.phone, anna.country, anna.language) == (
        "Anna Schmidt",
        "+4915122222222",
        "DE",
        "de",
    )
    assert str(anna.date_of_birth) == "1990-01-02"
    assert anna.utm_campaign == "spring"
    assert anna.stage == "lead"
    assert ClientRecord.objects.get(email="omar@leads.example").country == "AE"
    owned = ClientRecord.objects.get(email="owned@leads.example")
    assert (owned.owner, owned.desk) == (world["owner"], world["desk"])
    audit = AuditEntry.objects.filter(action="crm.imported").get()
    assert audit.after["imported"] == 3
    assert audit.after["duplicates"] == 2 and audit.after["errors"] == 6
    # Each imported lead has its own creation audit row, like a lead created by hand.
    assert AuditEntry.objects.filter(action="crm.record_created").count() >= 3


def test_importing_the_same_file_again_creates_nothing(admin, world):
    first = _run(admin, MIXED, dry_run=False)
    state = _state()

    second = _run(admin, MIXED, dry_run=False)

    assert _state() == state
    again = _outcomes(second)
    assert [n for n, o in again.items() if o == RowOutcome.ALREADY_IMPORTED] == [2, 3, 12]
    assert second.imported_count == 0 and second.skipped_count == 3
    assert second.rows.get(number=2).client_public_id == first.rows.get(number=2).client_public_id


def test_a_lead_without_owner_is_routed_like_a_registration(admin, world, make_staff):
    gulf = make_staff("gulf")
    rules.rule_create(
        actor=admin,
        data={"name": "Gulf", "regions": ["gcc"], "target": "owner", "owner": gulf.public_id},
    )

    _run(admin, MIXED, dry_run=False)

    omar = ClientRecord.objects.get(email="omar@leads.example")
    assert omar.owner == gulf
    assert omar.routed_by.name == "Gulf"
    # The named owner wins over routing.
    assert ClientRecord.objects.get(email="owned@leads.example").owner == world["owner"]


def test_owner_and_desk_columns_need_the_right_to_assign(world, make_client):
    importer_role = Role.objects.create(
        name="Importer", codes=["clients.view", "clients.import"], scope="all"
    )
    importer = user_make("importer@crm.example", roles=[importer_role])

    done = _run(importer, MIXED, dry_run=False)

    assert done.rows.get(number=12).outcome == RowOutcome.ERROR
    assert "owner" in done.rows.get(number=12).messages
    assert not ClientRecord.objects.filter(email="owned@leads.example").exists()
    assert ClientRecord.objects.filter(email="anna@leads.example").exists()


def test_an_address_of_a_staff_account_is_an_error_not_an_import(admin, world):
    done = _run(admin, _csv("olga@crm.example,Olga,Staff,,DE,en,,,,"), dry_run=False)

    row = done.rows.get()
    assert row.outcome == RowOutcome.ERROR
    assert "email" in row.messages


def test_a_full_name_column_and_semicolons_are_accepted(admin, world):
    data = b"Email;Name;Phone\nsemi@leads.example;Semi Colon;+44 20 7946 0958\n"
    done = _run(admin, data, dry_run=False, name="export.CSV")

    assert _outcomes(done) == {2: RowOutcome.IMPORTED}
    record = ClientRecord.objects.get(email="semi@leads.example")
    assert (record.full_name, record.phone) == ("Semi Colon", "+442079460958")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("leads.csv", b"", "empty"),
        ("leads.csv", b"email,full_name\n", "no rows"),
        ("leads.xlsx", b"PK\x03\x04\x00\x00binary", "not a CSV"),
        ("leads.csv", b"email,full_name\n\x00\x01\x02,x\n", "not a CSV"),
        (
            "leads.csv",
            "email,full_name\nj\u00fcrgen@x.example,J\u00fcrgen\n".encode("latin-1"),
            "UTF-8",
        ),
        ("leads.csv", b"mail address,phone\nx@y.example,+4915112345678\n", "Required column"),
        ("leads.csv", b"email,first_name\nx@y.example,X\n", "first_name + last_name"),
    ],
)
def test_bad_uploads_are_refused_with_a_message_and_nothing_stored(admin, name, data, message):
    with pytest.raises(Exception) as refused:
        imports.import_create(actor=admin, name=name, data=data, dry_run=True)

    assert message in " ".join(refused.value.message_dict["file"])
    assert LeadImport.objects.count() == 0


def test_an_oversized_or_too_long_file_is_refused(admin, monkeypatch):
    monkeypatch.setattr(imports, "MAX_BYTES", 100)
    data = _csv(*(f"l{i}@leads.example,L,{i},,,,,,," for i in range(10)))
    with pytest.raises(Exception) as refused:
        imports.import_create(actor=admin, name="big.csv", data=data, dry_run=True)
    assert "larger than" in refused.value.message_dict["file"][0]

    monkeypatch.setattr(imports, "MAX_BYTES", 10_000)
    monkeypatch.setattr(imports, "MAX_ROWS", 5)
    with pytest.raises(Exception) as refused:
        imports.import_create(actor=admin, name="big.csv", data=data, dry_run=True)
    assert "at most 5" in refused.value.message_dict["file"][0]
    assert LeadImport.objects.count() == 0


def test_the_report_csv_lists_every_row_and_defuses_formulas(admin, world):
    data = _csv(
        "ok@leads.example,Ok,Lead,,DE,en,,,,",
        "=HYPERLINK(1)@x,Bad,Mail,,DE,en,,,,",
    )
    done = _run(admin, data, dry_run=True)

    lines = list(csv.reader(io.StringIO("".join(imports.report_csv(done)))))
    assert lines[0][:3] == ["row", "email", "outcome"]
    assert [line[0] for line in lines[1:]] == ["2", "3"]
    assert lines[1][2] == "Would import"
    assert lines[2][1].startswith("'=")
    assert "email:" in lines[2][6]


def test_a_task_delivered_twice_runs_the_import_once(admin, world):
    lead_import = imports.import_create(actor=admin, name="l.csv", data=MIXED, dry_run=False)
    assert imports.import_process(lead_import.pk) is not None
    assert imports.import_process(lead_import.pk) is None
    assert LeadImportRow.objects.filter(lead_import=lead_import).count() == 11


# --- Pages -------------------------------------------------------------------------------------


@pytest.fixture
def page(tenant_client, admin):
    return sign_in(tenant_client, admin)


def test_the_page_uploads_a_dry_run_shows_the_report_and_runs_it_for_real(page, world):
    response = page.get(reverse("backoffice:crm:imports"))
    assert response.status_code == 200
    assert b"Download the template" in response.content

    upload = SimpleUploadedFile("leads.csv", MIXED, content_type="text/csv")
    response = page.post(reverse("backoffice:crm:imports"), {"file": upload, "mode": "dry_run"})
    assert response.status_code == 302
    dry = LeadImport.objects.get()
    assert not ClientRecord.objects.filter(email="anna@leads.example").exists()

    detail = page.get(response["Location"])
    assert detail.status_code == 200
    assert detail.content.count(b'data-testid="import-report-row"') == 11
    assert b"No active staff member has this e-mail address." in detail.content
    assert b"Import 3 rows now" in detail.content
    errors = page.get(response["Location"] + "?outcome=error")
    assert errors.content.count(b'data-testid="import-report-row"') == 6
    partial = page.get(response["Location"], HTTP_HX_REQUEST="true")
    assert b'id="import-progress"' in partial.content and b"<html" not in partial.content
    assert b"11 of 11 rows" in partial.content

    run = page.post(reverse("backoffice:crm:import-run", kwargs={"public_id": dry.public_id}))
    assert run.status_code == 302
    real = LeadImport.objects.get(dry_run=False)
    assert real.imported_count == 3
    assert ClientRecord.objects.filter(email="anna@leads.example").exists()

    report = page.get(reverse("backoffice:crm:import-report", kwargs={"public_id": real.public_id}))
    assert report["Content-Type"] == "text/csv"
    assert report.content.count(b"\n") == 12


def test_the_page_shows_field_messages_for_a_bad_file_and_stores_nothing(page):
    upload = SimpleUploadedFile("leads.csv", b"name\nX\n", content_type="text/csv")
    response = page.post(reverse("backoffice:crm:imports"), {"file": upload, "mode": "import"})

    assert response.status_code == 400
    assert b"Required column missing: email" in response.content
    assert LeadImport.objects.count() == 0


def test_the_template_downloads_and_imports_cleanly(page, admin):
    response = page.get(reverse("backoffice:crm:import-template"))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    done = _run(admin, response.content, dry_run=True)
    assert _outcomes(done) == {2: RowOutcome.WOULD_IMPORT}


def test_an_import_outside_the_actor_s_scope_is_a_404(tenant_client, admin, world):
    dry = _run(admin, MIXED, dry_run=True)
    role = Role.objects.create(name="Own importer", codes=["clients.import"], scope="own")
    other = sign_in(tenant_client, user_make("own@crm.example", roles=[role]))

    url = reverse("backoffice:crm:import", kwargs={"public_id": dry.public_id})
    assert other.get(url).status_code == 404
    api_url = reverse("crm-api:import", kwargs={"public_id": dry.public_id})
    assert other.get(api_url).status_code == 404
    assert other.get(reverse("crm-api:imports")).json()["count"] == 0


# --- API -------------------------------------------------------------------------------------


def test_the_api_imports_a_file_and_reports_its_status(page, world):
    upload = SimpleUploadedFile("leads.csv", MIXED, content_type="text/csv")
    response = page.post(reverse("crm-api:imports"), {"file": upload, "dry_run": "true"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["dry_run"], body["imported"], body["errors"]) == (
        "done",
        True,
        3,
        6,
    )
    assert body["progress"] == "11 of 11 rows"
    assert not ClientRecord.objects.filter(email="anna@leads.example").exists()

    detail = page.get(reverse("crm-api:import", kwargs={"public_id": body["id"]}))
    rows = detail.json()["report"]["results"]
    assert [r["row"] for r in rows] == list(range(2, 13))
    assert rows[2]["messages"] == {"email": ["Not a valid e-mail address."]}
    errors = page.get(
        reverse("crm-api:import", kwargs={"public_id": body["id"]}) + "?outcome=duplicate"
    )
    assert [r["row"] for r in errors.json()["report"]["results"]] == [10, 11]
    assert (
        page.get(
            reverse("crm-api:import", kwargs={"public_id": body["id"]}) + "?outcome=nope"
        ).status_code
        == 400
    )

    upload = SimpleUploadedFile("leads.csv", MIXED, content_type="text/csv")
    real = page.post(reverse("crm-api:imports"), {"file": upload, "dry_run": "false"})
    assert real.status_code == 201
    assert real.json()["imported"] == 3
    report = page.get(reverse("crm-api:import-report", kwargs={"public_id": real.json()["id"]}))
    assert report.status_code == 200
    assert b"anna@leads.example" in report.content


@pytest.mark.parametrize(
    ("files", "field"),
    [
        ({}, "file"),
        ({"file": ("x.csv", b"")}, "file"),
        ({"file": ("x.pdf", b"%PDF-1.4")}, "file"),
        ({"file": ("x.csv", b"nothing,useful\n1,2\n")}, "file"),
    ],
)
def test_the_api_refuses_bad_files_with_400_and_stores_nothing(page, files, field):
    data = {name: SimpleUploadedFile(n, b) for name, (n, b) in files.items()}
    response = page.post(reverse("crm-api:imports"), data)

    assert response.status_code == 400
    assert field in response.json()
    assert LeadImport.objects.count() == 0


def test_the_import_endpoints_are_in_the_openapi_document(page):
    schema = yaml.safe_load(page.get(reverse("api-schema")).content)

    assert "post" in schema["paths"]["/api/v1/crm/imports/"]
    assert "get" in schema["paths"]["/api/v1/crm/imports/{public_id}/"]
    assert "get" in schema["paths"]["/api/v1/crm/imports/{public_id}/report/"]


def test_sales_cannot_import(tenant_client, make_staff, world):
    sales = sign_in(tenant_client, make_staff("seller"))
    upload = SimpleUploadedFile("leads.csv", MIXED, content_type="text/csv")

    assert sales.post(reverse("crm-api:imports"), {"file": upload}).status_code == 403
    assert sales.get(reverse("backoffice:crm:imports")).status_code == 403
    assert LeadImport.objects.count() == 0


# --- The worker ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.committed
def test_a_large_import_runs_on_a_real_worker_in_the_tenant(
    committed_tenant, celery_worker_process
):
    from brokerdesk.modules.crm.tasks import lead_import_process_task
    from brokerdesk.tenants import schemas

    lines = [f"worker{i}@leads.example,Worker,Number {i},,DE,en,,,," for i in range(250)]
    lines.append("worker0@leads.example,Worker,Twin,,DE,en,,,,")
    with schemas.tenant_context(committed_tenant):
        staff = user_make("importer@worker.example")
        with transaction.atomic():
            lead_import = imports.import_create(
                actor=staff, name="big.csv", data=_csv(*lines), dry_run=False
            )
            assert lead_import.total_rows > imports.INLINE_ROWS
            imports.import_start(lead_import)
        assert LeadImport.objects.get(pk=lead_import.pk).status in (
            ImportStatus.QUEUED,
            ImportStatus.RUNNING,
            ImportStatus.DONE,
        )
    connection.set_schema_to_public()

    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline:
        with schemas.tenant_context(committed_tenant):
            done = LeadImport.objects.get(pk=lead_import.pk)
        connection.set_schema_to_public()
        status = done.status
        if done.is_finished:
            break
        time.sleep(0.5)
    assert status == ImportStatus.DONE, done.failure
    assert (done.processed_rows, done.imported_count, done.duplicate_count) == (251, 250, 1)
    with schemas.tenant_context(committed_tenant):
        assert ClientRecord.objects.filter(email__startswith="worker").count() == 250
        # A second delivery of the task finds the import claimed and does nothing.
        assert lead_import_process_task.apply(args=[lead_import.pk]).get() is None
    connection.set_schema_to_public()
