"""The Back Office (its pages arrive with later issues; this is its front door)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from brokerdesk.tenants.branding import current_branding


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "backoffice/home.html", {"brand": current_branding(request)})
