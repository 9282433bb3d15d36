"""The Back Office audit viewer (/backoffice/audit/): filter, page, read; never write.

Access goes through ``selectors.audit_view_allowed`` (permission ``audit.view``): anonymous →
login, without the code → 403. Bad filters re-render the form with field messages (400).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import select_template
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from brokerdesk.modules.audit.forms import AuditFilterForm
from brokerdesk.modules.audit.selectors import audit_entries, audit_view_allowed
from brokerdesk.tenants.branding import current_branding

PAGE_SIZE = 50


@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    """The filtered, paginated log; an htmx request gets only the results fragment."""
    if not request.user.is_authenticated:
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse('backoffice:login')}?{query}")
    if not audit_view_allowed(request.user):
        raise PermissionDenied("You need the permission 'audit.view'.")
    form = AuditFilterForm(request.GET or None)
    page = None
    status = 200
    if form.is_bound and not form.is_valid():
        status = 400
    else:
        filters = form.filters() if form.is_bound else AuditFilterForm.empty_filters()
        page = Paginator(audit_entries(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "brand": current_branding(request),
        "base_template": select_template(["backoffice/base.html", "base.html"]),
    }
    template = (
        "backoffice/audit/_results.html"
        if request.headers.get("HX-Request") == "true"
        else "backoffice/audit/list.html"
    )
    return render(request, template, context, status=status)
