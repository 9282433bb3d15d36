"""The Back Office second factor step: enrol on first sign-in, then a code at every sign-in."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from brokerdesk.modules.identity import totp
from brokerdesk.modules.notifications.services import email_queue
from brokerdesk.tenants.branding import current_branding


class TotpCodeForm(forms.Form):
    """The 6-digit code from the authenticator app."""

    code = forms.CharField(
        label=gettext_lazy("6-digit code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "data-testid": "otp-code",
            }
        ),
    )


def _next_url(request: HttpRequest) -> str:
    # Only a path on this host; anything else lands on the dashboard.
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("backoffice:home")


def second_factor_pass(request: HttpRequest, *, code: str) -> str | None:
    """Check the signed-in staff member's code; on success mark the session verified.

    Returns None on success, else the message to show. The Back Office step and the API's
    (``POST /api/v1/auth/second-factor/``) both come here.
    """
    enrolling = totp.totp_device(request.user).confirmed_at is None
    if totp.totp_verify(user=request.user, code=code):
        totp.session_verify(request)
        if enrolling:
            # Tell the staff member, so an enrolment they did not make is noticed.
            email_queue(
                to=request.user.email, template="staff_totp_enrolled", context={}, user=request.user
            )
        return None
    if totp.totp_locked(request.user):
        return _("Too many wrong codes. Wait a few minutes, then try again.")
    return _("That code is not valid, or was already used. Wait for the next one.")


def otp(request: HttpRequest) -> HttpResponse:
    """Enrol (the key and its otpauth URI are shown until the first valid code) or verify."""
    if not totp.is_staff_member(request.user):
        return redirect(f"{reverse('backoffice:login')}?next={reverse('backoffice:home')}")
    if totp.session_verified(request):
        return redirect(_next_url(request))
    device = totp.totp_device(request.user)
    enrolling = device.confirmed_at is None
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        refusal = second_factor_pass(request, code=form.cleaned_data["code"])
        if refusal is None:
            return redirect(_next_url(request))
        form.add_error("code", refusal)
    brand = current_branding(request)
    context = {
        "form": form,
        "enrolling": enrolling,
        "next": _next_url(request),
        "face": {"title": _("Back Office")},
    }
    if enrolling:
        context |= {
            "secret": totp.totp_secret(device),
            "uri": totp.totp_provisioning_uri(device, issuer=brand.name),
        }
    template = "backoffice/otp_enrol.html" if enrolling else "backoffice/otp.html"
    response = render(request, template, context, status=400 if form.errors else 200)
    # The key must not be kept by a cache or shown again from history.
    response["Cache-Control"] = "no-store"
    return response
