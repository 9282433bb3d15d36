"""Disputes: an IB questions one of its commission lines from the Partner portal; an IB
manager reads the line's provenance and the client's assignment history and resolves it."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import CommissionLine, Dispute, DisputeStatus, Partner


def dispute_open(*, line: CommissionLine, partner: Partner, message: str, actor: User) -> Dispute:
    message = (message or "").strip()
    if line.partner_id != partner.pk:
        raise PartnerError(_("You can only dispute your own commission lines."), code="forbidden")
    if not message:
        raise PartnerError(_("Say what is wrong with this line."), field="message")
    if len(message) > 4000:
        raise PartnerError(_("Keep the message under 4,000 characters."), field="message")
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(line=line, partner=partner, message=message)
            audit_record(actor=actor, action="partners.dispute_open", target=dispute, before=None,
                         after={"line": str(line.public_id), "message": message})  # fmt: skip
    except IntegrityError as error:
        raise PartnerError(
            _("This line already has an open dispute."), code="open_exists"
        ) from error
    return dispute


def dispute_resolve(*, dispute: Dispute, actor: User, accept: bool, resolution: str) -> Dispute:
    if not permission_check(actor, "partners.manage"):
        raise PartnerError(_("Only an IB manager resolves disputes."), code="forbidden")
    resolution = (resolution or "").strip()
    if not resolution:
        raise PartnerError(_("Give the reason for the decision."), field="resolution")
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if dispute.status != DisputeStatus.OPEN:
            raise PartnerError(_("This dispute is already resolved."), code="resolved")
        dispute.status = DisputeStatus.ACCEPTED if accept else DisputeStatus.REJECTED
        dispute.resolved_by = actor
        dispute.resolved_at = timezone.now()
        dispute.resolution = resolution[:1000]
        dispute.save(update_fields=["status", "resolved_by", "resolved_at", "resolution"])
        audit_record(actor=actor, action="partners.dispute_resolve", target=dispute,
                     before={"status": DisputeStatus.OPEN},
                     after={"status": dispute.status}, reason=resolution)  # fmt: skip
    return dispute
