"""Identity pages: signing in and out of each face, the language switcher, choosing a password."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import LoginView, LogoutView, redirect_to_login
from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseForbidden,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, render, resolve_url
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from brokerdesk.modules.identity import devices, services
from brokerdesk.modules.identity.forms import (
    Face,
    FaceAuthenticationForm,
    LanguageForm,
    SetPasswordForm,
)

View = Callable[..., HttpResponseBase]


def face_required(face: Face) -> Callable[[View], View]:
    """Let through only users ``face`` admits; everyone else goes to its login page."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if face_admits(face, request):
                return view(request, *args, **kwargs)
            return redirect_to_login(request.get_full_path(), resolve_url(face.login_url_name))

        return wrapper

    return decorator


def face_admits(face: Face, request: HttpRequest) -> bool:
    """Whether the user signed in on ``request`` may use ``face``."""
    return bool(request.user.is_authenticated and face.admits(request.user))


class FaceLoginView(LoginView):
    """Django's login view with a face's own template and its own rule about who may sign in."""

    face: Face | None = None
    form_class = FaceAuthenticationForm

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if face_admits(self._face, request):
            return HttpResponseRedirect(self.get_success_url())
        return super().get(request, *args, **kwargs)

    def get_template_names(self) -> list[str]:
        return [self._face.login_template]

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "face": self._face}

    def get_default_redirect_url(self) -> str:
        return resolve_url(self._face.home_url_name)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        signed_in_elsewhere = self.request.user.is_authenticated and not face_admits(
            self._face, self.request
        )
        return super().get_context_data(
            face=self._face, signed_in_elsewhere=signed_in_elsewhere, **kwargs
        )

    def form_valid(self, form: FaceAuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        signed_in_record(self.request, response, user=form.get_user(), face=self._face.namespace)
        return response

    @property
    def _face(self) -> Face:
        assert self.face is not None, "FaceLoginView.as_view(face=...) is required"
        return self.face


def signed_in_record(
    request: HttpRequest, response: HttpResponseBase, *, user: Any, face: str
) -> None:
    """After a sign-in on any face or the API: record it with its device (a new device
    raises the signal and e-mails the user, identity/devices.py) and apply the user's
    language, setting the device and language cookies on ``response``."""
    recorded = devices.login_record(request=request, user=user, face=face)
    if recorded.cookie_key:
        devices.device_cookie_set(response, recorded.cookie_key)
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    language = services.user_language_remember(user=user, chosen=chosen)
    if language:
        language_cookie_set(response, language)


class FaceLogoutView(LogoutView):
    """Sign out (POST only) and land on the same face's login page."""

    face: Face | None = None

    def get_default_redirect_url(self) -> str:
        assert self.face is not None, "FaceLogoutView.as_view(face=...) is required"
        return resolve_url(self.face.login_url_name)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You are signed out."))
        return response


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The language switcher: remember the choice in a cookie and, when signed in, on the user."""
    form = LanguageForm(request.POST, request=request)
    if not form.is_valid():
        return render(request, "identity/language_invalid.html", {"form": form}, status=400)
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        services.user_language_set(user=request.user, language=language)
    # Not redirect(): it would try to reverse a "next" such as "home" as a view name.
    response = HttpResponseRedirect(form.cleaned_data["next"])
    language_cookie_set(response, language)
    return response


def language_cookie_set(response: HttpResponseBase, language: str) -> None:
    """Set Django's language cookie the way its own set_language view does."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


def set_password(request: HttpRequest, token: str) -> HttpResponse:
    """Choose a password through a one-time link."""
    link = services.set_password_link_get(token=token)
    if link is None:
        return render(request, "identity/set_password_invalid.html", status=404)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_password_link_use(token=token, password=form.cleaned_data["password"])
        except ValidationError as exc:
            form.add_error("password", exc)
        else:
            return render(request, "identity/set_password_done.html")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "identity/set_password.html",
        {"form": form, "email": link.user.email},
        status=status,
    )


def client_devices(request: HttpRequest, public_id: str) -> HttpResponse:
    """Back Office: a client's devices and their "new device" flags (``clients.view``).

    A signed-out visitor goes to the Back Office login; staff without ``clients.view`` get
    403; a client outside the actor's scope (Sales sees only their own) is a 404.
    """
    from brokerdesk.modules.backoffice.views import BACKOFFICE
    from brokerdesk.modules.identity.models import User, UserKind
    from brokerdesk.modules.identity.rbac.checks import permission_check

    if not face_admits(BACKOFFICE, request):
        return redirect_to_login(request.get_full_path(), resolve_url(BACKOFFICE.login_url_name))
    if not permission_check(request.user, "clients.view"):
        return HttpResponseForbidden()
    client = get_object_or_404(User, public_id=public_id, kind=UserKind.CLIENT)
    if not permission_check(request.user, "clients.view", obj=client):
        raise Http404("No such client.")
    return render(
        request,
        "identity/staff_client_devices.html",
        {"client": client, "devices": devices.devices_of(client)},
    )
