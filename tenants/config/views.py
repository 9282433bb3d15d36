"""Back Office settings pages (permission ``config.manage``): thin views over the config services.

Anonymous visitors are sent to the Back Office login; signed-in users without
``config.manage`` get 403. Secrets are write-only: pages say "set" or "not set", never the value.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import select_template
from django.urls import NoReverseMatch, reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from brokerdesk.tenants.branding import current_branding
from brokerdesk.tenants.config import selectors, services
from brokerdesk.tenants.config.forms import (
    BrandingForm,
    LegalDocumentForm,
    LegalEntityForm,
    PspCredentialForm,
    TradingServerForm,
    provider_from,
    service_errors_to_form,
)
from brokerdesk.tenants.config.models import Branding, PspProvider

View = Callable[..., HttpResponse]


def login_url() -> str:
    """The Back Office login page, or Django's LOGIN_URL until that page exists."""
    try:
        return reverse("backoffice:login")
    except NoReverseMatch:
        return str(settings.LOGIN_URL)


def config_admin_required(view: View) -> View:
    """Anonymous → login (with ``next``); signed in without ``config.manage`` → 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{login_url()}?{query}")
        selectors.config_access_check(actor=request.user)
        try:
            return view(request, *args, **kwargs)
        except selectors.ConfigNotFound:
            raise Http404("No such configuration object.") from None

    return wrapper


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    base = select_template(["backoffice/base.html", "base.html"])
    context = {"brand": current_branding(request), "base_template": base, **context}
    return render(request, f"backoffice/settings/{template}", context, status=status)


def _invalid(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return _render(request, template, context, status=400)


@config_admin_required
def index(request: HttpRequest) -> HttpResponse:
    context = {
        "branding": selectors.branding_get(),
        "entity_count": selectors.legal_entity_list().count(),
        "server_count": selectors.trading_server_list().count(),
        "psp_count": selectors.psp_credential_list().count(),
        "changes": selectors.config_history(limit=20),
    }
    return _render(request, "index.html", context)


# --- Branding ---------------------------------------------------------------------------------


BRANDING_FORM_FIELDS = (
    "display_name",
    "tagline",
    "primary_color",
    "accent_color",
    "email_sender_name",
    "email_sender_address",
    "base_theme",
    "time_zone",
    "custom_css",
)


def _branding_initial(branding: Branding | None, request: HttpRequest) -> dict[str, Any]:
    brand = current_branding(request)
    if branding is None:
        return {
            "display_name": brand.name,
            "primary_color": brand.primary_color,
            "accent_color": brand.accent_color,
            "base_theme": brand.base_theme,
            "time_zone": "UTC",
        }
    return {name: getattr(branding, name) for name in BRANDING_FORM_FIELDS}


@config_admin_required
@require_http_methods(["GET", "POST"])
def branding_edit(request: HttpRequest) -> HttpResponse:
    branding = selectors.branding_get()
    form = BrandingForm(
        request.POST or None, request.FILES or None, initial=_branding_initial(branding, request)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.branding_update(
                changes=form.changes(), actor=request.user, default_name=request.tenant.name
            )
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, "Branding saved.")
            return redirect("backoffice:settings:branding")
    context = {"form": form, "branding": branding}
    if request.method == "POST":
        return _invalid(request, "branding.html", context)
    return _render(request, "branding.html", context)


# --- Legal entities ---------------------------------------------------------------------------


@config_admin_required
def entity_list(request: HttpRequest) -> HttpResponse:
    return _render(request, "entity_list.html", {"entities": selectors.legal_entity_list()})


@config_admin_required
@require_http_methods(["GET", "POST"])
def entity_create(request: HttpRequest) -> HttpResponse:
    form = LegalEntityForm(request.POST or None, initial={"max_leverage": 30})
    if request.method == "POST" and form.is_valid():
        try:
            entity = services.legal_entity_create(data=form.data_for_service(), actor=request.user)
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, f"{entity.name} added.")
            return redirect("backoffice:settings:entity-edit", public_id=entity.public_id)
    if request.method == "POST":
        return _invalid(request, "entity_form.html", {"form": form})
    return _render(request, "entity_form.html", {"form": form})


@config_admin_required
@require_http_methods(["GET", "POST"])
def entity_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    entity = selectors.legal_entity_get_for_actor(public_id=public_id, actor=request.user)
    form = LegalEntityForm(request.POST or None, initial=LegalEntityForm.initial_for(entity))
    if request.method == "POST" and form.is_valid():
        try:
            services.legal_entity_update(
                legal_entity=entity, changes=form.data_for_service(), actor=request.user
            )
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, f"{entity.name} saved.")
            return redirect("backoffice:settings:entity-edit", public_id=entity.public_id)
    context = {"form": form, "entity": entity, "document_form": LegalDocumentForm()}
    context["documents"] = entity.documents.all()
    if request.method == "POST":
        return _invalid(request, "entity_form.html", context)
    return _render(request, "entity_form.html", context)


@config_admin_required
@require_http_methods(["POST"])
def document_add(request: HttpRequest, public_id: str) -> HttpResponse:
    entity = selectors.legal_entity_get_for_actor(public_id=public_id, actor=request.user)
    form = LegalDocumentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.legal_document_add(
                legal_entity=entity,
                name=form.cleaned_data["name"],
                url=form.cleaned_data["url"],
                file_data=form.file_bytes(),
                actor=request.user,
            )
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, "Document added.")
            return redirect("backoffice:settings:entity-edit", public_id=entity.public_id)
    context = {
        "form": LegalEntityForm(initial=LegalEntityForm.initial_for(entity)),
        "entity": entity,
        "document_form": form,
        "documents": entity.documents.all(),
    }
    return _invalid(request, "entity_form.html", context)


@config_admin_required
@require_http_methods(["POST"])
def document_remove(request: HttpRequest, public_id: str) -> HttpResponse:
    document = selectors.legal_document_get_for_actor(public_id=public_id, actor=request.user)
    entity_id = document.legal_entity.public_id
    services.legal_document_remove(document=document, actor=request.user)
    messages.success(request, "Document removed.")
    return redirect("backoffice:settings:entity-edit", public_id=entity_id)


# --- Trading servers --------------------------------------------------------------------------


@config_admin_required
def server_list(request: HttpRequest) -> HttpResponse:
    return _render(request, "server_list.html", {"servers": selectors.trading_server_list()})


@sensitive_post_parameters("secret")
@config_admin_required
@require_http_methods(["GET", "POST"])
def server_create(request: HttpRequest) -> HttpResponse:
    form = TradingServerForm(request.POST or None, initial={"environment": "demo"})
    if request.method == "POST" and form.is_valid():
        try:
            server = services.trading_server_create(data=form.cleaned_data, actor=request.user)
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, f"{server.name} added.")
            return redirect("backoffice:settings:servers")
    if request.method == "POST":
        return _invalid(request, "server_form.html", {"form": form})
    return _render(request, "server_form.html", {"form": form})


@sensitive_post_parameters("secret")
@config_admin_required
@require_http_methods(["GET", "POST"])
def server_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    server = selectors.trading_server_get_for_actor(public_id=public_id, actor=request.user)
    initial = TradingServerForm.initial_for(server)
    form = TradingServerForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.trading_server_update(
                trading_server=server, changes=form.cleaned_data, actor=request.user
            )
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, f"{server.name} saved.")
            return redirect("backoffice:settings:servers")
    context = {"form": form, "server": server}
    if request.method == "POST":
        return _invalid(request, "server_form.html", context)
    return _render(request, "server_form.html", context)


# --- PSP credentials --------------------------------------------------------------------------


@config_admin_required
def psp_list(request: HttpRequest) -> HttpResponse:
    credentials = [
        (credential, services.psp_secrets_status(credential))
        for credential in selectors.psp_credential_list()
    ]
    return _render(request, "psp_list.html", {"credentials": credentials})


@sensitive_post_parameters()
@config_admin_required
@require_http_methods(["GET", "POST"])
def psp_create(request: HttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    provider = provider_from(source)
    form = PspCredentialForm(request.POST or None, provider=provider)
    if request.method == "POST" and form.is_valid():
        try:
            credential = services.psp_credential_create(
                data={**form.data_for_service(), "provider": provider}, actor=request.user
            )
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, f"{credential.name} added.")
            return redirect("backoffice:settings:psps")
    context = {"form": form, "provider": provider, "providers": PspProvider.choices}
    template = "psp_fields.html" if request.headers.get("HX-Request") else "psp_form.html"
    if request.method == "POST":
        return _invalid(request, "psp_form.html", context)
    return _render(request, template, context)


@sensitive_post_parameters()
@config_admin_required
@require_http_methods(["GET", "POST"])
def psp_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    credential = selectors.psp_credential_get_for_actor(public_id=public_id, actor=request.user)
    initial = {"name": credential.name, "is_live": credential.is_live}
    initial |= {f"setting_{key}": value for key, value in credential.settings.items()}
    form = PspCredentialForm(
        request.POST or None, provider=credential.provider, editing=True, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.psp_credential_update(
                psp_credential=credential, changes=form.data_for_service(), actor=request.user
            )
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, f"{credential.name} saved.")
            return redirect("backoffice:settings:psps")
    context = {
        "form": form,
        "credential": credential,
        "provider": credential.provider,
        "secret_status": services.psp_secrets_status(credential),
    }
    if request.method == "POST":
        return _invalid(request, "psp_form.html", context)
    return _render(request, "psp_form.html", context)
