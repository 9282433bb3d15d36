"""Forms of the operator console."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from brokerdesk.platform.console.operators import is_operator
from brokerdesk.platform.models import Plan

COLOUR = r"^#(?:[0-9a-fA-F]{3}){1,2}$"


class OperatorLoginForm(AuthenticationForm):
    """Password step; a non-operator gets the same answer as a wrong password."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not is_operator(user):
            raise self.get_invalid_login_error()


class TotpForm(forms.Form):
    code = forms.CharField(max_length=8, label="6-digit code")


class TenantForm(forms.Form):
    slug = forms.CharField(
        max_length=60,
        help_text="Lower-case letters, digits and '-'; becomes <slug>.<platform domain>.",
    )
    name = forms.CharField(max_length=200)
    owner_email = forms.EmailField()
    plan = forms.ModelChoiceField(
        queryset=Plan.objects.all(), to_field_name="code", empty_label=None
    )
    primary_color = forms.RegexField(
        regex=COLOUR, initial="#1f6feb", error_messages={"invalid": "Use a colour like #1f6feb."}
    )
    accent_color = forms.RegexField(
        regex=COLOUR, initial="#0d1117", error_messages={"invalid": "Use a colour like #0d1117."}
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
