"""Back Office pages of the CRM: client and lead lists, the client 360 record with its
timeline and notes, reassignment, duplicates and merges, segments, routing rules and settings.

Thin views: ``permission_required`` decides access (anonymous → login, no code → 403), the
``record_get_for_actor`` choke point loads clients (missing or outside scope → 404), services
hold the rules. Bad input re-renders with field messages and status 400; nothing is saved.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from brokerdesk.modules.crm import duplicates, records, rules, segments
from brokerdesk.modules.crm.forms import (
    ClientFilterForm,
    CrmSettingsForm,
    NoteForm,
    ReassignForm,
    RoutingRuleForm,
    service_errors_to_form,
)
from brokerdesk.modules.crm.models import DuplicateFlag, DuplicateStatus, RoutingRule, Stage
from brokerdesk.modules.crm.regions import REGIONS
from brokerdesk.modules.crm.routing import assignable_staff, crm_settings_get
from brokerdesk.modules.crm.selectors import (
    ClientFilters,
    ClientNotFound,
    clients_page,
    record_get_for_actor,
    records_in_scope,
)
from brokerdesk.modules.crm.three_sixty import client_360
from brokerdesk.modules.crm.timeline import timeline_for
from brokerdesk.modules.identity.rbac.models import Team
from brokerdesk.modules.identity.rbac.permissions import permission_required

PAGE_SIZE = 50


def _record(request: HttpRequest, public_id: Any, code: str = "clients.view") -> Any:
    try:
        return record_get_for_actor(public_id=public_id, actor=request.user, code=code)
    except ClientNotFound:
        raise Http404("No such client.") from None


def _choices() -> dict[str, Any]:
    return {"staff": list(assignable_staff().order_by("email")), "desks": list(Team.objects.all())}


# --- Lists ------------------------------------------------------------------------------------

_STAGE_LABELS = dict(Stage.choices)


def _row(row: dict[str, Any]) -> dict[str, Any]:
    """A list row with its stage's words and its local creation time, ready to print."""
    row["stage_label"] = _STAGE_LABELS.get(row["stage"], row["stage"])
    row["created"] = timezone.localtime(row["created_at"]).strftime("%Y-%m-%d %H:%M")
    return row


def _list(request: HttpRequest, view: str) -> HttpResponse:
    form = ClientFilterForm(request.GET or None)
    page, status = None, 200
    if form.is_bound and not form.is_valid():
        status = 400
    else:
        filters = form.filters(view=view) if form.is_bound else ClientFilters(view=view)
        page = clients_page(
            actor=request.user, filters=filters, number=request.GET.get("page"), size=PAGE_SIZE
        )
        page.object_list = [_row(row) for row in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        # The filters are plain inputs in the template (widget templates cost more than the
        # fifty rows): their current values and the choices they offer.
        "values": {name: request.GET.get(name, "") for name in form.fields},
        "selected_stages": request.GET.getlist("stages"),
        "stage_choices": Stage.choices,
        "sort_choices": form.fields["sort"].choices,
        "languages": settings.LANGUAGES,
        "page": page,
        "query": query.urlencode(),
        "view": view,
        "segments": [
            {"name": segment.name, "url": _segment_url(segment)}
            for segment in segments.segment_list()
        ],
        # Rows link to the 360 by appending the id (one reverse, not fifty).
        "detail_base": reverse("backoffice:clients"),
        "list_url": reverse("backoffice:clients" if view == "clients" else "backoffice:crm:leads"),
        **_choices(),
    }
    partial = request.headers.get("HX-Request") == "true"
    template = "backoffice/crm/_results.html" if partial else "backoffice/crm/list.html"
    return render(request, template, context, status=status)


@permission_required("clients.view")
@require_GET
def client_list(request: HttpRequest) -> HttpResponse:
    """Funded clients and beyond (and every stage with a stage filter)."""
    return _list(request, "clients")


@permission_required("clients.view")
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    """Leads: registered, KYC pending or approved, not yet funded."""
    return _list(request, "leads")


# --- The client 360 -----------------------------------------------------------------------


def _detail(
    request: HttpRequest,
    record: Any,
    *,
    note_form: Any = None,
    assign_form: Any = None,
    status: int = 200,
) -> HttpResponse:
    context = client_360(record, actor=request.user)
    context["note_form"] = note_form or NoteForm()
    context["assign_form"] = assign_form or ReassignForm(**_choices())
    return render(request, "backoffice/crm/detail.html", context, status=status)


@permission_required("clients.view")
@require_GET
def client_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _detail(request, _record(request, public_id))


