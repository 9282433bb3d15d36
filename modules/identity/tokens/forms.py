"""The Back Office form for a new API token: it parses input; the service decides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.identity.rbac.checks import codes_for
from brokerdesk.modules.identity.rbac.codes import permissions_by_module


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Who or what uses it, for example “Accounting export”."),
    )
    codes = forms.MultipleChoiceField(
        label=_("Permissions"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one permission.")},
    )
    expires_at = forms.DateTimeField(
        label=_("Expires (optional)"),
        required=False,
        help_text=_("Date and time in UTC, for example 2030-12-31 23:59. Empty: no expiry."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the codes the actor holds are offered (the service refuses others anyway).
        held = codes_for(actor)
        self.fields["codes"].choices = [
            (str(label), [(p.code, f"{p.code} — {p.label}") for p in perms if p.code in held])
            for _, label, perms in permissions_by_module()
            if any(p.code in held for p in perms)
        ]
