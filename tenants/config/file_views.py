"""The tenant's branding images and legal documents, served from its own host.

Files are read through the tenant's own configuration row, so a URL can only ever return a
file of the tenant whose host it is on; storage URLs are never handed out.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from brokerdesk.tenants.config import selectors
from brokerdesk.tenants.config.files import file_read


def _file_response(name: str, content_type: str, *, filename: str = "") -> HttpResponse:
    try:
        data = file_read(name)
    except (FileNotFoundError, OSError):
        raise Http404("File missing.") from None
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = "public, max-age=300"
    response["Content-Security-Policy"] = "default-src 'none'"
    if filename:
        response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@require_safe
def logo(request: HttpRequest) -> HttpResponse:
    branding = selectors.branding_get()
    if branding is None or not branding.logo_file:
        raise Http404("No logo.")
    return _file_response(branding.logo_file, branding.logo_content_type)


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    branding = selectors.branding_get()
    if branding is None or not branding.favicon_file:
        raise Http404("No favicon.")
    return _file_response(branding.favicon_file, branding.favicon_content_type)


@require_safe
def legal_document(request: HttpRequest, public_id: str) -> HttpResponse:
    document = selectors.legal_document_public_get(public_id=public_id)
    if document is None:
        raise Http404("No such document.")
    return _file_response(document.file, "application/pdf", filename=f"{document.public_id}.pdf")
