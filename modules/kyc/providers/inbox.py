"""The inbox of provider callbacks: stored raw once verified, processed exactly once.

``callback_receive`` verifies the signature (``SignatureInvalid``: nothing stored) and keeps
the raw bytes keyed by their SHA-256, so a redelivery finds its row instead of adding one.
``callback_process`` locks the row and the applicant, applies the callback's case events only
if the row is still "received" and the callback is not older than the newest one applied to
that applicant (callbacks may arrive in any order), and records the outcome, all in one
transaction: a crash leaves the row "received" for the sweeper, never half applied.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from brokerdesk.modules.kyc.cases import CaseConflict, case_transition, transition_for
from brokerdesk.modules.kyc.models import (
    CallbackStatus,
    CaseEvent,
    KycCase,
    KycProvider,
    KycTransition,
    ProviderApplicant,
    ProviderCallback,
)
from brokerdesk.modules.kyc.providers.base import CallbackFacts
from brokerdesk.modules.kyc.providers.registry import adapter_of

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
# Callbacks waiting longer than this are picked up by the periodic sweep.
BATCH = 200


def callback_receive(
    *, provider: KycProvider, body: bytes, headers: dict[str, str]
) -> ProviderCallback:
    """Verify and store one callback (idempotent per body), then process it."""
    adapter = adapter_of(provider)
    adapter.callback_verify(body=body, headers=headers)  # SignatureInvalid: nothing stored
    facts = adapter.callback_parse(body=body)  # ValueError: nothing stored
    digest = hashlib.sha256(body).hexdigest()
    try:
        with transaction.atomic():
            row = ProviderCallback.objects.create(
                provider=provider,
                raw_body=body,
                body_sha256=digest,
                event_type=facts.event_type,
                applicant_id=facts.applicant_id,
                event_at=facts.event_at,
            )
    except IntegrityError:
        ProviderCallback.objects.filter(provider=provider, body_sha256=digest).update(
            deliveries=F("deliveries") + 1
        )
        row = ProviderCallback.objects.get(provider=provider, body_sha256=digest)
    return callback_process(row.pk)


def callbacks_pending_process() -> int:
    """Process every callback still "received" (oldest first); returns how many moved."""
    done = 0
    for pk in ProviderCallback.objects.filter(status=CallbackStatus.RECEIVED).values_list(
        "pk", flat=True
    )[:BATCH]:
        try:
            if callback_process(pk).status != CallbackStatus.RECEIVED:
                done += 1
        except Exception:  # one bad row must not stop the others; it stays for a look
            logger.exception("provider callback %s could not be processed", pk)
    return done


def callback_process(pk: int) -> ProviderCallback:
    """Apply one stored callback, exactly once. A conflicting change of the case (a reviewer
    acting at the same moment) rolls back and leaves the row for the next attempt."""
    try:
        with transaction.atomic():
            return _process_locked(pk)
    except CaseConflict:
        return ProviderCallback.objects.get(pk=pk)


def _process_locked(pk: int) -> ProviderCallback:
    # Only the callback's own row: FOR UPDATE through select_related would lock the provider's
    # row too, and every insert naming the provider (a trader's page creating the applicant)
    # waits on that lock — a deadlock with this transaction's own wait on that insert.
    row = (
        ProviderCallback.objects.select_for_update(of=("self",))
        .select_related("provider")
        .get(pk=pk)
    )
    if row.status != CallbackStatus.RECEIVED:
        return row  # processed before: a duplicate has no second effect
    adapter = adapter_of(row.provider)
    try:
        facts = adapter.callback_parse(body=bytes(row.raw_body))
    except ValueError as exc:
        return _finish(row, CallbackStatus.FAILED, str(exc))
    applicant = _applicant_locked(row.provider, facts)
    if applicant is None:
        return _finish(row, CallbackStatus.IGNORED, "no case has this applicant")
    if _older(facts, applicant):
        return _finish(row, CallbackStatus.STALE, "older than the last callback applied")
    outcome = _events_apply(applicant, facts, actor=f"provider:{row.provider.name}")
    changes: dict[str, Any] = {}
    if facts.event_at and (not applicant.last_event_at or facts.event_at > applicant.last_event_at):
        changes["last_event_at"] = facts.event_at
    if facts.review_status:
        changes["review_status"] = facts.review_status
    if changes:
        ProviderApplicant.objects.filter(pk=applicant.pk).update(**changes)
    status = CallbackStatus.APPLIED if outcome.applied else CallbackStatus.IGNORED
    return _finish(row, status, outcome.text)


# Where an applicant's review stands; a callback at the same instant as the last one applied
# but earlier in this order is stale too (a provider's clock has finite resolution).
_REVIEW_RANK = {"init": 0, "pending": 1, "queued": 1, "onHold": 2, "prechecked": 2, "completed": 3}


def _older(facts: CallbackFacts, applicant: ProviderApplicant) -> bool:
    if not facts.event_at or not applicant.last_event_at:
        return False
    if facts.event_at != applicant.last_event_at:
        return facts.event_at < applicant.last_event_at
    rank = _REVIEW_RANK.get(facts.review_status)
    current = _REVIEW_RANK.get(applicant.review_status)
    return rank is not None and current is not None and rank < current


def _applicant_locked(provider: KycProvider, facts: CallbackFacts) -> ProviderApplicant | None:
    applicant = (
        ProviderApplicant.objects.select_for_update()
        .filter(provider=provider, applicant_id=facts.applicant_id)
        .first()
    )
    if applicant is not None or not facts.external_user_id:
        return applicant
    # Our answer to "create applicant" was lost: the provider still names our case.
    case = KycCase.objects.filter(public_id=_uuid_or_none(facts.external_user_id)).first()
    if case is None or ProviderApplicant.objects.filter(case=case).exists():
        return None
    try:
        with transaction.atomic():
            applicant = ProviderApplicant.objects.create(
                case=case, provider=provider, applicant_id=facts.applicant_id
            )
    except IntegrityError:  # the trader's page created it at the same moment
        return (
            ProviderApplicant.objects.select_for_update()
            .filter(provider=provider, applicant_id=facts.applicant_id)
            .first()
        )
    return ProviderApplicant.objects.select_for_update().get(pk=applicant.pk)


def _uuid_or_none(value: str) -> Any:
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class _Outcome:
    def __init__(self) -> None:
        self.applied = False
        self.parts: list[str] = []

    @property
    def text(self) -> str:
        return "; ".join(self.parts)[:300] or "nothing to apply"


def _events_apply(applicant: ProviderApplicant, facts: CallbackFacts, *, actor: str) -> _Outcome:
    outcome = _Outcome()
    for event in facts.events:
        case = KycCase.objects.select_related("state", "client").get(pk=applicant.case_id)
        if transition_for(case, event) is None and _submit_implied(case, event):
            # A review result implies the applicant submitted, even if that callback is late.
            case_transition(case=case, event=CaseEvent.SUBMIT, actor=actor)
            outcome.parts.append(f"{CaseEvent.SUBMIT} (implied)")
            outcome.applied = True
        if transition_for(case, event) is None:
            outcome.parts.append(f"{event}: no transition from “{case.state.key}”")
            continue
        case_transition(
            case=case, event=event, actor=actor,
            reason_code=facts.reason_code if event != CaseEvent.SUBMIT else "",
            reason=facts.reason if event != CaseEvent.SUBMIT else "",
        )  # fmt: skip
        outcome.parts.append(f"{event} → {case.state.key}")
        outcome.applied = True
    return outcome


def _submit_implied(case: KycCase, event: str) -> bool:
    if event == CaseEvent.SUBMIT:
        return False
    submit = transition_for(case, CaseEvent.SUBMIT)
    return (
        submit is not None
        and KycTransition.objects.filter(
            configuration_id=case.configuration_id, from_state=submit.to_state, event=event
        ).exists()
    )


def _finish(row: ProviderCallback, status: str, outcome: str) -> ProviderCallback:
    row.status = status
    row.outcome = outcome[:300]
    row.processed_at = timezone.now()
    row.save(update_fields=["status", "outcome", "processed_at"])
    return row
