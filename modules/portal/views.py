"""The Trader's Room: its front door, sign-in, registration, password reset, profile, devices,
dashboard and the sections later modules fill."""

from __future__ import annotations

import pycountry
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from brokerdesk.modules.identity import devices, registration, services
from brokerdesk.modules.identity.forms import (
    Face,
    PasswordResetRequestForm,
    ProfileForm,
    RegistrationForm,
    SetPasswordForm,
)
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.ratelimits import RateLimited
from brokerdesk.modules.identity.security_models import EmailTokenPurpose
from brokerdesk.modules.identity.views import face_admits, face_required, language_cookie_set
from brokerdesk.modules.policy.engine import decide_all


def _is_client(user: User) -> bool:
    """The Trader's Room is for the broker's clients."""
    return user.is_active and user.kind == UserKind.CLIENT


PORTAL = Face(
    namespace="portal",
    title=_("Trader's Room"),
    login_template="portal/login.html",
    admits=_is_client,
)

# Sections that later modules build; until then each says plainly what will be there.
SECTIONS: dict[str, tuple[Promise, Promise]] = {
    "support": (
        _("Support"),
        _(
            "Support tickets arrive with the support module: writing to your broker, following "
            "the replies and attaching files."
        ),
    ),
}


def home(request: HttpRequest) -> HttpResponse:
    """A client's dashboard; everyone else sees the broker's front door."""
    if face_admits(PORTAL, request):
        from brokerdesk.modules.payments.dashboard import dashboard_of

        known: dict = {}
        decisions = list(decide_all(request.user, known=known).values())
        state = known.get("kyc_state") if request.user.kind == "client" else None
        context = {"kyc_state": state, "decisions": decisions, **dashboard_of(request.user)}
        return render(request, "portal/dashboard.html", context)
    return render(request, "portal/welcome.html", {"face": PORTAL})


@face_required(PORTAL)
def section(request: HttpRequest, section: str) -> HttpResponse:
    """A section a later module builds: its title and what it will hold."""
    title, pending = SECTIONS[section]
    return render(request, "portal/section.html", {"title": title, "pending": pending})


# --- Registration, verification, password reset, profile and devices (issue 4) ---------------


def _too_many(page: HttpResponse, limited: RateLimited) -> HttpResponse:
    """The page with the rate limit's message on it, as a 429 saying when to come back."""
    page.status_code = 429
    page["Retry-After"] = str(limited.retry_after_s)
    return page


def _signed_in_redirect(request: HttpRequest) -> HttpResponse | None:
    """A signed-in client has nothing to do on the registration or reset pages."""
    if face_admits(PORTAL, request):
        return redirect("portal:home")
    return None


def register(request: HttpRequest) -> HttpResponse:
    """Open a client account: e-mail, password, country, language and phone.

    A taken address is answered exactly like a new one (the same redirect to "check your
    inbox"); the address's owner is told by e-mail instead.
    """
    if (signed_in := _signed_in_redirect(request)) is not None:
        return signed_in
    initial = {"language": translation.get_language() or ""}
    form = RegistrationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            registration.register(
                request=request, data=registration.Registration(**form.cleaned_data)
            )
        except RateLimited as limited:
            form.add_error(None, limited.message)
            page = render(request, "portal/register.html", {"form": form, "face": PORTAL})
            return _too_many(page, limited)
        return redirect("portal:register-done")
    status = 400 if request.method == "POST" else 200
    return render(request, "portal/register.html", {"form": form, "face": PORTAL}, status=status)


