"""Forms shared by the Back Office pages and the API (one set of rules for both)."""

from __future__ import annotations

from typing import Any

import pycountry
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.crm.models import RoutingTarget, Stage
from brokerdesk.modules.crm.regions import region_choices
from brokerdesk.modules.crm.selectors import SORTS, ClientFilters


def country_choices() -> list[tuple[str, str]]:
    return sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])


class ClientFilterForm(forms.Form):
    """Search, filters and sort of the client and lead lists (and of saved segments)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        help_text=_("Name, e-mail, phone or client id"),
    )
    stages = forms.MultipleChoiceField(label=_("Stage"), required=False, choices=Stage.choices)
    owner = forms.CharField(label=_("Owner"), required=False, max_length=40)
    desk = forms.CharField(label=_("Desk"), required=False, max_length=40)
    country = forms.CharField(label=_("Country"), required=False, max_length=2)
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", "—")] + list(settings.LANGUAGES)
    )
    utm_source = forms.CharField(label=_("Campaign source"), required=False, max_length=100)
    utm_campaign = forms.CharField(label=_("Campaign"), required=False, max_length=100)
    referral = forms.CharField(
        label=_("IB referral"),
        required=False,
        max_length=64,
        help_text=_("yes, no, or a referral code"),
    )
    created_since = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput({"type": "date"})
    )
    created_until = forms.DateField(
        label=_("Created to"), required=False, widget=forms.DateInput({"type": "date"})
    )
    duplicates = forms.BooleanField(label=_("Possible duplicates only"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("newest", _("Newest first")),
            ("oldest", _("Oldest first")),
            ("name", _("Name")),
            ("activity", _("Latest activity")),
            ("stage", _("Stage")),
            ("country", _("Country")),
        ],
    )

    def clean_owner(self) -> str:
        return self._id_or_words("owner", ("me", "none"))

    def clean_desk(self) -> str:
        return self._id_or_words("desk", ())

    def _id_or_words(self, name: str, words: tuple[str, ...]) -> str:
        import uuid

        value = self.cleaned_data[name].strip()
        if not value or value in words:
            return value
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise forms.ValidationError(_("Not a valid id.")) from None

    def clean_country(self) -> str:
        value = self.cleaned_data["country"].strip().upper()
        if value and pycountry.countries.get(alpha_2=value) is None:
            raise forms.ValidationError(_("Unknown country code."))
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        since, until = cleaned.get("created_since"), cleaned.get("created_until")
        if since and until and since > until:
            self.add_error("created_until", _("The end date is before the start date."))
        return cleaned

    def filters(self, *, view: str = "all") -> ClientFilters:
        data = self.cleaned_data
        return ClientFilters(
            view=view,
            q=data["q"].strip(),
            stages=list(data["stages"]),
            owner=data["owner"],
            desk=data["desk"],
            country=data["country"],
            language=data["language"],
            utm_source=data["utm_source"].strip(),
            utm_campaign=data["utm_campaign"].strip(),
            referral=data["referral"].strip(),
            created_since=data["created_since"],
            created_until=data["created_until"],
            duplicates=data["duplicates"],
            sort=data["sort"] if data["sort"] in SORTS else "newest",
        )


def filters_from_json(data: dict[str, Any]) -> ClientFilters | None:
    """Stored filters validated again (None when they no longer hold)."""
    form = ClientFilterForm(_as_form_data(data))
    if not form.is_valid():
        return None
    view = data.get("view") if data.get("view") in ("leads", "clients", "all") else "all"
    return form.filters(view=view)


def _as_form_data(data: dict[str, Any]) -> Any:
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for key, value in (data or {}).items():
        if isinstance(value, list):
            query.setlist(key, [str(v) for v in value])
        elif isinstance(value, bool):
            if value:
                query[key] = "on"
        elif value is not None:
            query[key] = str(value)
    return query


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), widget=forms.Textarea({"rows": 3}), max_length=5000)


class ReassignForm(forms.Form):
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    desk = forms.ChoiceField(label=_("Desk"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args: Any, staff: Any = (), desks: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "—")] + [
            (str(u.public_id), u.full_name or u.email) for u in staff
        ]
        self.fields["desk"].choices = [("", "—")] + [(str(d.public_id), d.name) for d in desks]


class RoutingRuleForm(forms.Form):
    """The page's rule form; the service (rules.rule_clean) holds every rule about values."""

    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    countries = forms.CharField(
        label=_("Countries"),
        required=False,
        max_length=1000,
        help_text=_("ISO codes separated by spaces, e.g. DE AT CH"),
    )
    regions = forms.MultipleChoiceField(
        label=_("Regions"),
        required=False,
        choices=region_choices,
        widget=forms.CheckboxSelectMultiple,
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages"),
        required=False,
        choices=settings.LANGUAGES,
        widget=forms.CheckboxSelectMultiple,
    )
    ib_referred_only = forms.BooleanField(label=_("Only leads referred by an IB"), required=False)
    target = forms.ChoiceField(label=_("Send matching leads to"), choices=RoutingTarget.choices)
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    desk = forms.ChoiceField(label=_("Desk"), required=False)

    def __init__(self, *args: Any, staff: Any = (), desks: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "—")] + [
            (str(u.public_id), u.full_name or u.email) for u in staff
        ]
        self.fields["desk"].choices = [("", "—")] + [(str(d.public_id), d.name) for d in desks]


class CrmSettingsForm(forms.Form):
    fallback_owner = forms.ChoiceField(label=_("Fallback owner"), required=False)
    fallback_desk = forms.ChoiceField(label=_("Fallback desk (round-robin)"), required=False)
    dormancy_days = forms.IntegerField(label=_("Dormant after (days without deposit or trade)"))
    churn_days = forms.IntegerField(label=_("Churned after (days dormant)"))

    def __init__(self, *args: Any, staff: Any = (), desks: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fallback_owner"].choices = [("", "—")] + [
            (str(u.public_id), u.full_name or u.email) for u in staff
        ]
        self.fields["fallback_desk"].choices = [("", "—")] + [
            (str(d.public_id), d.name) for d in desks
        ]


def service_errors_to_form(form: forms.Form, error: Any) -> None:
    """Put a service's field errors on the form (unknown fields become form errors)."""
    for name, messages in error.message_dict.items():
        form.add_error(name if name in form.fields else None, messages)
