"""Back Office forms of the ledger: they parse input; the services decide."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.ledger.adjustments import REASON_MAX, amount_parse
from brokerdesk.modules.ledger.models import AdjustmentDirection
from brokerdesk.platform.money import CURRENCY_EXPONENTS

CURRENCY_CHOICES = [(code, code) for code in sorted(CURRENCY_EXPONENTS)]


class AdjustmentForm(forms.Form):
    """A new adjustment. ``token`` is a one-time key rendered with the form, so a double
    submit (or a browser retry) makes one adjustment."""

    client = forms.UUIDField(widget=forms.HiddenInput)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES, initial="USD")
    direction = forms.ChoiceField(label=_("Direction"), choices=AdjustmentDirection.choices)
    amount = forms.CharField(
        label=_("Amount"),
        max_length=60,
        help_text=_("e.g. 150.00 — no more decimals than the currency has"),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX,
        widget=forms.Textarea({"rows": 3}),
        help_text=_("Required. Support and auditors read it; nobody can change it afterwards."),
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("token", uuid.uuid4().hex)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        currency, amount = cleaned.get("currency"), cleaned.get("amount")
        if currency and amount:
            try:
                cleaned["amount_minor"] = amount_parse(amount, currency)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, messages)
        return cleaned


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=REASON_MAX, required=False,
                           widget=forms.Textarea({"rows": 2}))  # fmt: skip


class ReversalForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the reversal"), max_length=REASON_MAX,
                             widget=forms.Textarea({"rows": 2}))  # fmt: skip
