"""Lead import from CSV files: the upload's checks, a dry run that reports row by row and
changes nothing, and the real run that imports the valid, non-duplicate rows once.

Each row is validated field by field; duplicates are found with the registration's
``duplicates.duplicates_find`` against live records and against the rows before it in the
same file, and reported (never merged). A real run keys every imported row on the file's
SHA-256 and the row's number (``ImportedLead``): the same file imported again creates nothing.
Small files are processed in the request; larger ones by the ``crm.lead_import_process``
task in the uploader's tenant, with progress saved every ``PROGRESS_EVERY`` rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from brokerdesk.modules.audit.services import AuditTarget, audit_record
from brokerdesk.modules.crm import duplicates, records
from brokerdesk.modules.crm.models import (
    ImportedLead,
    ImportStatus,
    LeadImport,
    LeadImportRow,
    RowOutcome,
)
from brokerdesk.modules.crm.routing import assignable_staff
from brokerdesk.modules.crm.source import Source
from brokerdesk.modules.identity.forms import phone_e164
from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.models import Team

# Limits of one upload (settings may lower or raise them).
MAX_BYTES = getattr(settings, "CRM_IMPORT_MAX_BYTES", 5 * 1024 * 1024)
MAX_ROWS = getattr(settings, "CRM_IMPORT_MAX_ROWS", 50_000)
# Files with at most this many rows are processed in the request; larger ones by a worker.
INLINE_ROWS = getattr(settings, "CRM_IMPORT_INLINE_ROWS", 200)
PROGRESS_EVERY = 100

# The columns: canonical name → accepted headers (compared without case, spaces, - and _).
COLUMNS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "email address", "e-mail address", "mail"),
    "first_name": ("first name", "firstname", "given name", "forename"),
    "last_name": ("last name", "lastname", "surname", "family name"),
    "full_name": ("full name", "fullname", "name"),
    "phone": ("phone", "phone number", "mobile", "telephone", "tel"),
    "country": ("country", "country code"),
    "language": ("language", "lang", "language code"),
    "date_of_birth": ("date of birth", "dob", "birth date", "birthdate", "birthday"),
    "owner": ("owner", "owner email", "owner e-mail"),
    "desk": ("desk", "team"),
    "source": ("source", "utm source"),
    "medium": ("medium", "utm medium"),
    "campaign": ("campaign", "utm campaign"),
}
TEMPLATE_HEADER = [
    "email",
    "first_name",
    "last_name",
    "phone",
    "country",
    "language",
    "date_of_birth",
    "owner",
    "desk",
    "source",
    "campaign",
]
TEMPLATE_EXAMPLE = [
    "anna.schmidt@example.com",
    "Anna",
    "Schmidt",
    "+49 151 12345678",
    "DE",
    "de",
    "1988-04-21",
    "",
    "",
    "newsletter",
    "spring-2026",
]
# What each column means, for the page and the template's documentation.
COLUMN_HELP: list[tuple[str, Any]] = [
    ("email", gettext_lazy("Required. The lead's e-mail address.")),
    ("first_name, last_name", gettext_lazy("Required unless full_name is given.")),
    ("full_name", gettext_lazy("The whole name, instead of first_name and last_name.")),
    ("phone", gettext_lazy("Optional. With the country code: +44 20 7946 0958.")),
    ("country", gettext_lazy("Optional. ISO code (DE) or English name (Germany).")),
    ("language", gettext_lazy("Optional. One of the broker's languages: en, de, ar.")),
    ("date_of_birth", gettext_lazy("Optional. YYYY-MM-DD.")),
    (
        "owner",
        gettext_lazy("Optional. A staff member's e-mail; needs the right to assign clients."),
    ),
    ("desk", gettext_lazy("Optional. A desk's name; needs the right to assign clients.")),
    ("source, medium, campaign", gettext_lazy("Optional. Where the lead came from (utm_*).")),
]


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", text.strip().lower())


_HEADERS = {_header_key(alias): name for name, aliases in COLUMNS.items() for alias in aliases}
_HEADERS.update({_header_key(name): name for name in COLUMNS})


def template_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TEMPLATE_HEADER)
    writer.writerow(TEMPLATE_EXAMPLE)
    return out.getvalue()


# --- The upload ---------------------------------------------------------------------------


@dataclass
class ParsedFile:
    name: str
    text: str
    sha256: str
    columns: dict[int, str]
    rows: int


def _reader(text: str) -> Iterator[list[str]]:
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return csv.reader(io.StringIO(text), dialect)


def upload_parse(*, name: str, data: bytes) -> ParsedFile:
    """Check an uploaded file and map its header; ``ValidationError`` on ``file`` otherwise."""

    def refuse(message: str) -> ValidationError:
        return ValidationError({"file": [message]})

    name = (name or "leads.csv").rsplit("/", 1)[-1][:200]
    if not data.strip():
        raise refuse(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise refuse(
            _("The file is larger than %(mb)d MB; split it into smaller files.")
            % {"mb": MAX_BYTES // (1024 * 1024)}
        )
    if not name.lower().endswith((".csv", ".txt")) or b"\x00" in data[:8192]:
        raise refuse(_("This is not a CSV file. Save the sheet as CSV (UTF-8) and upload that."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse(
            _("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.")
        ) from None
    try:
        lines = list(_reader(text))
    except csv.Error as exc:
        raise refuse(_("The file is not a readable CSV file: %(error)s") % {"error": exc}) from None
    header = lines[0] if lines else []
    columns: dict[int, str] = {}
    for index, title in enumerate(header):
        canonical = _HEADERS.get(_header_key(title))
        if canonical and canonical not in columns.values():
            columns[index] = canonical
    found = set(columns.values())
    missing = []
    if "email" not in found:
        missing.append("email")
    if "full_name" not in found and not {"first_name", "last_name"} <= found:
        missing.append("full_name " + _("or") + " first_name + last_name")
    if missing:
        raise refuse(
            _("Required column missing: %(columns)s. Download the template to see the columns.")
            % {"columns": ", ".join(missing)}
        )
    rows = sum(1 for line in lines[1:] if any(cell.strip() for cell in line))
    if rows == 0:
        raise refuse(_("The file has a header but no rows."))
    if rows > MAX_ROWS:
        raise refuse(
            _("The file has %(rows)d rows; at most %(max)d are imported at once.")
            % {"rows": rows, "max": MAX_ROWS}
        )
    return ParsedFile(
        name=name, text=text, sha256=hashlib.sha256(data).hexdigest(), columns=columns, rows=rows
    )


@transaction.atomic
def import_create(*, actor: User, name: str, data: bytes, dry_run: bool) -> LeadImport:
    """Store a checked upload as an import waiting to run (nothing else changes)."""
    parsed = upload_parse(name=name, data=data)
    lead_import = LeadImport.objects.create(
        created_by=actor,
        file_name=parsed.name,
        file_sha256=parsed.sha256,
        content=parsed.text,
        dry_run=dry_run,
        may_assign=permission_check(actor, "clients.assign"),
        total_rows=parsed.rows,
    )
    return lead_import


@transaction.atomic
def import_real_run_from(*, actor: User, dry: LeadImport) -> LeadImport:
    """The real run of a finished dry run's file."""
    if not dry.dry_run:
        raise ValidationError({"import": [_("This import was already a real run.")]})
    if not dry.is_finished:
        raise ValidationError({"import": [_("Wait until the dry run has finished.")]})
    return LeadImport.objects.create(
        created_by=actor,
        file_name=dry.file_name,
        file_sha256=dry.file_sha256,
        content=dry.content,
        dry_run=False,
        may_assign=permission_check(actor, "clients.assign"),
        total_rows=dry.total_rows,
    )


