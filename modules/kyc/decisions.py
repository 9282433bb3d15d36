"""Decisions on KYC cases beyond a single reviewer's click: the automatic decision of the
risk rule when a case is submitted, and the second reviewer high-risk approvals need.

Automatic decision: when a case enters review, a Celery task (``kyc.case_assess``, in the
case's tenant) scores it (``kyc.risk``). A clean case — no flagging signal, score below the
configuration's threshold — is approved by the rule: its documents and the case, each change
recorded with the actor ``rule:kyc-auto-approval`` and audited. Anything else stays in the
queue with its reasons. The case row is locked while the rule decides, so a reviewer acting
at the same moment either waits and finds the case decided (409) or decides first, and the
rule then leaves the case alone.

Second reviewer: approving a case whose current assessment scores at or above the
configuration's ``second_review_from`` records a first approval (``KycApproval``) and leaves
the case where it is; a different reviewer's approval then approves it. The same reviewer
again is refused; two second approvals at once: the case row lock orders them, the later one
finds the case moved (``CaseConflict``, 409).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.kyc.cases import CaseConflict, case_transition, transition_for
from brokerdesk.modules.kyc.models import (
    CaseEvent,
    DocumentStatus,
    KycApproval,
    KycCase,
    KycCaseChange,
    KycDocument,
    RiskAssessment,
    RiskOutcome,
)
from brokerdesk.modules.kyc.risk import (
    assessment_current,
    auto_approvable,
    risk_evaluate,
    risk_rules_ensure,
)

RULE_ACTOR = "rule:kyc-auto-approval"
AUTO_REASON_CODE = "auto_approved"


def assessment_schedule(case: KycCase) -> None:
    """Score the case on a worker once the submitting transaction commits.

    ``robust``: a broker that cannot be reached must not undo the client's upload; the case
    then waits in the queue unscored, and a reviewer's approval scores it on the spot.
    """
    from brokerdesk.modules.kyc.tasks import case_assess_task

    case_id = case.pk
    transaction.on_commit(lambda: case_assess_task.delay(case_id), robust=True)


def _assessment_record(
    case: KycCase, *, outcome: str, actor: Any, evaluation: Any
) -> RiskAssessment:
    assessment = RiskAssessment.objects.create(
        case=case,
        case_version=case.state_changed_at,
        score=evaluation.score,
        flagged=evaluation.flagged,
        reasons=evaluation.reasons,
        outcome=outcome,
        assessed_by=actor if isinstance(actor, str) else actor.email,
    )
    audit_record(
        actor=actor,
        action="kyc.risk.assess",
        target=case,
        before=None,
        after={"score": evaluation.score, "flagged": evaluation.flagged, "outcome": outcome,
               "reasons": sorted({r["code"] for r in evaluation.reasons})},
    )  # fmt: skip
    return assessment


def case_assess_and_decide(case_id: int) -> RiskAssessment | None:
    """Score a submitted case and approve it by rule when clean (the task's body).

    Idempotent: a case no longer waiting for review, or already scored by the rule in its
    current version (a redelivered task), is left alone.
    """
    with transaction.atomic():
        case = (
            KycCase.objects.select_for_update(of=("self",))
            .select_related("state", "configuration", "client")
            .filter(pk=case_id)
            .first()
        )
        if case is None or not case.state.awaits_review:
            return None
        # Only a client's submission is decided by the rule: a case a reviewer reopened
        # waits for a reviewer.
        last = KycCaseChange.objects.filter(case=case).order_by("-id").first()
        if last is None or last.event != CaseEvent.SUBMIT:
            return None
        done = RiskAssessment.objects.filter(
            case=case, case_version=case.state_changed_at,
            outcome__in=[RiskOutcome.APPROVED, RiskOutcome.REVIEW],
        ).first()  # fmt: skip
        if done is not None:
            return done
        policy = risk_rules_ensure(case.configuration)
        evaluation = risk_evaluate(case)
        approve = (
            auto_approvable(evaluation, policy)
            and transition_for(case, CaseEvent.APPROVE) is not None
        )
        outcome = RiskOutcome.APPROVED if approve else RiskOutcome.REVIEW
        assessment = _assessment_record(case, outcome=outcome, actor=RULE_ACTOR,
                                        evaluation=evaluation)  # fmt: skip
        if approve:
            _approve_by_rule(case, score=evaluation.score, below=policy.auto_approve_below)
        return assessment


# A submission's own task normally runs within a second; the sweep leaves it that long.
SWEEP_GRACE_S = 30
SWEEP_LIMIT = 200


def cases_unscored_assess(*, grace_s: int = SWEEP_GRACE_S, limit: int = SWEEP_LIMIT) -> int:
    """Score (and decide) submitted cases whose task never ran — the broker was unreachable
    at submission, or the message was lost; run periodically in every tenant. Returns how
    many it scored."""
    cutoff = timezone.now() - dt.timedelta(seconds=grace_s)
    scored = RiskAssessment.objects.filter(
        case=OuterRef("pk"), case_version=OuterRef("state_changed_at"),
        outcome__in=[RiskOutcome.APPROVED, RiskOutcome.REVIEW],
    )  # fmt: skip
    waiting = (
        KycCase.objects.filter(state__awaits_review=True, state_changed_at__lte=cutoff)
        .exclude(Exists(scored))
        .order_by("state_changed_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in list(waiting) if case_assess_and_decide(pk) is not None)


def _approve_by_rule(case: KycCase, *, score: int, below: int) -> None:
    from brokerdesk.modules.kyc.documents import document_review

    waiting = KycDocument.objects.filter(
        case=case, status__in=[DocumentStatus.SUBMITTED, DocumentStatus.UNDER_REVIEW]
    )
    for document in waiting:
        document_review(document=document, status=DocumentStatus.APPROVED, actor=RULE_ACTOR,
                        reason_code=AUTO_REASON_CODE)  # fmt: skip
    case_transition(
        case=case,
        event=CaseEvent.APPROVE,
        actor=RULE_ACTOR,
        reason_code=AUTO_REASON_CODE,
        reason=f"Risk score {score} below {below}, no flag: approved by the rule.",
    )


@dataclass(frozen=True)
class Approval:
    """What an approval did: approved the case, or recorded the first of two."""

    case: KycCase
    pending: bool
    first: KycApproval | None = None
    score: int | None = None


class SameReviewer(ValidationError):
    """The reviewer who gave the first approval tried to give the second."""


def _assessment_for_decision(case: KycCase) -> RiskAssessment:
    """The current version's assessment; scored now when there is none (the task has not
    run, or the case came back to review by a reopening)."""
    existing = assessment_current(case)
    if existing is not None:
        return existing
    return _assessment_record(
        case, outcome=RiskOutcome.INFORMATION, actor="rule:kyc-risk", evaluation=risk_evaluate(case)
    )


def pending_approval(case: KycCase) -> KycApproval | None:
    """The first approval waiting for a second reviewer, for the case as it is now."""
    return KycApproval.objects.filter(case=case, case_version=case.state_changed_at).first()


@transaction.atomic
def case_approve(*, case: KycCase, actor: Any, reason_code: str = "", reason: str = "") -> Approval:
    """A reviewer approves ``case`` (the version they saw); high-risk cases need two."""
    current = (
        KycCase.objects.select_for_update(of=("self",))
        .filter(pk=case.pk)
        .values("state_id", "state_changed_at")
        .first()
    )
    if current is None or (current["state_id"], current["state_changed_at"]) != (
        case.state_id,
        case.state_changed_at,
    ):
        raise CaseConflict(_("This case was changed by someone else; reload it."))
    if transition_for(case, CaseEvent.APPROVE) is None:
        # The configured refusal (no approval from this state), worded by the transition.
        return Approval(case_transition(case=case, event=CaseEvent.APPROVE, actor=actor,
                                        reason_code=reason_code, reason=reason), pending=False)  # fmt: skip
    policy = risk_rules_ensure(case.configuration)
    assessment = _assessment_for_decision(case)
    if assessment.score < policy.second_review_from:
        approved = case_transition(case=case, event=CaseEvent.APPROVE, actor=actor,
                                   reason_code=reason_code, reason=reason)  # fmt: skip
        return Approval(approved, pending=False, score=assessment.score)
    first = pending_approval(case)
    if first is None:
        first = KycApproval.objects.create(
            case=case, case_version=case.state_changed_at, approver=actor,
            approver_label=actor.email, score=assessment.score, reason=reason.strip(),
        )  # fmt: skip
        audit_record(
            actor=actor,
            action="kyc.case.first_approval",
            target=case,
            before=None,
            after={"score": assessment.score, "second_review_from": policy.second_review_from},
            reason=" ".join(part for part in (reason_code, reason) if part),
        )
        return Approval(case, pending=True, first=first, score=assessment.score)
    if first.approver_id == actor.pk:
        raise SameReviewer(
            {"event": [_("You gave the first approval of this high-risk case; a different "
                         "reviewer must give the second.")]}
        )  # fmt: skip
    approved = case_transition(
        case=case,
        event=CaseEvent.APPROVE,
        actor=actor,
        reason_code=reason_code or "second_approval",
        reason=(reason.strip() or _("Second approval of a high-risk case (score %(s)s).")
                % {"s": assessment.score}) + f" [{first.approver_label}]",
    )  # fmt: skip
    return Approval(approved, pending=False, first=first, score=assessment.score)
