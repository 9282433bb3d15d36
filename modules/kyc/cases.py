"""KYC cases: opening one, moving it through its configuration's states, and what it needs.

A transition is a compare-and-swap on the case's state (``filter(state=old).update(...)``)
followed by a change row and an audit row in the same transaction: two reviewers acting on
the same case cannot both move it, the second gets ``CaseConflict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.crm.events import client_event
from brokerdesk.modules.crm.records import record_for
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.kyc.configuration import configuration_for_entity, legal_entity_for_country
from brokerdesk.modules.kyc.models import (
    CURRENT_STATUSES,
    CaseEvent,
    DocumentKind,
    DocumentStatus,
    KycCase,
    KycCaseChange,
    KycDocument,
    KycProfile,
    KycState,
    KycTransition,
)
from brokerdesk.modules.kyc.screening import client_screen

ActorLike = Any  # identity.User or a system actor's name

# Events that end a review: the case records when and by whom it was decided.
DECISIONS = {CaseEvent.APPROVE, CaseEvent.REJECT, CaseEvent.REQUEST_RESUBMISSION}
# The CRM lifecycle event each case event sends (crm.events; the CRM's transition table
# decides whether the client's stage moves: submitted → KYC pending, approved → KYC approved).
CRM_EVENTS = {
    CaseEvent.SUBMIT: "kyc.submitted",
    CaseEvent.APPROVE: "kyc.approved",
    CaseEvent.REJECT: "kyc.rejected",
    CaseEvent.REQUEST_RESUBMISSION: "kyc.resubmission_requested",
    CaseEvent.EXPIRE: "kyc.expired",
    CaseEvent.REOPEN: "kyc.reopened",
}
# Document statuses that count as "provided" for a requirement.
PROVIDED = {DocumentStatus.SUBMITTED, DocumentStatus.UNDER_REVIEW, DocumentStatus.APPROVED}
PROFILE_FIELDS = ("first_name", "last_name", "date_of_birth", "address_line", "city",
                  "postal_code", "country", "nationality", "employment_status",
                  "source_of_funds")  # fmt: skip


class CaseConflict(Exception):
    """The case moved on since the actor loaded it (someone else decided it first)."""


def _label(actor: ActorLike) -> str:
    return actor if isinstance(actor, str) else actor.email


@transaction.atomic
def case_open(*, client: Any, actor: ActorLike) -> KycCase:
    """The client's case, opened in its initial state the first time (idempotent)."""
    existing = KycCase.objects.filter(client=client).select_related("state").first()
    if existing is not None:
        return existing
    profile = KycProfile.objects.filter(client=client).first()
    country = (profile.country if profile and profile.country else "") or client.country
    configuration = configuration_for_entity(legal_entity_for_country(country))
    initial = configuration.states.get(is_initial=True)
    case = KycCase.objects.create(client=client, configuration=configuration, state=initial)
    KycCaseChange.objects.create(case=case, to_state=initial, changed_by=_label(actor))
    audit_record(
        actor=actor,
        action="kyc.case.open",
        target=case,
        before=None,
        after={"state": initial.key, "configuration": str(configuration.public_id)},
    )
    return case


def transition_for(case: KycCase, event: str) -> KycTransition | None:
    """The configured transition of ``event`` from the case's state, if there is one."""
    return (
        KycTransition.objects.filter(
            configuration_id=case.configuration_id, from_state_id=case.state_id, event=event
        )
        .select_related("to_state")
        .first()
    )


@transaction.atomic
def case_transition(
    *,
    case: KycCase,
    event: str,
    actor: ActorLike,
    reason_code: str = "",
    reason: str = "",
) -> KycCase:
    """Apply ``event`` to ``case`` as its configuration says; refuse what it does not allow.

    ``case`` is the version the actor saw: if its state changed meanwhile, ``CaseConflict``.
    """
    transition = transition_for(case, event)
    if transition is None:
        raise ValidationError(
            {"event": [_("A case in the state “%(state)s” cannot go through “%(event)s”.")
                       % {"state": case.state.label, "event": CaseEvent(event).label}]}
        )  # fmt: skip
    now = timezone.now()
    changes: dict[str, Any] = {"state": transition.to_state, "state_changed_at": now}
    if event == CaseEvent.SUBMIT:
        changes["submitted_at"] = now
    if event in DECISIONS:
        changes["decided_at"] = now
    moved = KycCase.objects.filter(pk=case.pk, state_id=case.state_id).update(**changes)
    if not moved:
        raise CaseConflict(_("This case was changed by someone else; reload it."))
    old_state = case.state
    change = KycCaseChange.objects.create(
        case=case,
        from_state=old_state,
        to_state=transition.to_state,
        event=event,
        changed_at=now,
        changed_by=_label(actor),
        reason_code=reason_code,
        reason=reason,
    )
    audit_record(
        actor=actor,
        action=f"kyc.case.{event}",
        target=case,
        before={"state": old_state.key},
        after={"state": transition.to_state.key},
        reason=" ".join(part for part in (reason_code, reason) if part),
    )
    _crm_tell(case, change, event, actor)
    for name, value in changes.items():
        setattr(case, name, value)
    return case