def import_start(lead_import: LeadImport) -> None:
    """Process small files now, larger ones on a worker (sent after the commit, from the
    tenant's schema so the task carries it)."""
    if lead_import.total_rows <= INLINE_ROWS:
        import_process(lead_import.pk)
        return
    from brokerdesk.modules.crm.tasks import lead_import_process_task

    pk = lead_import.pk
    transaction.on_commit(lambda: lead_import_process_task.delay(pk))


# --- Rows ----------------------------------------------------------------------------------


@dataclass
class RowData:
    number: int
    email: str = ""
    full_name: str = ""
    phone: str = ""
    country: str = ""
    language: str = ""
    date_of_birth: date | None = None
    owner: User | None = None
    desk: Team | None = None
    source: Source | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


class _Lookups:
    """Staff and desks looked up once per import, not once per row."""

    def __init__(self) -> None:
        self.staff = {u.email.lower(): u for u in assignable_staff()}
        self.desks = {d.name.strip().casefold(): d for d in Team.objects.all()}
        self.languages = {code.lower() for code, _name in settings.LANGUAGES}


def _country(value: str) -> str | None:
    try:
        return pycountry.countries.lookup(value).alpha_2
    except LookupError:
        return None


def row_validate(
    number: int, cells: dict[str, str], lookups: _Lookups, *, may_assign: bool
) -> RowData:
    row = RowData(number=number)
    email = cells.get("email", "").strip().lower()
    row.email = email[:254]
    if not email:
        row.error("email", _("The e-mail address is missing."))
    else:
        try:
            validate_email(email)
        except ValidationError:
            row.error("email", _("Not a valid e-mail address."))
    full_name = cells.get("full_name", "").strip() or " ".join(
        part
        for part in (cells.get("first_name", "").strip(), cells.get("last_name", "").strip())
        if part
    )
    if not full_name:
        row.error("full_name", _("The name is missing."))
    elif len(full_name) > 150:
        row.error("full_name", _("The name is longer than 150 characters."))
    row.full_name = " ".join(full_name.split())
    if phone := cells.get("phone", "").strip():
        try:
            row.phone = phone_e164(phone)
        except ValidationError as exc:
            row.error("phone", " ".join(exc.messages))
    if country := cells.get("country", "").strip():
        code = _country(country)
        if code is None:
            row.error("country", _("Unknown country: %(value)s.") % {"value": country[:60]})
        row.country = code or ""
    if language := cells.get("language", "").strip().lower():
        if language not in lookups.languages:
            row.error(
                "language",
                _("Unknown language: %(value)s (use %(codes)s).")
                % {"value": language[:20], "codes": ", ".join(sorted(lookups.languages))},
            )
        row.language = language if language in lookups.languages else ""
    if born := cells.get("date_of_birth", "").strip():
        try:
            row.date_of_birth = date.fromisoformat(born)
        except ValueError:
            row.error("date_of_birth", _("Write the date of birth as YYYY-MM-DD."))
        else:
            if not date(1900, 1, 1) <= row.date_of_birth <= timezone.localdate():
                row.error("date_of_birth", _("The date of birth is not plausible."))
    owner_email = cells.get("owner", "").strip().lower()
    desk_name = cells.get("desk", "").strip()
    if (owner_email or desk_name) and not may_assign:
        row.error("owner", _("You may not assign owners or desks; leave these columns empty."))
    else:
        if owner_email:
            row.owner = lookups.staff.get(owner_email)
            if row.owner is None:
                row.error("owner", _("No active staff member has this e-mail address."))
        if desk_name:
            row.desk = lookups.desks.get(desk_name.casefold())
            if row.desk is None:
                row.error("desk", _("No desk has this name."))
    utm = {
        "utm_source": cells.get("source", "").strip()[:100],
        "utm_medium": cells.get("medium", "").strip()[:100],
        "utm_campaign": cells.get("campaign", "").strip()[:100],
    }
    if any(utm.values()):
        row.source = Source(**utm)
    return row


