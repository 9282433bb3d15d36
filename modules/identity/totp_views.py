"""The Back Office second factor step: enrol on first sign-in (and receive recovery codes),
then a TOTP code — or one recovery code — at every sign-in; the page where staff see how many
recovery codes are left and regenerate them; an administrator's reset of a colleague's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from brokerdesk.modules.identity import recovery, totp
from brokerdesk.modules.identity.rbac import selectors
from brokerdesk.modules.identity.rbac.forms import service_errors_to_form
from brokerdesk.modules.identity.rbac.permissions import permission_required
from brokerdesk.modules.identity.rbac.views import _render
from brokerdesk.modules.notifications.services import email_queue
from brokerdesk.tenants.branding import current_branding


class TotpCodeForm(forms.Form):
    """The 6-digit code from the authenticator app (or, at sign-in, a recovery code)."""

    code = forms.CharField(
        label=gettext_lazy("6-digit code"),
        max_length=20,
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


@dataclass(frozen=True)
class SecondFactorOutcome:
    """What a code did: ``refusal`` is the message when it was not accepted; on enrolment the
    recovery codes issued (shown once); after a recovery code, how many are left."""

    refusal: str | None = None
    recovery_codes: list[str] | None = None
    recovery_left: int | None = None


def second_factor_pass(request: HttpRequest, *, code: str) -> SecondFactorOutcome:
    """Check the signed-in staff member's TOTP code (or, once enrolled, a recovery code); on
    success mark the session verified. The Back Office step and the API's
    (``POST /api/v1/auth/second-factor/``) both come here.
    """
    enrolling = totp.totp_device(request.user).confirmed_at is None
    if not enrolling and recovery.looks_like_recovery_code(code):
        remaining = recovery.recovery_code_use(user=request.user, code=code)
        if remaining is not None:
            totp.session_verify(request)
            return SecondFactorOutcome(recovery_left=remaining)
    elif totp.totp_verify(user=request.user, code=code):
        totp.session_verify(request)
        if not enrolling:
            return SecondFactorOutcome()
        # Tell the staff member, so an enrolment they did not make is noticed.
        email_queue(
            to=request.user.email, template="staff_totp_enrolled", context={}, user=request.user
        )
        return SecondFactorOutcome(recovery_codes=recovery.recovery_codes_issue(user=request.user))
    if totp.totp_locked(request.user):
        return SecondFactorOutcome(
            refusal=_("Too many wrong codes. Wait a few minutes, then try again.")
        )
    return SecondFactorOutcome(
        refusal=_(
            "That code is not valid, or was already used. Wait for the next one, or "
            "enter an unused recovery code."
        )
    )


def otp(request: HttpRequest) -> HttpResponse:
    """Enrol (the key and its otpauth URI are shown until the first valid code) or verify."""
    if not totp.is_staff_member(request.user):
        return redirect(f"{reverse('backoffice:login')}?next={reverse('backoffice:home')}")
    if totp.session_verified(request):
        return redirect(_next_url(request))
    device = totp.totp_device(request.user)
    enrolling = device.confirmed_at is None
    form = TotpCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        outcome = second_factor_pass(request, code=form.cleaned_data["code"])
        if outcome.refusal is None:
            if outcome.recovery_codes is not None:
                return _recovery_codes_page(
                    request, outcome.recovery_codes, next_url=_next_url(request)
                )
            if outcome.recovery_left is not None:
                messages.warning(request, _recovery_used_message(outcome.recovery_left))
            return redirect(_next_url(request))
        form.add_error("code", outcome.refusal)
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
    return _no_store(render(request, template, context, status=400 if form.errors else 200))


def _no_store(response: HttpResponse) -> HttpResponse:
    # Keys and recovery codes must not be kept by a cache or shown again from history.
    response["Cache-Control"] = "no-store"
    return response


def _recovery_used_message(remaining: int) -> str:
    left = ngettext(
        "You signed in with a recovery code. %(count)d recovery code is left.",
        "You signed in with a recovery code. %(count)d recovery codes are left.",
        remaining,
    ) % {"count": remaining}
    if remaining <= 3:
        left += " " + _("Generate new ones under Sign-in security.")
    return left


def _recovery_codes_page(request: HttpRequest, codes: list[str], *, next_url: str) -> HttpResponse:
    context = {"codes": codes, "next": next_url, "face": {"title": _("Back Office")}}
    return _no_store(render(request, "backoffice/otp_recovery_codes.html", context))


@require_http_methods(["GET", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    """Any staff member's own sign-in security: recovery codes left, and new ones after a
    fresh TOTP code (the old ones stop working)."""
    if not totp.is_staff_member(request.user):
        return redirect(f"{reverse('backoffice:login')}?next={reverse('backoffice:security')}")
    form = TotpCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if totp.totp_verify(user=request.user, code=form.cleaned_data["code"]):
            codes = recovery.recovery_codes_issue(user=request.user)
            return _recovery_codes_page(request, codes, next_url=reverse("backoffice:security"))
        if totp.totp_locked(request.user):
            form.add_error("code", _("Too many wrong codes. Wait a few minutes, then try again."))
        else:
            form.add_error(
                "code", _("That code is not valid, or was already used. Wait for the next one.")
            )
    context = {"form": form, "remaining": recovery.recovery_codes_remaining(request.user)}
    status = 400 if form.errors else 200
    return _render(request, "backoffice/security.html", context, status=status)


class SecondFactorResetForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=recovery.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Recorded in the audit log, e.g. how you confirmed who asked."),
    )


@permission_required("staff.manage")
@require_http_methods(["GET", "POST"])
def staff_second_factor_reset(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Reset a colleague's lost authenticator (``staff.manage``; never one's own)."""
    try:
        member = selectors.staff_get_for_actor(public_id=public_id, actor=request.user)
    except ObjectDoesNotExist:
        raise Http404("No such staff member.") from None
    form = SecondFactorResetForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            recovery.staff_second_factor_reset(
                actor=request.user, staff=member, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(
                request,
                _("Second factor reset: %(email)s sets up a new one at their next sign-in.")
                % {"email": member.email},
            )
            return redirect("backoffice:staff:edit", public_id=member.public_id)
    context = {"member": member, "form": form, "enrolled": totp.totp_enrolled(member)}
    status = 400 if form.errors else 200
    return _render(request, "backoffice/staff/reset_second_factor.html", context, status=status)
