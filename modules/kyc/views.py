"""The Back Office KYC pages: the review queue, a case with its documents, signed links to
the files, decisions on cases and documents, and (for Compliance) the screening hits.

Access: ``kyc.view`` to read, ``kyc.review`` to decide, ``kyc.view_aml_notes`` to see
screening; every object is loaded through ``case_get_for_actor`` / ``document_get_for_actor``
(missing and out of scope look the same: 404).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.identity.rbac.permissions import permission_required
from brokerdesk.modules.kyc import documents as docs
from brokerdesk.modules.kyc.cases import (
    CaseConflict,
    case_assign,
    case_progress,
    case_transition,
)
from brokerdesk.modules.kyc.decisions import case_approve, pending_approval
from brokerdesk.modules.kyc.expiry import (
    LIVE_STATUSES,
    document_expiry_correct,
    expiring_documents,
)
from brokerdesk.modules.kyc.forms import DecisionForm, DocumentReviewForm, ExpiryCorrectionForm
from brokerdesk.modules.kyc.models import (
    CaseEvent,
    DocumentStatus,
    KycApproval,
    KycCase,
    KycDocument,
    KycProfile,
    KycState,
)
from brokerdesk.modules.kyc.risk import (
    assessment_current,
    assessment_latest,
    assessments_for,
    reasons_display,
)
from brokerdesk.modules.kyc.sanctions import sanctions_list_current
from brokerdesk.modules.kyc.screening import screening_latest
from brokerdesk.modules.kyc.selectors import case_get_for_actor, case_queue

PAGE_SIZE = 50


@permission_required("kyc.view")
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """Cases waiting for review, oldest first (or every case in one state)."""
    state_key = request.GET.get("state", "")
    keys = sorted(set(KycState.objects.values_list("key", "label")))
    if state_key and state_key not in {key for key, _ in keys}:
        state_key = ""
    mine = request.GET.get("mine") == "1"
    cases = case_queue(actor=request.user, state_key=state_key, mine=mine)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    _risk_attach(request, list(page.object_list))
    # Documents about to expire (or expired, not yet handled) among the cases this reviewer
    # may see: a badge on the queue, the list with ?expiring=1.
    expiring = expiring_documents(case_queue(actor=request.user, waiting_only=False))
    return render(
        request,
        "backoffice/kyc/queue.html",
        {"page": page, "states": keys, "state_key": state_key, "mine": mine,
         "sees_aml": permission_check(request.user, "kyc.view_aml_notes"),
         "expiring": expiring, "show_expiring": request.GET.get("expiring") == "1",
         "warning_days": sorted({e.document.case.configuration.expiry_warning_days
                                 for e in expiring})},
    )  # fmt: skip


def _risk_attach(request: HttpRequest, cases: list[KycCase]) -> None:
    """Each case's risk (score and reasons: Compliance only) and pending first approval."""
    sees_aml = permission_check(request.user, "kyc.view_aml_notes")
    assessments = assessments_for(cases) if sees_aml else {}
    versions = {case.pk: case.state_changed_at for case in cases}
    pending = {a.case_id: a for a in KycApproval.objects.filter(case__in=cases)
               if versions.get(a.case_id) == a.case_version}  # fmt: skip
    for case in cases:
        assessment = assessments.get(case.pk)
        case.risk = assessment  # type: ignore[attr-defined]
        case.risk_reasons = reasons_display(assessment)  # type: ignore[attr-defined]
        case.first_approval = pending.get(case.pk)  # type: ignore[attr-defined]


def _case_or_404(request: HttpRequest, public_id: str, code: str = "kyc.view") -> KycCase:
    try:
        return case_get_for_actor(public_id=public_id, actor=request.user, code=code)
    except KycCase.DoesNotExist:
        raise Http404() from None


