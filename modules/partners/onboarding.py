"""IB onboarding from the Partner portal: an IB account applies, an IB manager approves (or
rejects with a reason), the IB accepts the agreement and the partnership becomes active."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import Partner, PartnerStatus
from brokerdesk.modules.partners.tree import referral_code_new

AGREEMENT_VERSION = "2026-11"


def application_submit(*, user: User, name: str, company: str = "", country: str = "",
                       website: str = "", note: str = "") -> Partner:  # fmt: skip
    name = (name or "").strip()
    if user.kind != UserKind.IB:
        raise PartnerError(_("Only an IB account can apply."), code="forbidden")
    if not name:
        raise PartnerError(_("Give the name you trade under."), field="name")
    try:
        with transaction.atomic():
            partner = Partner.objects.create(
                user=user, name=name[:200], company=company.strip()[:200],
                country=country.strip().upper()[:2], website=website.strip()[:300],
                application_note=note.strip()[:2000], status=PartnerStatus.APPLIED,
                referral_code=referral_code_new(),
            )  # fmt: skip
            audit_record(actor=user, action="partners.application_submit", target=partner,
                         before=None, after={"name": partner.name, "status": partner.status})  # fmt: skip
    except IntegrityError as error:
        raise PartnerError(_("You have already applied."), code="exists") from error
    return partner


def application_decide(*, partner: Partner, actor: User, approve: bool, note: str = "",
                       manager: User | None = None) -> Partner:  # fmt: skip
    if not permission_check(actor, "partners.manage"):
        raise PartnerError(_("Only an IB manager decides applications."), code="forbidden")
    note = (note or "").strip()
    if not approve and not note:
        raise PartnerError(_("Say why the application is rejected."), field="note")
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        if partner.status != PartnerStatus.APPLIED:
            raise PartnerError(_("This application was already decided."), code="decided")
        partner.status = PartnerStatus.APPROVED if approve else PartnerStatus.REJECTED
        partner.decided_by = actor
        partner.decided_at = timezone.now()
        partner.decision_note = note[:500]
        partner.manager = manager or (actor if approve else None)
        partner.save(update_fields=["status", "decided_by", "decided_at", "decision_note",
                                    "manager"])  # fmt: skip
        audit_record(actor=actor, action="partners.application_decide", target=partner,
                     before={"status": PartnerStatus.APPLIED},
                     after={"status": partner.status}, reason=note)  # fmt: skip
    return partner


def agreement_accept(*, partner: Partner, user: User) -> Partner:
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        if partner.user_id != user.pk:
            raise PartnerError(_("This is not your application."), code="forbidden")
        if partner.status != PartnerStatus.APPROVED:
            raise PartnerError(_("There is no agreement to accept yet."), code="not_approved")
        partner.status = PartnerStatus.ACTIVE
        partner.agreement_version = AGREEMENT_VERSION
        partner.agreement_accepted_at = timezone.now()
        partner.save(update_fields=["status", "agreement_version", "agreement_accepted_at"])
        audit_record(actor=user, action="partners.agreement_accept", target=partner,
                     before={"status": PartnerStatus.APPROVED},
                     after={"status": partner.status, "agreement": AGREEMENT_VERSION})  # fmt: skip
    return partner