def register_done(request: HttpRequest) -> HttpResponse:
    """ "Check your inbox": the one answer every valid registration gets."""
    return render(request, "portal/register_done.html", {"face": PORTAL})


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    """Open the link from the verification e-mail.

    GET only shows a button: mail scanners follow links, and a GET that spent the token would
    leave the real person with a dead link.
    """
    link = registration.token_get(token=token, purpose=EmailTokenPurpose.VERIFY)
    if link is None:
        return render(request, "portal/verify_invalid.html", {"face": PORTAL}, status=404)
    if request.method == "POST":
        if registration.email_verify(token=token) is None:
            return render(request, "portal/verify_invalid.html", {"face": PORTAL}, status=404)
        return render(request, "portal/verify_done.html", {"face": PORTAL})
    return render(request, "portal/verify.html", {"face": PORTAL, "email": link.user.email})


@require_POST
@face_required(PORTAL)
def verify_email_resend(request: HttpRequest) -> HttpResponse:
    """Send the verification link again to the signed-in client."""
    try:
        sent = registration.verification_resend(request=request, user=request.user)
    except RateLimited as limited:
        messages.error(request, limited.message)
        page = _profile_page(request, ProfileForm(initial=_profile_initial(request.user)))
        return _too_many(page, limited)
    if sent:
        messages.info(
            request, gettext("We sent a new link to %(email)s.") % {"email": request.user.email}
        )
    return redirect("portal:profile")


def password_reset(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link; the answer is the same whether or not the address has an account."""
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            registration.password_reset_request(request=request, email=form.cleaned_data["email"])
        except RateLimited as limited:
            form.add_error(None, limited.message)
            page = render(request, "portal/reset.html", {"form": form, "face": PORTAL})
            return _too_many(page, limited)
        return redirect("portal:password-reset-sent")
    status = 400 if request.method == "POST" else 200
    return render(request, "portal/reset.html", {"form": form, "face": PORTAL}, status=status)


def password_reset_sent(request: HttpRequest) -> HttpResponse:
    """ "If the address has an account, a link is on its way" — for every address."""
    return render(request, "portal/reset_sent.html", {"face": PORTAL})


def password_reset_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Choose a new password through a reset link; every older session ends."""
    link = registration.token_get(token=token, purpose=EmailTokenPurpose.RESET)
    if link is None:
        return render(request, "portal/reset_invalid.html", {"face": PORTAL}, status=404)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            registration.password_reset(token=token, password=form.cleaned_data["password"])
        except ValidationError as error:
            form.add_error("password", error)
        else:
            return render(request, "portal/reset_done.html", {"face": PORTAL})
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "portal/reset_confirm.html",
        {"form": form, "face": PORTAL, "email": link.user.email},
        status=status,
    )


@face_required(PORTAL)
def profile(request: HttpRequest) -> HttpResponse:
    """The client's own details as registered, whether the address is verified, and the
    form for what they may change themselves (language, phone)."""
    form = ProfileForm(request.POST or None, initial=_profile_initial(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            services.user_profile_update(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, gettext("Your profile is saved."))
            response = redirect("portal:profile")
            # The pages follow the chosen language at once, as with the language switcher.
            language_cookie_set(response, request.user.language)
            return response
    return _profile_page(request, form, status=400 if request.method == "POST" else 200)


def _profile_initial(user: User) -> dict[str, str]:
    return {"language": user.language, "phone": user.phone}


def _profile_page(request: HttpRequest, form: ProfileForm, *, status: int = 200) -> HttpResponse:
    user: User = request.user
    country = pycountry.countries.get(alpha_2=user.country) if user.country else None
    context = {
        "country_name": country.name if country is not None else "",
        "language_name": dict(settings.LANGUAGES).get(user.language, ""),
        "form": form,
    }
    return render(request, "portal/profile.html", context, status=status)


@face_required(PORTAL)
def devices_page(request: HttpRequest) -> HttpResponse:
    """The browsers the client signed in from, and the latest sign-ins."""
    return render(
        request,
        "portal/devices.html",
        {
            "devices": devices.devices_of(request.user),
            "logins": devices.logins_of(request.user),
            "country_header": bool(settings.LOGIN_COUNTRY_HEADER),
        },
    )
