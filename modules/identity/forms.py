"""Identity forms: signing in to one of the faces, choosing a language, choosing a password."""

from __future__ import annotations

import functools
import gettext
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import phonenumbers
import pycountry
from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import translation
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.identity import lockout
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

    def clean(self) -> dict[str, Any]:
        """Django's check with the lockout in front (one place for all three faces).

        A locked account or source is answered with the very same error as a wrong password,
        after spending the time a password check takes; unknown e-mail addresses take the
        same path (Django's backend hashes for them too), so nothing tells them apart.
        """
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is None or not password:
            return self.cleaned_data
        # Addresses are stored lower-cased; "Jane@Example.com" is the same account.
        email = email.strip().lower()
        ip = lockout.client_ip(self.request)
        if lockout.is_locked(email=email, ip=ip):
            lockout.password_check_equalise(password)
            raise self.get_invalid_login_error()
        self.user_cache = authenticate(self.request, username=email, password=password)
        if self.user_cache is None:
            lockout.failure_record(email=email, ip=ip)
            raise self.get_invalid_login_error()
        lockout.success_record(email=email)
        self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

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


@functools.lru_cache(maxsize=8)
def _country_names(language: str) -> tuple[tuple[str, str], ...]:
    """ISO 3166-1 countries as (alpha-2, name in ``language``), sorted by name."""
    try:
        translate = gettext.translation(
            "iso3166-1", pycountry.LOCALES_DIR, languages=[language]
        ).gettext
    except OSError:
        translate = str
    names = ((country.alpha_2, translate(country.name)) for country in pycountry.countries)
    return tuple(sorted(names, key=lambda item: item[1]))


def _country_choices() -> list[tuple[str, str]]:
    return [("", "—"), *_country_names(translation.get_language() or settings.LANGUAGE_CODE)]


def phone_e164(value: str) -> str:
    """A phone number with its country code, as E.164 ("+4915112345678"), checked with
    Google's libphonenumber (the ``phonenumberslite`` package); anything else is refused."""
    text = value.strip()
    if not text.startswith("+"):
        raise ValidationError(
            _("Start with + and your country code, for example +44 20 7946 0958."),
            code="phone_no_country_code",
        )
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(_("This is not a valid phone number."), code="phone_invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class RegistrationForm(forms.Form):
    """The Trader's Room registration: the five things a broker needs to open a client."""

    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=128,
        strip=False,
        help_text=_("At least 10 characters, not only digits and not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    country = forms.ChoiceField(
        label=_("Country of residence"),
        choices=_country_choices,
        error_messages={"invalid_choice": _("Choose your country from the list.")},
    )
    language = forms.ChoiceField(
        label=_("Language"),
        choices=_language_choices,
        error_messages={"invalid_choice": _("Choose one of the offered languages.")},
    )
    phone = forms.CharField(
        label=_("Phone number with country code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "tel",
                "inputmode": "tel",
                "dir": "ltr",
                "placeholder": "+44 20 7946 0958",
            }
        ),
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean_phone(self) -> str:
        return phone_e164(self.cleaned_data["phone"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password = data.get("password")
        if password:
            try:
                # The e-mail is known: it takes part in the similarity check.
                validate_password(password, user=User(email=data.get("email", "")))
            except ValidationError as error:
                self.add_error("password", error)
        return data


class PasswordResetRequestForm(forms.Form):
    """An e-mail address to send a reset link to."""

    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class ProfileForm(forms.Form):
    """What a client changes about themselves: language and phone (the service checks them)."""

    language = forms.ChoiceField(
        label=_("Language"),
        choices=_language_choices,
        error_messages={"invalid_choice": _("Choose one of the offered languages.")},
    )
    phone = forms.CharField(
        label=_("Phone number with country code"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "dir": "ltr"}),
    )
