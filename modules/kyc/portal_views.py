"""The Trader's Room verification steps: profile, documents (drag and drop or the phone's
camera), each document's status with the reviewer's reason, "N of M steps complete".

Thin views: the forms parse, the services decide. An upload that fails a check re-renders the
step with the reason next to the file (400); htmx swaps just the steps.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.views import face_required
from brokerdesk.modules.kyc.cases import (
    Progress,
    case_open,
    case_progress,
    case_submit_if_complete,
)
from brokerdesk.modules.kyc.documents import Upload, document_upload
from brokerdesk.modules.kyc.expiry import expiring_for_client
from brokerdesk.modules.kyc.forms import ProfileForm, UploadForm
from brokerdesk.modules.kyc.models import (
    ClientAction,
    DocumentStatus,
    DocumentType,
    KycDocument,
    KycProfile,
    ProviderApplicant,
)
from brokerdesk.modules.kyc.providers.base import ProviderError
from brokerdesk.modules.kyc.providers.registry import provider_for
from brokerdesk.modules.portal.views import PORTAL

logger = logging.getLogger(__name__)
# The provider's review statuses once it has the client's documents.
SENT_STATUSES = frozenset({"pending", "queued", "onHold", "completed"})

# Read at most this much of an upload beyond the configured limit: enough to say "too large".
_READ_SLACK = 1
# How long after a submission the steps page keeps asking whether the rule decided.
POLL_WINDOW_S = 120


def _steps_context(request: HttpRequest, *, errors: dict | None = None) -> dict:
    case = case_open(client=request.user, actor=request.user)
    progress = case_progress(case)
    provider = provider_for(case.configuration)
    if not provider.uses_uploads:
        # Two steps: the profile, and the provider's check (done once it has the documents).
        applicant = ProviderApplicant.objects.filter(case=case).first()
        sent = case.submitted_at is not None or (
            applicant is not None and applicant.review_status in SENT_STATUSES
        )
        progress = Progress(int(progress.profile_done) + int(sent), 2, progress.profile_done, [])
    provider_step, provider_down = None, False
    if not provider.uses_uploads and case.state.allows(ClientAction.UPLOAD_DOCUMENTS):
        try:
            provider_step = provider.sdk_step(case=case, client=request.user)
        except ProviderError:
            logger.warning("identity provider unreachable", exc_info=True)
            provider_down = True
    history = (
        KycDocument.objects.filter(case=case)
        .exclude(status=DocumentStatus.REPLACED)
        .select_related("kind")
    )
    return {
        "case": case,
        "progress": progress,
        "percent": round(100 * progress.done / progress.total) if progress.total else 100,
        "documents": history,
        "may_upload": case.state.allows(ClientAction.UPLOAD_DOCUMENTS),
        "may_edit_profile": case.state.allows(ClientAction.EDIT_PROFILE),
        "type_labels": dict(DocumentType.choices),
        "errors": errors or {},
        "max_mb": case.configuration.max_upload_bytes // (1024 * 1024),
        # Just submitted: the rule may approve it in seconds, so the page asks again.
        "poll": case.state.awaits_review
        and case.submitted_at is not None
        and timezone.now() - case.submitted_at < dt.timedelta(seconds=POLL_WINDOW_S),
        "uses_uploads": provider.uses_uploads,
        "provider_step": provider_step,
        "provider_down": provider_down,
        "expiring": expiring_for_client(request.user),
    }


def _render_steps(request: HttpRequest, *, errors: dict | None = None, status: int = 200):
    template = (
        "portal/kyc/_steps.html"
        if request.headers.get("HX-Request") == "true"
        else "portal/kyc/steps.html"
    )
    return render(request, template, _steps_context(request, errors=errors), status=status)


@face_required(PORTAL)
def steps(request: HttpRequest) -> HttpResponse:
    """Where the client's verification stands, and what to do next."""
    return _render_steps(request)


@face_required(PORTAL)
def profile_step(request: HttpRequest) -> HttpResponse:
    """The personal details verification needs (changeable while the state allows it)."""
    case = case_open(client=request.user, actor=request.user)
    profile = KycProfile.objects.filter(client=request.user).first() or KycProfile(
        client=request.user
    )
    if request.method == "POST" and not case.state.allows(ClientAction.EDIT_PROFILE):
        messages.error(request, _("Your details cannot be changed now: %(m)s")
                       % {"m": case.state.client_message})  # fmt: skip
        return redirect("portal:documents")
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "portal/kyc/profile.html", {"form": form}, status=400)
        _profile_save(request, form)
        case_submit_if_complete(case=case, actor=request.user)
        messages.success(request, _("Your details are saved."))
        return redirect("portal:documents")
    return render(request, "portal/kyc/profile.html", {"form": form})


def _profile_save(request: HttpRequest, form: ProfileForm) -> None:
    profile = form.save(commit=False)
    profile.updated_at = timezone.now()
    profile.completed_at = profile.completed_at or timezone.now()
    profile.save()
    audit_record(
        actor=request.user,
        action="kyc.profile.update",
        target=request.user,
        before=None,
        after={"fields": sorted(form.changed_data)},
    )


@face_required(PORTAL)
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    """One document; refused uploads come back with the reason and store nothing."""
    form = UploadForm(request.POST, request.FILES)
    kind = request.POST.get("kind", "")
    if not form.is_valid():
        return _render_steps(request, errors={kind: _form_messages(form)}, status=400)
    case = case_open(client=request.user, actor=request.user)
    handle = form.cleaned_data["file"]
    data = handle.read(case.configuration.max_upload_bytes + _READ_SLACK)
    try:
        document_upload(
            client=request.user,
            upload=Upload(
                kind=form.cleaned_data["kind"],
                document_type=form.cleaned_data["document_type"],
                data=data,
                original_name=handle.name or "",
                issued_on=form.cleaned_data["issued_on"],
                expires_on=form.cleaned_data["expires_on"],
                printed_name=form.cleaned_data["printed_name"],
                printed_date_of_birth=form.cleaned_data["printed_date_of_birth"],
                document_number=form.cleaned_data["document_number"],
            ),
            actor=request.user,
        )
    except ValidationError as exc:
        return _render_steps(request, errors={kind: exc.messages}, status=400)
    if request.headers.get("HX-Request") == "true":
        return _render_steps(request)  # the document's new status says it
    messages.success(request, _("Thank you: the document is uploaded."))
    return redirect("portal:documents")


def _form_messages(form: UploadForm) -> list[str]:
    return [f"{form.fields[name].label}: {error}" if name in form.fields else str(error)
            for name, errors in form.errors.items() for error in errors]  # fmt: skip


@face_required(PORTAL)
@require_POST
def provider_token(request: HttpRequest) -> HttpResponse:
    """A fresh access token for the provider's web SDK (it asks when its token expires)."""
    case = case_open(client=request.user, actor=request.user)
    provider = provider_for(case.configuration)
    if provider.uses_uploads or not case.state.allows(ClientAction.UPLOAD_DOCUMENTS):
        return JsonResponse({"detail": _("Verification does not need this now.")}, status=409)
    try:
        step = provider.sdk_step(case=case, client=request.user, fresh=True)
    except ProviderError:
        logger.warning("identity provider unreachable", exc_info=True)
        return JsonResponse(
            {"detail": _("The verification service cannot be reached; try again shortly.")},
            status=503,
        )
    return JsonResponse({"token": step.access_token})
