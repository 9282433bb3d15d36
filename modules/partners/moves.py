"""Reassignment requests: move a client to another IB from an effective date.

Sales (own clients) or an IB manager asks; an IB manager who is not the requester approves
(service check and ``CHECK (decided_by <> requested_by)``). Approval applies the move to the
assignment history and, when it reaches back in time, re-runs the engine over the months it
touches: open statements are recomputed, closed ones get adjustment lines in the next open
statement (ADR 0032). The request keeps the commission effect per IB.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import (
    AssignmentSource,
    MoveMode,
    Partner,
    PartnerStatus,
    ReassignmentRequest,
    RequestStatus,
)
from brokerdesk.modules.partners.tree import assignment_set, partner_at


def _client_record(client: User) -> Any:
    from brokerdesk.modules.crm.models import ClientRecord

    return ClientRecord.objects.filter(user=client).first()


def may_request_for(actor: User, client: User) -> bool:
    """IB managers ask for any client; Sales (scope "own") for the clients it owns."""
    if permission_check(actor, "partners.manage"):
        return True
    if not permission_check(actor, "partners.request_move"):
        return False
    record = _client_record(client)
    return record is not None and permission_check(actor, "partners.request_move", obj=record)


def move_request(*, client: User, new_partner: Partner, effective_at: datetime, mode: str,
                 reason: str, actor: User) -> ReassignmentRequest:  # fmt: skip
    """Ask to move ``client`` to ``new_partner`` from ``effective_at``."""
    reason = (reason or "").strip()
    if not reason:
        raise PartnerError(_("Give a reason for the move."), field="reason")
    if mode not in MoveMode.values:
        raise PartnerError(_("Choose future deals only or backdated."), field="mode")
    if client.kind != UserKind.CLIENT:
        raise PartnerError(_("Only clients are assigned to IBs."), field="client")
    if new_partner.status != PartnerStatus.ACTIVE:
        raise PartnerError(_("This IB is not active."), field="new_partner")
    _effective_check(client, effective_at, mode)
    old = partner_at(client, effective_at)
    if old is not None and old.pk == new_partner.pk:
        raise PartnerError(
            _("The client already belongs to this IB at that date."), field="new_partner"
        )
    try:
        with transaction.atomic():
            request = ReassignmentRequest.objects.create(
                client=client, old_partner=old, new_partner=new_partner,
                effective_at=effective_at, mode=mode, reason=reason[:500], requested_by=actor,
            )  # fmt: skip
            audit_record(
                actor=actor, action="partners.move_request", target=request, before=None,
                after=_request_dict(request), reason=reason,
            )  # fmt: skip
    except IntegrityError as error:
        raise PartnerError(
            _("This client already has a move waiting for approval."), code="pending_exists"
        ) from error
    return request


def _effective_check(client: User, effective_at: datetime, mode: str) -> None:
    if effective_at < client.created_at:
        raise PartnerError(
            _("The effective date is before the client existed (%(created)s).")
            % {"created": timezone.localtime(client.created_at).date().isoformat()},
            field="effective_at", code="before_client",
        )  # fmt: skip
    if mode == MoveMode.FUTURE and effective_at < timezone.now():
        raise PartnerError(
            _("A move for future deals only cannot take effect in the past; choose backdated."),
            field="effective_at", code="past",
        )  # fmt: skip


def _request_dict(request: ReassignmentRequest) -> dict[str, Any]:
    return {
        "client": str(request.client.public_id),
        "old_partner": str(request.old_partner.public_id) if request.old_partner else None,
        "new_partner": str(request.new_partner.public_id),
        "effective_at": request.effective_at.isoformat(),
        "mode": request.mode,
        "status": request.status,
    }


def move_approve(
    *, request: ReassignmentRequest, actor: User, note: str = ""
) -> ReassignmentRequest:
    """Approve and apply a move; a backdated one re-runs the engine over the months it
    reaches."""
    from brokerdesk.modules.partners.engine import engine_run

    if not permission_check(actor, "partners.manage"):
        raise PartnerError(_("Only an IB manager approves moves."), code="forbidden")
    with transaction.atomic():
        request = ReassignmentRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != RequestStatus.PENDING:
            raise PartnerError(_("This request was already decided."), code="decided")
        if request.requested_by_id == actor.pk:
            raise PartnerError(
                _("You cannot approve your own request: another IB manager must."),
                code="four_eyes",
            )  # fmt: skip
        client = User.objects.get(pk=request.client_id)
        _effective_check(client, request.effective_at, request.mode)
        before = _request_dict(request)
        assignment_set(
            client=client, partner=request.new_partner, effective_at=request.effective_at,
            actor=actor, source=AssignmentSource.REASSIGNMENT, reassignment=request,
        )  # fmt: skip
        effect: dict[str, Any] = {}
        if request.effective_at < timezone.now():
            result = engine_run(start=request.effective_at, end=timezone.now(), actor=actor)
            effect = result.effect_dict()
        request.status = RequestStatus.APPROVED
        request.decided_by = actor
        request.decided_at = timezone.now()
        request.decision_note = (note or "")[:500]
        request.effect = effect
        request.save(update_fields=["status", "decided_by", "decided_at", "decision_note",
                                    "effect"])  # fmt: skip
        audit_record(
            actor=actor, action="partners.move_approve", target=request, before=before,
            after={**_request_dict(request), "effect": effect}, reason=note,
        )  # fmt: skip
    return request


def move_reject(*, request: ReassignmentRequest, actor: User, note: str) -> ReassignmentRequest:
    if not permission_check(actor, "partners.manage"):
        raise PartnerError(_("Only an IB manager decides moves."), code="forbidden")
    note = (note or "").strip()
    if not note:
        raise PartnerError(_("Say why the move is rejected."), field="note")
    with transaction.atomic():
        request = ReassignmentRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != RequestStatus.PENDING:
            raise PartnerError(_("This request was already decided."), code="decided")
        if request.requested_by_id == actor.pk:
            raise PartnerError(_("You cannot decide your own request."), code="four_eyes")
        before = _request_dict(request)
        request.status = RequestStatus.REJECTED
        request.decided_by = actor
        request.decided_at = timezone.now()
        request.decision_note = note[:500]
        request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit_record(
            actor=actor, action="partners.move_reject", target=request, before=before,
            after=_request_dict(request), reason=note,
        )  # fmt: skip
    return request