@permission_required("clients.view")
@require_GET
def client_timeline(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Older timeline items (htmx "show older"): ``before`` is an ISO time."""
    from django.utils.dateparse import parse_datetime

    record = _record(request, public_id)
    before = parse_datetime(request.GET.get("before", "") or "")
    if request.GET.get("before") and before is None:
        return HttpResponse(_("Not a valid time."), status=400)
    items = timeline_for(record, actor=request.user, before=before)
    return render(request, "backoffice/crm/_timeline.html", {"record": record, "timeline": items})


@permission_required("clients.edit")
@require_POST
def note_add(request: HttpRequest, public_id: Any) -> HttpResponse:
    record = _record(request, public_id, "clients.edit")
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            records.note_add(actor=request.user, record=record, text=form.cleaned_data["text"])
        except ValidationError as error:
            service_errors_to_form(form, error)
        else:
            messages.success(request, _("Note added."))
            return redirect("backoffice:crm:detail", public_id=public_id)
    return _detail(request, record, note_form=form, status=400)


@permission_required("clients.assign")
@require_POST
def client_assign(request: HttpRequest, public_id: Any) -> HttpResponse:
    record = _record(request, public_id, "clients.assign")
    form = ReassignForm(request.POST, **_choices())
    if form.is_valid():
        try:
            records.record_reassign(
                actor=request.user,
                record=record,
                owner_id=form.cleaned_data["owner"],
                desk_id=form.cleaned_data["desk"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            service_errors_to_form(form, error)
        else:
            messages.success(request, _("Client reassigned."))
            return redirect("backoffice:crm:detail", public_id=public_id)
    return _detail(request, record, assign_form=form, status=400)


# --- Duplicates and merges ------------------------------------------------------------------


@permission_required("clients.merge")
@require_GET
def duplicate_list(request: HttpRequest) -> HttpResponse:
    in_scope = records_in_scope(request.user, "clients.merge")
    flags = (
        DuplicateFlag.objects.filter(status=DuplicateStatus.OPEN, record__in=in_scope)
        .select_related(
            "record__user", "duplicate_of__user", "record__owner", "duplicate_of__owner"
        )
        .order_by("-created_at", "-pk")
    )
    page = Paginator(flags, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "backoffice/crm/duplicates.html", {"page": page})


@permission_required("clients.merge")
@require_POST
def client_merge(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Merge the client named in the form (``merge``) into this one."""
    keep = _record(request, public_id, "clients.merge")
    try:
        merge = record_get_for_actor(
            public_id=request.POST.get("merge", ""), actor=request.user, code="clients.merge"
        )
    except ClientNotFound:
        messages.error(request, _("Choose a client you can see to merge into this one."))
        return _detail(request, keep, status=400)
    try:
        duplicates.client_merge(
            actor=request.user, keep=keep, merge=merge, reason=request.POST.get("reason", "")
        )
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
        return _detail(request, keep, status=400)
    messages.success(request, _("%(email)s was merged into this client.") % {"email": merge.email})
    return redirect("backoffice:crm:detail", public_id=public_id)


@permission_required("clients.merge")
@require_POST
def duplicate_dismiss(request: HttpRequest, public_id: Any) -> HttpResponse:
    flag = _flag(request, public_id)
    try:
        duplicates.duplicate_dismiss(actor=request.user, flag=flag)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Marked as not a duplicate."))
    return redirect("backoffice:crm:duplicates")


def _flag(request: HttpRequest, public_id: Any) -> DuplicateFlag:
    in_scope = records_in_scope(request.user, "clients.merge")
    flag = (
        DuplicateFlag.objects.filter(public_id=public_id, record__in=in_scope)
        .select_related("record__user", "duplicate_of__user")
        .first()
    )
    if flag is None:
        raise Http404("No such duplicate flag.")
    return flag


# --- Segments ---------------------------------------------------------------------------------


@permission_required("clients.view")
@require_POST
def segment_create(request: HttpRequest) -> HttpResponse:
    """Save the list's current filters (sent as the query string in ``filters``)."""
    from django.http import QueryDict

    query = QueryDict(request.POST.get("filters", ""))
    filters: dict[str, Any] = {
        k: query.getlist(k) if k == "stages" else query.get(k) for k in query
    }
    filters.pop("page", None)
    if filters.get("duplicates"):
        filters["duplicates"] = True
    filters["view"] = request.POST.get("view", "all")
    try:
        segment = segments.segment_create(
            actor=request.user, name=request.POST.get("name", ""), filters=filters
        )
    except ValidationError as error:
        for field, texts in error.message_dict.items():
            for text in texts:
                messages.error(request, f"{field}: {text}" if field != "name" else text)
        return redirect(request.POST.get("back") or reverse("backoffice:clients"))
    messages.success(request, _("Segment “%(name)s” saved.") % {"name": segment.name})
    return redirect(_segment_url(segment))


def _segment_url(segment: Any) -> str:
    from django.utils.http import urlencode

    data = dict(segment.filters)
    view = data.pop("view", "all")
    base = reverse("backoffice:crm:leads" if view == "leads" else "backoffice:clients")
    return f"{base}?{urlencode(data, doseq=True)}" if data else base


@permission_required("clients.view")
@require_POST
def segment_delete(request: HttpRequest, public_id: Any) -> HttpResponse:
    try:
        segment = segments.segment_get_for_actor(public_id=public_id, actor=request.user)
    except ObjectDoesNotExist:
        raise Http404("No such segment.") from None
    segments.segment_delete(actor=request.user, segment=segment)
    messages.success(request, _("Segment deleted."))
    return redirect("backoffice:clients")


# --- Routing rules and CRM settings (config.manage) -----------------------------------------


def _rule(public_id: Any) -> RoutingRule:
    rule = RoutingRule.objects.filter(public_id=public_id).select_related("owner", "desk").first()
    if rule is None:
        raise Http404("No such routing rule.")
    return rule


def _rule_data(form: RoutingRuleForm) -> dict[str, Any]:
    return dict(form.cleaned_data)


def _routing_page(
    request: HttpRequest, form: RoutingRuleForm, *, status: int = 200
) -> HttpResponse:
    context = {
        "rules": list(
            RoutingRule.objects.select_related("owner", "desk").order_by("position", "pk")
        ),
        "form": form,
        "settings_row": crm_settings_get(),
        "regions": REGIONS,
    }
    return render(request, "backoffice/crm/routing.html", context, status=status)


@permission_required("config.manage")
@require_http_methods(["GET", "POST"])
def routing(request: HttpRequest) -> HttpResponse:
    """The ordered rules, and a form to add one at the end."""
    form = RoutingRuleForm(request.POST or None, initial={"is_active": True}, **_choices())
    if request.method == "POST":
        if form.is_valid():
            try:
                rules.rule_create(actor=request.user, data=_rule_data(form))
            except ValidationError as error:
                service_errors_to_form(form, error)
            else:
                messages.success(request, _("Rule added."))
                return redirect("backoffice:crm:routing")
        return _routing_page(request, form, status=400)
    return _routing_page(request, form)


@permission_required("config.manage")
@require_http_methods(["GET", "POST"])
def routing_edit(request: HttpRequest, public_id: Any) -> HttpResponse:
    rule = _rule(public_id)
    initial = {
        "name": rule.name,
        "is_active": rule.is_active,
        "countries": " ".join(rule.countries),
        "regions": rule.regions,
        "languages": rule.languages,
        "ib_referred_only": rule.ib_referred_only,
        "target": rule.target,
        "owner": str(rule.owner.public_id) if rule.owner_id else "",
        "desk": str(rule.desk.public_id) if rule.desk_id else "",
    }
    form = RoutingRuleForm(request.POST or None, initial=initial, **_choices())
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rules.rule_update(actor=request.user, rule=rule, data=_rule_data(form))
            except ValidationError as error:
                service_errors_to_form(form, error)
            else:
                messages.success(request, _("Rule saved."))
                return redirect("backoffice:crm:routing")
        status = 400
    return render(
        request, "backoffice/crm/routing_edit.html", {"rule": rule, "form": form}, status=status
    )


@permission_required("config.manage")
@require_POST
def routing_move(request: HttpRequest, public_id: Any) -> HttpResponse:
    rule = _rule(public_id)
    try:
        rules.rule_move(actor=request.user, rule=rule, position=request.POST.get("position"))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _routing_page(request, RoutingRuleForm(**_choices()), status=400)
    return redirect("backoffice:crm:routing")


@permission_required("config.manage")
@require_POST
def routing_delete(request: HttpRequest, public_id: Any) -> HttpResponse:
    rules.rule_delete(actor=request.user, rule=_rule(public_id))
    messages.success(request, _("Rule deleted."))
    return redirect("backoffice:crm:routing")


@permission_required("config.manage")
@require_http_methods(["GET", "POST"])
def crm_settings(request: HttpRequest) -> HttpResponse:
    row = crm_settings_get()
    initial = {
        "fallback_owner": str(row.fallback_owner.public_id) if row.fallback_owner_id else "",
        "fallback_desk": str(row.fallback_desk.public_id) if row.fallback_desk_id else "",
        "dormancy_days": row.dormancy_days,
        "churn_days": row.churn_days,
    }
    form = CrmSettingsForm(request.POST or None, initial=initial, **_choices())
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rules.crm_settings_update(actor=request.user, data=form.cleaned_data)
            except ValidationError as error:
                service_errors_to_form(form, error)
            else:
                messages.success(request, _("CRM settings saved."))
                return redirect("backoffice:crm:routing")
        status = 400
    return render(request, "backoffice/crm/settings.html", {"form": form}, status=status)
