"""The audit filter form, shared by the Back Office viewer and the API (one set of rules)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.audit.selectors import AuditFilters


class AuditFilterForm(forms.Form):
    actor = forms.CharField(
        label=_("Actor"),
        required=False,
        max_length=320,
        help_text=_("E-mail, system actor or user id"),
    )
    action = forms.CharField(label=_("Action"), required=False, max_length=100)
    target = forms.CharField(
        label=_("Target id"), required=False, max_length=64, help_text=_("e.g. a client's id")
    )
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput({"type": "date"})
    )
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput({"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned

    @staticmethod
    def empty_filters() -> AuditFilters:
        """No filter at all: the whole log, newest first."""
        return AuditFilters()

    def filters(self) -> AuditFilters:
        """The cleaned filters (call after ``is_valid()`` returned True)."""
        data = self.cleaned_data
        return AuditFilters(
            actor=data["actor"].strip(),
            action=data["action"].strip(),
            target=data["target"].strip(),
            since=data["since"],
            until=data["until"],
        )
