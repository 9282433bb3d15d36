"""Back Office pages for identity-verification provider accounts (``config.manage``).

Secrets are write-only: the form never renders them, the page says which are set, and a
blank field keeps the stored value (ADR 0013). Which configuration uses which provider is
set on the configuration's rules page.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from brokerdesk.modules.identity.rbac.permissions import permission_required
from brokerdesk.modules.kyc.forms import ProviderForm
from brokerdesk.modules.kyc.models import KycProvider
from brokerdesk.modules.kyc.providers.services import provider_save


def _save(request: HttpRequest, form: ProviderForm, provider: KycProvider | None) -> KycProvider:
    data = form.cleaned_data
    return provider_save(
        actor=request.user,
        provider=provider,
        name=data["name"], kind=data["kind"], base_url=data["base_url"],
        level_name=data["level_name"], sdk_url=data["sdk_url"], is_active=data["is_active"],
        secrets={name: data[name] for name in ProviderForm.SECRET_FIELDS if data[name]},
    )  # fmt: skip


def _errors_into(form: ProviderForm, exc: ValidationError) -> None:
    for field, messages_ in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


@permission_required("config.manage")
def providers(request: HttpRequest) -> HttpResponse:
    """The provider accounts, and a form to add one."""
    form = ProviderForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                created = _save(request, form, None)
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, _("The provider account is saved."))
                return redirect("backoffice:kyc-provider", public_id=created.public_id)
        status = 400
    else:
        status = 200
    context = {"providers": KycProvider.objects.all(), "form": form}
    return render(request, "backoffice/kyc/providers.html", context, status=status)


@permission_required("config.manage")
def provider_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    """One provider account: its settings, which secrets are set, its callback address."""
    try:
        provider = KycProvider.objects.filter(public_id=uuid.UUID(public_id)).first()
    except ValueError:
        provider = None
    if provider is None:
        raise Http404()
    initial = {f: getattr(provider, f) for f in
               ("name", "kind", "base_url", "level_name", "sdk_url", "is_active")}  # fmt: skip
    form = ProviderForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _save(request, form, provider)
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, _("The provider account is saved."))
                return redirect("backoffice:kyc-provider", public_id=provider.public_id)
        status = 400
    callback_url = request.build_absolute_uri(
        reverse("kyc-api:provider-callback", kwargs={"public_id": provider.public_id})
    )
    context = {"provider": provider, "form": form, "callback_url": callback_url,
               "configurations": provider.configurations.select_related("legal_entity")}  # fmt: skip
    return render(request, "backoffice/kyc/provider_edit.html", context, status=status)