def _case_page(
    request: HttpRequest,
    case: KycCase,
    *,
    decision: DecisionForm | None = None,
    review_errors: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    sees_aml = permission_check(request.user, "kyc.view_aml_notes")
    context = {
        "case": case,
        "profile": KycProfile.objects.filter(client=case.client).first(),
        "progress": case_progress(case),
        "documents": case.documents.select_related("kind").order_by("-uploaded_at", "-id"),
        "changes": case.changes.select_related("from_state", "to_state"),
        "events": case.configuration.transitions.filter(from_state=case.state).values_list(
            "event", flat=True
        ),
        "may_review": permission_check(request.user, "kyc.review"),
        "decision": decision or DecisionForm(),
        "review_form": DocumentReviewForm(),
        "review_errors": review_errors or {},
        "screening": screening_latest(case.client) if sees_aml else None,
        "sees_aml": sees_aml,
        "list_loaded": sees_aml and sanctions_list_current() is not None,
        "risk": _case_risk(case) if sees_aml else None,
        "first_approval": pending_approval(case),
        "live_statuses": [str(s) for s in LIVE_STATUSES],
    }
    return render(request, "backoffice/kyc/case.html", context, status=status)


def _case_risk(case: KycCase) -> dict | None:
    """The current submission's assessment (else the newest, marked as older)."""
    assessment = assessment_current(case)
    current = assessment is not None
    assessment = assessment or assessment_latest(case)
    if assessment is None:
        return None
    return {"assessment": assessment, "current": current, "reasons": reasons_display(assessment)}


@permission_required("kyc.view")
@require_GET
def case_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    return _case_page(request, _case_or_404(request, public_id))


@permission_required("kyc.review")
@require_POST
def case_decide(request: HttpRequest, public_id: str) -> HttpResponse:
    """Approve, reject, ask for resubmission or reopen; a stale page gets a conflict (409)."""
    case = _case_or_404(request, public_id, code="kyc.review")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, decision=form, status=400)
    try:
        if form.cleaned_data["event"] == CaseEvent.APPROVE:
            data = {k: v for k, v in form.cleaned_data.items() if k != "event"}
            approval = case_approve(case=case, actor=request.user, **data)
            if approval.pending:
                messages.success(request, _("Your approval is recorded. This is a high-risk "
                                            "case: a second reviewer must approve it too."))  # fmt: skip
                return redirect("backoffice:kyc-case", public_id=case.public_id)
        else:
            case_transition(case=case, actor=request.user, **form.cleaned_data)
    except ValidationError as exc:
        form.add_error(None, exc.messages)
        return _case_page(request, case, decision=form, status=400)
    except CaseConflict as exc:
        form.add_error(None, str(exc))
        return _case_page(request, case, decision=form, status=409)
    messages.success(request, _("The case is now “%(s)s”.") % {"s": case.state.label})
    return redirect("backoffice:kyc-case", public_id=case.public_id)


@permission_required("kyc.review")
@require_POST
def case_assign_to_me(request: HttpRequest, public_id: str) -> HttpResponse:
    """Take the case: it shows as yours in the queue."""
    case = _case_or_404(request, public_id, code="kyc.review")
    case_assign(case=case, assignee=request.user, actor=request.user)
    messages.success(request, _("The case is assigned to you."))
    return redirect("backoffice:kyc-case", public_id=case.public_id)


def _document_or_404(request: HttpRequest, public_id: str, code: str) -> KycDocument:
    try:
        return docs.document_get_for_actor(public_id=public_id, actor=request.user, code=code)
    except KycDocument.DoesNotExist:
        raise Http404() from None


@permission_required("kyc.review")
@require_POST
def document_review(request: HttpRequest, public_id: str) -> HttpResponse:
    document = _document_or_404(request, public_id, "kyc.review")
    form = DocumentReviewForm(request.POST)
    if form.is_valid():
        try:
            docs.document_review(document=document, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        except CaseConflict as exc:
            return _case_page(request, document.case,
                              review_errors={document.pk: [str(exc)]}, status=409)  # fmt: skip
    if form.errors:
        errors = [str(e) for errors in form.errors.values() for e in errors]
        return _case_page(request, document.case, review_errors={document.pk: errors},
                          status=400)  # fmt: skip
    messages.success(
        request,
        _("The document is marked “%(s)s”.")
        % {"s": DocumentStatus(form.cleaned_data["status"]).label},
    )
    return redirect("backoffice:kyc-case", public_id=document.case.public_id)


@permission_required("kyc.review")
@require_POST
def document_expiry(request: HttpRequest, public_id: str) -> HttpResponse:
    """Correct the expiry date read from a document (audited with the old date)."""
    document = _document_or_404(request, public_id, "kyc.review")
    form = ExpiryCorrectionForm(request.POST)
    if form.is_valid():
        try:
            document_expiry_correct(document=document, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
    if form.errors:
        errors = [str(e) for errors in form.errors.values() for e in errors]
        return _case_page(request, document.case, review_errors={document.pk: errors},
                          status=400)  # fmt: skip
    messages.success(
        request,
        _("The expiry date is now %(d)s.") % {"d": form.cleaned_data["expires_on"].isoformat()},
    )
    return redirect("backoffice:kyc-case", public_id=document.case.public_id)


@permission_required("kyc.view")
@require_POST
def document_view(request: HttpRequest, public_id: str) -> HttpResponse:
    """Mint a one-minute signed link (audited) and send the browser to it."""
    document = _document_or_404(request, public_id, "kyc.view")
    link = docs.document_link_mint(document=document, actor=request.user)
    return HttpResponseRedirect(link.url)


@permission_required("kyc.view")
@require_GET
def document_file(request: HttpRequest, token: str) -> HttpResponse:
    """The file itself, where no S3 serves it: only for the staff member the link was minted
    for, within its minute, and only while they may still see the case."""
    try:
        document_id, staff_id = docs.file_token_read(token)
    except KycDocument.DoesNotExist:
        raise Http404() from None
    if staff_id != str(request.user.public_id):
        raise Http404()
    document = _document_or_404(request, document_id, "kyc.view")
    response = FileResponse(
        iter([docs.document_file_read(document)]), content_type=document.content_type
    )
    response["Content-Disposition"] = f'inline; filename="{document.kind.key}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    response["Cache-Control"] = "private, no-store"
    return response
