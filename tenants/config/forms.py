"""Back Office forms: they parse what a browser sends into plain values for the services,
which do the validation; service errors come back onto the form's fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from brokerdesk.platform.money import CURRENCY_EXPONENTS
from brokerdesk.tenants.config.models import (
    BaseTheme,
    LegalEntity,
    PlatformKind,
    PspProvider,
    ServerEnvironment,
    TradingServer,
)
from brokerdesk.tenants.config.services import PROVIDER_FIELDS
from brokerdesk.tenants.config.validators import DOCUMENT_MAX_BYTES, LOGO_RULES

KEEP_SECRET_HELP = "Write-only: leave blank to keep the stored value."


def read_upload(upload: UploadedFile | None, *, limit: int) -> bytes | None:
    """The upload's bytes, reading at most one byte past ``limit`` (the service refuses it)."""
    if upload is None:
        return None
    return upload.read(limit + 1)


def service_errors_to_form(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's field errors on the matching form fields, others at the top."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for field, messages in errors.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)


class BrandingForm(forms.Form):
    display_name = forms.CharField(max_length=500)
    tagline = forms.CharField(max_length=1000, required=False)
    primary_color = forms.CharField(max_length=100, help_text="#rgb or #rrggbb")
    accent_color = forms.CharField(max_length=100, help_text="#rgb or #rrggbb")
    email_sender_name = forms.CharField(max_length=500, required=False)
    email_sender_address = forms.CharField(max_length=500, required=False)
    base_theme = forms.ChoiceField(choices=BaseTheme.choices)
    time_zone = forms.CharField(max_length=100, help_text="IANA name, e.g. Europe/Nicosia")
    custom_css = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        required=False,
        max_length=100_000,
        help_text="No @import, expression(), javascript: or url() to other hosts.",
    )
    logo = forms.FileField(required=False, help_text="PNG, JPEG or WebP; at most 1 MB, 2048 px.")
    remove_logo = forms.BooleanField(required=False)
    favicon = forms.FileField(required=False, help_text="PNG, ICO or WebP; at most 256 KB.")
    remove_favicon = forms.BooleanField(required=False)

    def changes(self) -> dict[str, Any]:
        """The service's ``changes``: every text field, plus the images that changed."""
        data = dict(self.cleaned_data)
        changes = {k: v for k, v in data.items() if k not in {"logo", "favicon"}}
        for image in ("logo", "favicon"):
            del changes[f"remove_{image}"]
            if data.get(image) is not None:
                changes[image] = read_upload(data[image], limit=LOGO_RULES.max_bytes)
            elif data.get(f"remove_{image}"):
                changes[image] = None
        return changes


class LegalEntityForm(forms.Form):
    name = forms.CharField(max_length=500)
    regulator = forms.CharField(max_length=500, required=False)
    licence_number = forms.CharField(max_length=500, required=False)
    jurisdiction = forms.CharField(max_length=10, help_text="Country code, e.g. CY")
    allowed_countries = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="ISO 3166-1 alpha-2 codes separated by spaces or commas, e.g. CY GR DE",
    )
    max_leverage = forms.IntegerField(help_text="30 means 1:30")

    @classmethod
    def initial_for(cls, entity: LegalEntity) -> dict[str, Any]:
        return {
            "name": entity.name,
            "regulator": entity.regulator,
            "licence_number": entity.licence_number,
            "jurisdiction": entity.jurisdiction,
            "allowed_countries": " ".join(entity.allowed_countries),
            "max_leverage": entity.max_leverage,
        }

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["allowed_countries"] = data["allowed_countries"].replace(",", " ").split()
        return data


class LegalDocumentForm(forms.Form):
    name = forms.CharField(max_length=500)
    url = forms.CharField(max_length=1000, required=False, label="Link (https://)")
    file = forms.FileField(required=False, label="or a PDF")

    def file_bytes(self) -> bytes | None:
        return read_upload(self.cleaned_data.get("file"), limit=DOCUMENT_MAX_BYTES)


def parse_groups(text: str) -> dict[str, str]:
    """``standard = real\\forex\\standard`` lines into a mapping; refuses malformed lines."""
    groups: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        account_type, sep, group = line.partition("=")
        if not sep:
            raise ValidationError(f"Line {number}: write it as account_type = group name.")
        if account_type.strip() in groups:
            raise ValidationError(f"Line {number}: {account_type.strip()!r} appears twice.")
        groups[account_type.strip()] = group.strip()
    return groups


class TradingServerForm(forms.Form):
    name = forms.CharField(max_length=500)
    platform = forms.ChoiceField(choices=PlatformKind.choices)
    address = forms.CharField(max_length=500, help_text="host[:port], e.g. mt5.example.com:443")
    manager_login = forms.CharField(max_length=500)
    secret = forms.CharField(
        required=False,
        max_length=1000,
        label="Manager password",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    environment = forms.ChoiceField(choices=ServerEnvironment.choices)
    currency = forms.ChoiceField(choices=[(c, c) for c in sorted(CURRENCY_EXPONENTS)])
    time_zone = forms.CharField(
        max_length=100, initial="UTC", help_text="The server's clock, e.g. Europe/Nicosia"
    )
    groups = forms.CharField(
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="One per line: account type = group, e.g. standard = real\\forex\\standard",
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["secret"].help_text = KEEP_SECRET_HELP

    @classmethod
    def initial_for(cls, server: TradingServer) -> dict[str, Any]:
        lines = "\n".join(f"{key} = {group}" for key, group in server.groups.items())
        fields = ("name", "platform", "address", "manager_login", "environment", "currency")
        return {
            **{name: getattr(server, name) for name in fields},
            "time_zone": server.time_zone,
            "groups": lines,
        }

    def clean_groups(self) -> dict[str, str]:
        return parse_groups(self.cleaned_data.get("groups", ""))


class PspCredentialForm(forms.Form):
    """Name and mode, plus one field per setting and per secret of the chosen provider."""

    name = forms.CharField(max_length=500)
    is_live = forms.BooleanField(required=False, label="Live (not test mode)")

    def __init__(self, *args: Any, provider: str, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.provider = provider
        fields = PROVIDER_FIELDS[provider]
        for key in fields.settings:
            self.fields[f"setting_{key}"] = forms.CharField(
                label=key.replace("_", " ").capitalize(), required=False, max_length=1000
            )
        for key in fields.secrets:
            self.fields[f"secret_{key}"] = forms.CharField(
                label=key.replace("_", " ").capitalize(),
                required=False,
                max_length=1000,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                help_text=KEEP_SECRET_HELP if editing else "Write-only.",
            )

    def data_for_service(self) -> dict[str, Any]:
        data = self.cleaned_data
        prefix_items = [(k, v) for k, v in data.items() if k.startswith(("setting_", "secret_"))]
        return {
            "name": data["name"],
            "is_live": data["is_live"],
            "settings": _strip_prefix(prefix_items, "setting_"),
            "secrets": _strip_prefix(prefix_items, "secret_"),
        }


def _strip_prefix(items: list[tuple[str, Any]], prefix: str) -> dict[str, Any]:
    return {k.removeprefix(prefix): v for k, v in items if k.startswith(prefix)}


def provider_from(query: Mapping[str, Any]) -> str:
    """The provider a create page shows fields for; unknown values fall back to the first."""
    value = query.get("provider")
    return value if value in PspProvider.values else PspProvider.values[0]