def _rows(lead_import: LeadImport) -> Iterator[tuple[int, dict[str, str]]]:
    parsed = upload_parse(name=lead_import.file_name, data=lead_import.content.encode("utf-8"))
    reader = _reader(lead_import.content)
    next(reader, None)
    for offset, line in enumerate(reader, start=2):
        if not any(cell.strip() for cell in line):
            continue
        yield (
            offset,
            {name: line[i] for i, name in parsed.columns.items() if i < len(line)},
        )


class _SeenInFile:
    """The earlier rows of the file, by what makes two rows the same person."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, ...], int] = {}

    @staticmethod
    def keys(row: RowData) -> list[tuple[tuple[str, ...], str]]:
        found = []
        if row.email:
            found.append((("email", records.email_key(row.email)), "email"))
        if row.phone:
            found.append((("phone", row.phone), "phone"))
        if row.full_name and row.date_of_birth:
            key = ("name_dob", records.name_key(row.full_name), row.date_of_birth.isoformat())
            found.append((key, "name_dob"))
        return found

    def match(self, row: RowData) -> tuple[int, list[str]] | None:
        earlier, reasons = None, []
        for key, reason in self.keys(row):
            if key in self.by_key:
                earlier = earlier or self.by_key[key]
                reasons.append(reason)
        return (earlier, reasons) if earlier else None

    def add(self, row: RowData) -> None:
        for key, _reason in self.keys(row):
            self.by_key.setdefault(key, row.number)


def _outcome(
    lead_import: LeadImport, row: RowData, seen: _SeenInFile, done: dict[int, Any]
) -> LeadImportRow:
    report = LeadImportRow(lead_import=lead_import, number=row.number, email=row.email)
    if row.number in done:
        report.outcome = RowOutcome.ALREADY_IMPORTED
        report.client_public_id = done[row.number]
        return report
    if row.errors:
        report.outcome, report.messages = RowOutcome.ERROR, row.errors
        return report
    earlier = seen.match(row)
    seen.add(row)
    if earlier is not None:
        report.outcome = RowOutcome.DUPLICATE
        report.duplicate_of = _("row %(number)d") % {"number": earlier[0]}
        report.reasons = earlier[1]
        return report
    matches = duplicates.duplicates_find(
        email_key=records.email_key(row.email),
        phone=row.phone,
        name_key=records.name_key(row.full_name),
        date_of_birth=row.date_of_birth,
    )
    if matches:
        report.outcome = RowOutcome.DUPLICATE
        report.duplicate_of = str(matches[0].record.user.public_id)
        report.reasons = list(matches[0].reasons)
        return report
    account = User.objects.filter(email=row.email).first()
    if account is not None:
        # Staff, partners or clients merged away: the address is taken, but no live record.
        report.outcome = RowOutcome.ERROR
        report.messages = {"email": [_("An account with this e-mail address exists.")]}
        return report
    if lead_import.dry_run:
        report.outcome = RowOutcome.WOULD_IMPORT
        return report
    try:
        record = _lead_import_one(lead_import, row)
    except ValidationError as exc:
        report.outcome = RowOutcome.ERROR
        report.messages = {k: list(v) for k, v in exc.message_dict.items()}
        return report
    report.outcome, report.client_public_id = RowOutcome.IMPORTED, record.user.public_id
    return report


def _lead_import_one(lead_import: LeadImport, row: RowData) -> Any:
    with transaction.atomic():
        record = records.lead_create(
            actor=lead_import.created_by,
            email=row.email,
            full_name=row.full_name,
            phone=row.phone,
            country=row.country,
            language=row.language,
            date_of_birth=row.date_of_birth,
            source=row.source,
            owner=row.owner,
            desk=row.desk,
            reason=_("Imported from %(file)s") % {"file": lead_import.file_name},
        )
        ImportedLead.objects.create(
            file_sha256=lead_import.file_sha256,
            number=row.number,
            record=record,
            lead_import=lead_import,
        )
    return record


_COUNTERS = {
    RowOutcome.IMPORTED: "imported_count",
    RowOutcome.WOULD_IMPORT: "imported_count",
    RowOutcome.DUPLICATE: "duplicate_count",
    RowOutcome.ERROR: "error_count",
    RowOutcome.ALREADY_IMPORTED: "skipped_count",
}


def import_process(pk: int) -> LeadImport | None:
    """Run an import (dry or real) in the current tenant. Claimed once: a queued import moves
    to running by compare-and-swap, so a task delivered twice does the work once."""
    claimed = LeadImport.objects.filter(pk=pk, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    lead_import = LeadImport.objects.select_related("created_by").get(pk=pk)
    try:
        _process(lead_import)
    except Exception as exc:
        LeadImport.objects.filter(pk=pk).update(
            status=ImportStatus.FAILED, finished_at=timezone.now(), failure=str(exc)[:2000]
        )
        raise
    lead_import.refresh_from_db()
    return lead_import


def _process(lead_import: LeadImport) -> None:
    lookups = _Lookups()
    seen = _SeenInFile()
    done = dict(
        ImportedLead.objects.filter(file_sha256=lead_import.file_sha256).values_list(
            "number", "record__user__public_id"
        )
    )
    counts = dict.fromkeys(set(_COUNTERS.values()), 0)
    batch: list[LeadImportRow] = []
    processed = 0

    def flush() -> None:
        LeadImportRow.objects.bulk_create(batch)
        LeadImport.objects.filter(pk=lead_import.pk).update(processed_rows=processed, **counts)
        batch.clear()

    for number, cells in _rows(lead_import):
        row = row_validate(number, cells, lookups, may_assign=lead_import.may_assign)
        report = _outcome(lead_import, row, seen, done)
        counts[_COUNTERS[RowOutcome(report.outcome)]] += 1
        batch.append(report)
        processed += 1
        if len(batch) >= PROGRESS_EVERY:
            flush()
    with transaction.atomic():
        flush()
        now = timezone.now()
        LeadImport.objects.filter(pk=lead_import.pk).update(
            status=ImportStatus.DONE, finished_at=now, total_rows=processed
        )
        audit_record(
            actor=lead_import.created_by,
            action="crm.import_dry_run" if lead_import.dry_run else "crm.imported",
            target=AuditTarget(type="lead_import", public_id=str(lead_import.public_id)),
            before=None,
            after={
                "file": lead_import.file_name,
                "sha256": lead_import.file_sha256,
                "rows": processed,
                "imported": 0 if lead_import.dry_run else counts["imported_count"],
                "would_import": counts["imported_count"] if lead_import.dry_run else 0,
                "duplicates": counts["duplicate_count"],
                "errors": counts["error_count"],
                "already_imported": counts["skipped_count"],
            },
        )


# --- The report ------------------------------------------------------------------------------


def report_csv(lead_import: LeadImport) -> Iterator[str]:
    """The row-by-row report as CSV lines (streamed)."""
    out = io.StringIO()
    writer = csv.writer(out)
    labels = dict(RowOutcome.choices)

    def line(values: list[Any]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow([_cell(v) for v in values])
        return out.getvalue()

    yield line(["row", "email", "outcome", "duplicate_of", "reasons", "client", "messages"])
    for row in lead_import.rows.order_by("number").iterator(chunk_size=1000):
        messages = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in row.messages.items())
        yield line(
            [
                row.number,
                row.email,
                str(labels.get(row.outcome, row.outcome)),
                row.duplicate_of,
                ",".join(row.reasons),
                row.client_public_id or "",
                messages,
            ]
        )


def _cell(value: Any) -> str:
    """Cells that a spreadsheet would run as a formula are quoted with a leading '."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def progress_label(lead_import: LeadImport) -> str:
    return _("%(done)s of %(total)s rows") % {
        "done": f"{lead_import.processed_rows:,}",
        "total": f"{lead_import.total_rows:,}",
    }


# --- Reading ---------------------------------------------------------------------------------


def imports_in_scope(actor: User) -> Any:
    """The imports ``actor`` may see: their own, their team's or all (clients.import scope)."""
    from brokerdesk.modules.identity.rbac.checks import scope_queryset

    return scope_queryset(
        actor, "clients.import", LeadImport.objects.all(), owner_field="created_by"
    ).select_related("created_by")


def import_get_for_actor(*, public_id: Any, actor: User) -> LeadImport:
    """One import in ``actor``'s scope; ``LeadImport.DoesNotExist`` otherwise (a 404)."""
    return imports_in_scope(actor).get(public_id=public_id)
