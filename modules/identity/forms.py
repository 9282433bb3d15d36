"""Identity forms: signing in to one of the faces, choosing a language, choosing a password."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.identity.models import User


@dataclass(frozen=True)
class Face:
    """One of a broker's web faces, as its login and access checks need it."""

    namespace: str
    title: str | Promise
    login_template: str
    admits: Callable[[User], bool]

    @property
    def login_url_name(self) -> str:
        return f"{self.namespace}:login"

    @property
    def home_url_name(self) -> str:
        return f"{self.namespace}:home"


class FaceAuthenticationForm(AuthenticationForm):
    """E-mail and password, accepted only for users the face admits."""

    username = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The e-mail address or the password is not correct."),
        "inactive": _("This account is disabled. Ask the broker's support for help."),
        "wrong_face": _("This account cannot sign in to the %(face)s."),
    }

    def __init__(self, request: HttpRequest | None = None, *, face: Face, **kwargs: Any):
        self.face = face
        super().__init__(request, **kwargs)

    def confirm_login_allowed(self, user: User) -> None:  # type: ignore[override]
        super().confirm_login_allowed(user)
        if not self.face.admits(user):
            raise ValidationError(
                self.error_messages["wrong_face"],
                code="wrong_face",
                params={"face": self.face.title},
            )


def _language_choices() -> list[tuple[str, str]]:
    return list(settings.LANGUAGES)


class LanguageForm(forms.Form):
    """The language switcher: a language from settings.LANGUAGES and where to go back to."""

    language = forms.ChoiceField(
        label=_("Language"),
        choices=_language_choices,
        error_messages={"invalid_choice": _("Choose one of the offered languages.")},
    )
    next = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any):
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_next(self) -> str:
        """Only a path on this host; anything else (another site, a scheme) means "home"."""
        target = self.cleaned_data.get("next", "")
        safe = url_has_allowed_host_and_scheme(
            target, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        )
        return target if target and safe else "/"


class SetPasswordForm(forms.Form):
    """A new password, typed twice."""

    password = forms.CharField(
        label=_("New password"),
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    confirm = forms.CharField(
        label=_("The same password again"),
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("confirm") and data["password"] != data["confirm"]:
            self.add_error("confirm", _("The two passwords differ."))
        return data
