"""Disputes: an IB questions one of its commission lines from the Partner portal; an IB
manager reads the line's provenance and the client's assignment history and resolves it."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.partners.engine import LOCK_SQL
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import (
    CommissionLine,
    Dispute,
    DisputeStatus,
    LineKind,
    LineSource,
    Partner,
    Statement,
)


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


def dispute_resolve(*, dispute: Dispute, actor: User, accept: bool, resolution: str,
                    corrected_amount_minor: int | None = None) -> Dispute:  # fmt: skip
    """Resolve with a reason. Accepting with a corrected amount writes the difference as a
    correction line into the IB's next open statement (closed statements never change)."""
    if not permission_check(actor, "partners.manage"):
        raise PartnerError(_("Only an IB manager resolves disputes."), code="forbidden")
    resolution = (resolution or "").strip()
    if not resolution:
        raise PartnerError(_("Give the reason for the decision."), field="resolution")
    if corrected_amount_minor is not None and not accept:
        raise PartnerError(_("A corrected amount goes with accepting the dispute."),
                           field="corrected_amount")  # fmt: skip
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(LOCK_SQL)  # statements must not close or be recomputed meanwhile
        dispute = Dispute.objects.select_for_update().select_related("line").get(pk=dispute.pk)
        if dispute.status != DisputeStatus.OPEN:
            raise PartnerError(_("This dispute is already resolved."), code="resolved")
        dispute.status = DisputeStatus.ACCEPTED if accept else DisputeStatus.REJECTED
        dispute.resolved_by = actor
        dispute.resolved_at = timezone.now()
        dispute.resolution = resolution[:1000]
        if corrected_amount_minor is not None:
            dispute.corrected_amount_minor = corrected_amount_minor
            dispute.correction_line = _correction_write(dispute, corrected_amount_minor)
        dispute.save(update_fields=["status", "resolved_by", "resolved_at", "resolution",
                                    "corrected_amount_minor", "correction_line"])  # fmt: skip
        line = dispute.correction_line
        audit_record(actor=actor, action="partners.dispute_resolve", target=dispute,
                     before={"status": DisputeStatus.OPEN},
                     after={"status": dispute.status,
                            "corrected_amount_minor": corrected_amount_minor,
                            "correction_line": str(line.public_id) if line else None,
                            "correction_minor": line.amount_minor if line else None},
                     reason=resolution)  # fmt: skip
    return dispute


def _correction_write(dispute: Dispute, corrected_minor: int) -> CommissionLine:
    from brokerdesk.modules.partners.statements import next_open_statement

    line = dispute.line
    delta = corrected_minor - line.amount_minor
    if delta == 0:
        raise PartnerError(_("The corrected amount is the line's amount: nothing to correct."),
                           field="corrected_amount")  # fmt: skip
    target: Statement = next_open_statement(dispute.partner)
    now = timezone.now()
    occurred = min(max(now, target.period_start), target.period_end - timedelta(microseconds=1))
    return CommissionLine.objects.create(
        statement=target, partner_id=line.partner_id, kind=LineKind.CORRECTION,
        source=LineSource.DISPUTE, source_id=dispute.pk, level=line.level,
        client_id=line.client_id, occurred_at=occurred, symbol=line.symbol,
        symbol_group=line.symbol_group, lots=line.lots, rule_id=line.rule_id,
        version_id=line.version_id, rule_kind=line.rule_kind, tier_min_lots=line.tier_min_lots,
        rate=line.rate, share_rule_id=line.share_rule_id, share_rate=line.share_rate,
        charges_minor=line.charges_minor, amount_minor=delta, currency=line.currency,
    )  # fmt: skip
