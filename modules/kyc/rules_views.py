"""Back Office pages for the KYC rules of each legal entity (``config.manage``): which
documents each tier needs, accepted types, maximum age, and what clients may do per state.

One form per row; a bad value re-renders the page with the message next to the row (400)
and changes nothing. The services audit every change.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from brokerdesk.modules.identity.rbac.permissions import permission_required
from brokerdesk.modules.kyc import configuration as config
from brokerdesk.modules.kyc import risk
from brokerdesk.modules.kyc.models import (
    ClientAction,
    DocumentType,
    KycConfiguration,
    KycProvider,
)
from brokerdesk.modules.kyc.providers.services import configuration_verification_set
from brokerdesk.tenants.config.models import LegalEntity


def _page(request: HttpRequest, *, errors: dict | None = None, status: int = 200):
    config.configuration_defaults_ensure()
    configurations = KycConfiguration.objects.select_related("legal_entity").order_by(
        "legal_entity__name", "id"
    )
    with_own = {c.legal_entity_id for c in configurations if c.legal_entity_id}
    context = {
        "configurations": configurations,
        "entities_without": LegalEntity.objects.exclude(pk__in=with_own).order_by("name"),
        "errors": errors or {},
    }
    return render(request, "backoffice/kyc/rules.html", context, status=status)


@permission_required("config.manage")
def rules(request: HttpRequest) -> HttpResponse:
    """Every entity's KYC rules (the default applies to entities without their own)."""
    return _page(request)


@permission_required("config.manage")
@require_POST
def rules_copy(request: HttpRequest) -> HttpResponse:
    """Give a legal entity its own rules, starting as a copy of the default."""
    entity = LegalEntity.objects.filter(public_id__in=_uuids(request.POST.get("legal_entity")))
    if not entity.exists():
        return _page(request, errors={"legal_entity": [_("Choose a legal entity.")]}, status=400)
    try:
        created = config.configuration_copy_for_entity(
            legal_entity=entity.get(), actor=request.user
        )
    except ValidationError as exc:
        return _page(request, errors=exc.message_dict, status=400)
    messages.success(request, _("%(entity)s has its own KYC rules now.") % {"entity": created})
    return redirect("backoffice:kyc-rules-edit", public_id=created.public_id)


def _uuids(value: str | None) -> list[str]:
    try:
        return [str(uuid.UUID(str(value)))]
    except ValueError:
        return []


def _configuration_or_404(public_id: str) -> KycConfiguration:
    found = KycConfiguration.objects.filter(public_id__in=_uuids(public_id)).first()
    if found is None:
        raise Http404()
    return found


def _edit_page(
    request: HttpRequest,
    configuration: KycConfiguration,
    *,
    errors: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    policy = risk.risk_rules_ensure(configuration)
    context = {
        "configuration": configuration,
        "policy": policy,
        "risk_rules": configuration.risk_rules.all(),
        "countries_text": " ".join(policy.high_risk_countries),
        "states": configuration.states.all(),
        "kinds": configuration.document_kinds.all(),
        "actions": ClientAction.choices,
        "types": DocumentType.choices,
        "providers": KycProvider.objects.filter(is_active=True),
        "errors": errors or {},
    }
    return render(request, "backoffice/kyc/rules_edit.html", context, status=status)


@permission_required("config.manage")
def rules_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    """One configuration: a form per state and per document kind."""
    configuration = _configuration_or_404(public_id)
    if request.method != "POST":
        return _edit_page(request, configuration)
    row = request.POST.get("row", "")
    kind, _sep, key = row.partition(":")
    try:
        if kind == "state" and configuration.states.filter(key=key).exists():
            config.state_update(
                state=configuration.states.get(key=key),
                changes={"label": request.POST.get("label", ""),
                         "client_message": request.POST.get("client_message", ""),
                         "allowed_actions": request.POST.getlist("allowed_actions")},
                actor=request.user,
            )  # fmt: skip
        elif kind == "kind" and configuration.document_kinds.filter(key=key).exists():
            config.document_kind_update(
                kind=configuration.document_kinds.get(key=key),
                changes={"required_from_tier": request.POST.get("required_from_tier", ""),
                         "accepted_types": request.POST.getlist("accepted_types"),
                         "max_age_days": request.POST.get("max_age_days", ""),
                         "expires": request.POST.get("expires") == "on"},
                actor=request.user,
            )  # fmt: skip
        elif kind == "risk" and key == "policy":
            risk.risk_policy_update(
                configuration=configuration,
                changes={"auto_approve_enabled": request.POST.get("auto_approve_enabled") == "on",
                         "auto_approve_below": request.POST.get("auto_approve_below", ""),
                         "second_review_from": request.POST.get("second_review_from", ""),
                         "high_risk_countries": request.POST.get("high_risk_countries", "")},
                actor=request.user,
            )  # fmt: skip
        elif kind == "rule" and configuration.risk_rules.filter(signal=key).exists():
            risk.risk_rule_update(
                rule=configuration.risk_rules.get(signal=key),
                changes={"enabled": request.POST.get("enabled") == "on",
                         "weight": request.POST.get("weight", ""),
                         "threshold": request.POST.get("threshold", ""),
                         "flags": request.POST.get("flags") == "on"},
                actor=request.user,
            )  # fmt: skip
        elif kind == "verification":
            provider = None
            if request.POST.get("provider"):
                provider = KycProvider.objects.filter(
                    public_id__in=_uuids(request.POST.get("provider"))
                ).first()
                if provider is None:
                    raise ValidationError({"provider": [_("Choose a provider from the list.")]})
            configuration_verification_set(
                actor=request.user, configuration=configuration, provider=provider,
                expiry_warning_days=request.POST.get("expiry_warning_days", ""),
            )  # fmt: skip
        else:
            row = ""  # shown at the top of the page
            raise ValidationError(
                {"row": [_("Choose a state or a document kind (or a risk rule) to change.")]}
            )
    except ValidationError as exc:
        return _edit_page(request, configuration, errors={row: exc.message_dict}, status=400)
    messages.success(request, _("Saved. New rules apply to this entity's clients at once."))
    return redirect("backoffice:kyc-rules-edit", public_id=configuration.public_id)
