"""The operator console on the platform host: tenants, provisioning, suspension."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from brokerdesk.platform.console import forms
from brokerdesk.platform.console.operators import (
    is_operator,
    totp_device,
    totp_provisioning_uri,
    totp_secret,
    totp_verify,
)
from brokerdesk.platform.models import TenantStatusChange
from brokerdesk.platform.provisioning import services
from brokerdesk.tenants.models import Tenant

SESSION_OTP_KEY = "operator_otp_verified_for"
View = Callable[..., HttpResponse]


def operator_required(view: View) -> View:
    """Only an operator who passed the second factor in this session gets through."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_operator(request.user):
            return redirect(f"{reverse('console:login')}?next={request.path}")
        if request.session.get(SESSION_OTP_KEY) != request.user.pk:
            return redirect("console:otp")
        return view(request, *args, **kwargs)

    return wrapper


class OperatorLoginView(LoginView):
    template_name = "console/login.html"
    authentication_form = forms.OperatorLoginForm

    def get_success_url(self) -> str:
        return reverse("console:otp")


def otp(request: HttpRequest) -> HttpResponse:
    """Second factor: enrol on first use (secret shown once), then a code on every login."""
    if not is_operator(request.user):
        return redirect("console:login")
    device = totp_device(request.user)
    form = forms.TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if totp_verify(user=request.user, code=form.cleaned_data["code"]):
            request.session.cycle_key()
            request.session[SESSION_OTP_KEY] = request.user.pk
            return redirect("console:tenants")
        form.add_error(
            "code", "That code is not valid, or was already used. Wait for the next one."
        )
    context = {"form": form, "enrolling": device.confirmed_at is None}
    if context["enrolling"]:
        context |= {"secret": totp_secret(device), "uri": totp_provisioning_uri(device)}
    return render(request, "console/otp.html", context, status=400 if form.errors else 200)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("console:login")


@operator_required
def tenants(request: HttpRequest) -> HttpResponse:
    rows = (
        Tenant.objects.exclude(schema_name="public")
        .select_related("plan")
        .prefetch_related("domains")
        .order_by("slug")
    )
    return render(request, "console/tenants.html", {"tenants": rows})


@operator_required
def tenant_new(request: HttpRequest) -> HttpResponse:
    form = forms.TenantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.tenant_request(
                slug=data["slug"],
                name=data["name"],
                owner_email=data["owner_email"],
                plan_code=data["plan"].code,
                actor=request.user.email,
                branding={
                    "primary_color": data["primary_color"],
                    "accent_color": data["accent_color"],
                },
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return redirect("console:tenant", slug=result.tenant.slug)
    return render(
        request, "console/tenant_new.html", {"form": form}, status=400 if form.errors else 200
    )


def _add_errors(form: forms.forms.Form, exc: ValidationError) -> None:
    for field, messages in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


@operator_required
def tenant_detail(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = get_object_or_404(Tenant.objects.exclude(schema_name="public"), slug=slug)
    context = {
        "tenant": tenant,
        "url": services.tenant_url(tenant),
        "domains": tenant.domains.order_by("-is_primary", "domain"),
        "history": TenantStatusChange.objects.filter(tenant=tenant).order_by("-changed_at", "-id"),
        "reason_form": forms.ReasonForm(),
        "settling": tenant.status in {"requested", "provisioning"},
    }
    return render(request, "console/tenant_detail.html", context)


@operator_required
@require_POST
def tenant_action(request: HttpRequest, slug: str, action: str) -> HttpResponse:
    form = forms.ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    operations = {
        "suspend": lambda: services.tenant_suspend(
            slug=slug, reason=reason, actor=request.user.email
        ),
        "reactivate": lambda: services.tenant_reactivate(
            slug=slug, reason=reason, actor=request.user.email
        ),
        "retry": lambda: services.tenant_retry(slug=slug, actor=request.user.email),
    }
    if action not in operations:
        return HttpResponse("Unknown action.", status=404)
    try:
        operations[action]()
    except ValidationError as exc:
        tenant = get_object_or_404(Tenant, slug=slug)
        messages = [m for ms in exc.message_dict.values() for m in ms]
        return render(
            request,
            "console/action_refused.html",
            {"tenant": tenant, "messages": messages},
            status=400,
        )
    return HttpResponseRedirect(reverse("console:tenant", kwargs={"slug": slug}))
