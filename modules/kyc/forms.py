"""KYC forms: the client's profile step, a document upload, and the reviewers' decisions.

Forms parse and check shapes; the services decide (and say why, per field).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.identity.forms import _country_choices
from brokerdesk.modules.kyc.models import (
    CaseEvent,
    DocumentStatus,
    DocumentType,
    EmploymentStatus,
    KycProfile,
    ProviderKind,
    SourceOfFunds,
)

ADULT_YEARS = 18
DATE_WIDGET = forms.DateInput(attrs={"type": "date"})


class ProfileForm(forms.ModelForm):
    """Full name, date of birth, address, employment and source of funds, all required."""

    country = forms.ChoiceField(label=_("Country of residence"), choices=_country_choices)
    nationality = forms.ChoiceField(label=_("Nationality"), choices=_country_choices)
    employment_status = forms.ChoiceField(
        label=_("Employment"), choices=[("", "—"), *EmploymentStatus.choices]
    )
    source_of_funds = forms.ChoiceField(
        label=_("Main source of the money you will deposit"),
        choices=[("", "—"), *SourceOfFunds.choices],
    )

    class Meta:
        model = KycProfile
        fields = ["first_name", "last_name", "date_of_birth", "address_line", "city",
                  "postal_code", "country", "nationality", "employment_status",
                  "source_of_funds"]  # fmt: skip
        labels = {
            "first_name": _("First name(s), as on your identity document"),
            "last_name": _("Last name(s), as on your identity document"),
            "date_of_birth": _("Date of birth"),
            "address_line": _("Street and number"),
            "city": _("City"),
            "postal_code": _("Postal code"),
        }
        widgets = {"date_of_birth": DATE_WIDGET}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = True

    def clean_date_of_birth(self) -> dt.date:
        born = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born > today:
            raise ValidationError(_("The date of birth cannot be in the future."))
        adult_on = born.replace(year=born.year + ADULT_YEARS) if not (
            born.month == 2 and born.day == 29
        ) else dt.date(born.year + ADULT_YEARS, 3, 1)  # fmt: skip
        if adult_on > today:
            raise ValidationError(_("You must be at least 18 years old to trade."))
        if born.year < today.year - 120:
            raise ValidationError(_("Check the year of your date of birth."))
        return born


class UploadForm(forms.Form):
    kind = forms.CharField(widget=forms.HiddenInput)
    document_type = forms.ChoiceField(label=_("Document"), choices=DocumentType.choices)
    file = forms.FileField(
        label=_("File (photo or scan: JPEG, PNG, WebP or PDF)"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": "image/jpeg,image/png,image/webp,application/pdf",
                "capture": "environment",
            }
        ),  # fmt: skip
    )
    issued_on = forms.DateField(label=_("Date of issue"), required=False, widget=DATE_WIDGET)
    expires_on = forms.DateField(label=_("Expiry date"), required=False, widget=DATE_WIDGET)
    # Identity documents: what is printed on them (checked against the profile).
    printed_name = forms.CharField(
        label=_("Full name as printed on the document"), max_length=200, required=False
    )
    printed_date_of_birth = forms.DateField(
        label=_("Date of birth as printed"), required=False, widget=DATE_WIDGET
    )
    document_number = forms.CharField(label=_("Document number"), max_length=40, required=False)


class DecisionForm(forms.Form):
    event = forms.ChoiceField(
        choices=[(str(e), e.label) for e in (CaseEvent.APPROVE, CaseEvent.REJECT,
                                             CaseEvent.REQUEST_RESUBMISSION, CaseEvent.REOPEN)]
    )  # fmt: skip
    reason_code = forms.CharField(label=_("Reason code"), max_length=40, required=False)
    reason = forms.CharField(
        label=_("Reason the client reads"), max_length=1000, required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            data.get("event") not in (None, CaseEvent.APPROVE)
            and not data.get("reason", "").strip()
        ):
            self.add_error("reason", _("Give the reason the client will read."))
        return data


class DocumentReviewForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(str(s), s.label) for s in (DocumentStatus.APPROVED,
                                             DocumentStatus.RESUBMISSION_NEEDED,
                                             DocumentStatus.REJECTED)]
    )  # fmt: skip
    reason_code = forms.CharField(label=_("Reason code"), max_length=40, required=False)
    feedback = forms.CharField(label=_("What the client reads"), max_length=500, required=False)


class ExpiryCorrectionForm(forms.Form):
    """Staff correct the expiry date read from a document."""

    expires_on = forms.DateField(label=_("Expiry date"), widget=DATE_WIDGET)
    reason = forms.CharField(label=_("Why (for the record)"), max_length=300, required=False)


class ProviderForm(forms.Form):
    """A provider account; secrets are write-only (blank keeps the stored value)."""

    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Provider"), choices=ProviderKind.choices)
    base_url = forms.CharField(label=_("API address"), max_length=260)
    level_name = forms.CharField(label=_("Verification level"), max_length=100)
    sdk_url = forms.CharField(label=_("Web SDK script address"), max_length=300, required=False)
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)
    app_token = forms.CharField(
        label=_("App token"), required=False, max_length=500,
        widget=forms.PasswordInput(render_value=False),
    )  # fmt: skip
    secret_key = forms.CharField(
        label=_("Secret key"), required=False, max_length=500,
        widget=forms.PasswordInput(render_value=False),
    )  # fmt: skip
    webhook_secret = forms.CharField(
        label=_("Webhook secret"), required=False, max_length=500,
        widget=forms.PasswordInput(render_value=False),
    )  # fmt: skip

    SECRET_FIELDS = ("app_token", "secret_key", "webhook_secret")