def _crm_tell(case: KycCase, change: KycCaseChange, event: str, actor: ActorLike) -> None:
    """The CRM event of a case change, in the change's transaction; keyed by the change, so
    the same change is never told twice. The reason's free text stays in KYC (Compliance's
    words); the timeline carries the case, the new state and the reason code."""
    data = {"case": str(case.public_id), "state": change.to_state.key}
    if change.reason_code:
        data["reason_code"] = change.reason_code
    client_event(
        record_for(case.client),
        CRM_EVENTS[event],
        at=change.changed_at,
        data=data,
        key=f"kyc-change-{change.pk}",
        actor=actor,
    )


@transaction.atomic
def case_assign(*, case: KycCase, assignee: Any, actor: ActorLike) -> KycCase:
    """Give the case to a reviewer (``assignee``; None: back to the queue), audited."""
    if assignee is not None and not permission_check(assignee, "kyc.review"):
        raise ValidationError({"assignee": [_("Only reviewers can be given a case.")]})
    before = case.assigned_to.email if case.assigned_to_id else None
    KycCase.objects.filter(pk=case.pk).update(assigned_to=assignee)
    case.assigned_to = assignee
    audit_record(
        actor=actor,
        action="kyc.case.assign",
        target=case,
        before={"assigned_to": before},
        after={"assigned_to": assignee.email if assignee is not None else None},
    )
    return case


@dataclass(frozen=True)
class Requirement:
    """A document kind the case needs, and its current upload (if any)."""

    kind: DocumentKind
    document: KycDocument | None

    @property
    def provided(self) -> bool:
        return self.document is not None and self.document.status in PROVIDED


def case_requirements(case: KycCase) -> list[Requirement]:
    """The document kinds required at the case's tier, each with its newest current upload."""
    kinds = case.configuration.document_kinds.filter(required_from_tier__lte=case.tier)
    current: dict[int, KycDocument] = {}
    documents = case.documents.filter(status__in=CURRENT_STATUSES).order_by("-uploaded_at", "-id")
    for document in documents:
        current.setdefault(document.kind_id, document)
    return [Requirement(kind=kind, document=current.get(kind.pk)) for kind in kinds]


def profile_complete(client: Any) -> bool:
    profile = KycProfile.objects.filter(client=client).first()
    return profile is not None and all(getattr(profile, f) for f in PROFILE_FIELDS)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    profile_done: bool
    requirements: list[Requirement]


def case_progress(case: KycCase) -> Progress:
    """Steps: the profile, then one per required document kind."""
    requirements = case_requirements(case)
    profile_done = profile_complete(case.client)
    done = int(profile_done) + sum(1 for r in requirements if r.provided)
    return Progress(done, 1 + len(requirements), profile_done, requirements)


def case_submit_if_complete(*, case: KycCase, actor: ActorLike) -> bool:
    """Submit the case for review once the profile and every required document are in.

    Returns whether it moved; a state without a "submit" transition stays where it is.
    """
    progress = case_progress(case)
    if progress.done < progress.total or transition_for(case, CaseEvent.SUBMIT) is None:
        return False
    try:
        case_transition(case=case, event=CaseEvent.SUBMIT, actor=actor)
    except CaseConflict:
        return False
    # Screened as it enters review, so the reviewer sees the result with the documents.
    client_screen(client=case.client, actor="screening")
    # Then scored by the risk rules on a worker: a clean case is approved by the rule.
    from brokerdesk.modules.kyc.decisions import assessment_schedule

    assessment_schedule(case)
    return True


def client_may(client: Any, action: str) -> bool:
    """Whether the client's KYC state allows ``action`` (no case yet: the initial state's)."""
    state = client_state(client)
    return state is not None and state.allows(action)


def client_state(client: Any) -> KycState | None:
    case = KycCase.objects.filter(client=client).select_related("state").first()
    if case is not None:
        return case.state
    return None
