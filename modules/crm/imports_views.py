"""Back Office pages of the lead import (clients.import): upload (dry run or real run), the
import's progress (htmx polling) and row-by-row report, the real run of a dry run, the report
and the template as CSV files."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from brokerdesk.modules.crm import imports
from brokerdesk.modules.crm.models import LeadImport, RowOutcome
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.permissions import permission_required

PAGE_SIZE = 100


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"), allow_empty_file=True)
    mode = forms.ChoiceField(
        label=gettext_lazy("What to do"),
        choices=[
            ("dry_run", gettext_lazy("Dry run: check every row, change nothing")),
            ("import", gettext_lazy("Import the valid rows now")),
        ],
        initial="dry_run",
        widget=forms.RadioSelect,
    )


def _upload_data(form: ImportForm) -> tuple[str, bytes] | None:
    upload = form.cleaned_data["file"]
    if upload.size > imports.MAX_BYTES:
        form.add_error(
            "file",
            _("The file is larger than %(mb)d MB; split it into smaller files.")
            % {"mb": imports.MAX_BYTES // (1024 * 1024)},
        )
        return None
    return upload.name, upload.read()


@permission_required("clients.import")
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    """Earlier imports and the upload form; a good upload goes to its import's page."""
    form = ImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid() and (upload := _upload_data(form)) is not None:
            try:
                lead_import = imports.import_create(
                    actor=request.user,
                    name=upload[0],
                    data=upload[1],
                    dry_run=form.cleaned_data["mode"] == "dry_run",
                )
            except ValidationError as error:
                for text in error.message_dict.get("file", error.messages):
                    form.add_error("file", text)
            else:
                imports.import_start(lead_import)
                return redirect("backoffice:crm:import", public_id=lead_import.public_id)
    page = Paginator(imports.imports_in_scope(request.user), 25).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "column_help": imports.COLUMN_HELP,
        "max_mb": imports.MAX_BYTES // (1024 * 1024),
        "max_rows": imports.MAX_ROWS,
        "can_assign": permission_check(request.user, "clients.assign"),
    }
    return render(request, "backoffice/crm/imports.html", context, status=status)


def _import(request: HttpRequest, public_id: Any) -> LeadImport:
    try:
        return imports.import_get_for_actor(public_id=public_id, actor=request.user)
    except LeadImport.DoesNotExist:
        raise Http404("No such import.") from None


@permission_required("clients.import")
@require_GET
def import_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The import's progress and report; htmx polls the progress part while it runs."""
    lead_import = _import(request, public_id)
    rows = lead_import.rows.all()
    outcome = request.GET.get("outcome", "")
    if outcome in RowOutcome.values:
        rows = rows.filter(outcome=outcome)
    context = {
        "lead_import": lead_import,
        "progress": imports.progress_label(lead_import),
        "percent": (
            100 * lead_import.processed_rows // lead_import.total_rows
            if lead_import.total_rows
            else 0
        ),
        "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
        "outcome": outcome,
        "outcomes": RowOutcome.choices,
    }
    if request.headers.get("HX-Request") == "true":
        return render(request, "backoffice/crm/_import_progress.html", context)
    return render(request, "backoffice/crm/import_detail.html", context)


@permission_required("clients.import")
@require_POST
def import_run(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Import for real the file of a finished dry run."""
    dry = _import(request, public_id)
    try:
        lead_import = imports.import_real_run_from(actor=request.user, dry=dry)
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
        return redirect("backoffice:crm:import", public_id=dry.public_id)
    imports.import_start(lead_import)
    return redirect("backoffice:crm:import", public_id=lead_import.public_id)


@permission_required("clients.import")
@require_GET
def import_report(request: HttpRequest, public_id: Any) -> HttpResponse:
    lead_import = _import(request, public_id)
    response = HttpResponse("".join(imports.report_csv(lead_import)), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="import-{lead_import.public_id}.csv"'
    return response


@permission_required("clients.import")
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(imports.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="leads-template.csv"'
    return response
