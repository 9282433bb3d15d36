"""Referral links, QR codes and attribution at registration.

The CRM keeps a visitor's first touch (``?ref=<code>``, modules/crm/source.py) and writes it on
the client's record at registration; when that record appears, ``registration_attribute``
finds the IB behind the code (its own code or one of its campaign links), checks the broker's
attribution window, assigns the client to the IB from the moment they registered and flags
self-referrals (the IB's own phone or name) and same-device referrals (a browser both used).
"""

from __future__ import annotations

import io
import secrets
from typing import Any

import segno
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.models import User
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import (
    AssignmentSource,
    ClientAssignment,
    Partner,
    PartnerStatus,
    Referral,
    ReferralLink,
)
from brokerdesk.modules.partners.tree import assignment_set


def qr_svg(url: str) -> str:
    """An inline SVG QR code of ``url`` (error correction M, scales with its box)."""
    return segno.make(url, error="m").svg_inline(scale=4, omitsize=True, dark="#000")


def link_create(*, partner: Partner, campaign: str, actor: Any = None) -> ReferralLink:
    """A campaign link of ``partner`` (audited; the actor defaults to the IB itself)."""
    campaign = (campaign or "").strip()[:100]
    if not campaign:
        raise PartnerError("Name the campaign.", field="campaign")
    code = f"{partner.referral_code}-{secrets.token_hex(3).upper()}"
    with transaction.atomic():
        link = ReferralLink.objects.create(partner=partner, code=code, campaign=campaign)
        audit_record(actor=actor or _owner(partner), action="partners.link_create",
                     target=link, before=None, after={"code": code, "campaign": campaign})  # fmt: skip
    return link


def _owner(partner: Partner) -> User:
    return User.objects.get(pk=partner.user_id)


def link_update(*, link: ReferralLink, actor: Any, campaign: str | None = None,
                archive: bool = False) -> ReferralLink:  # fmt: skip
    """Rename a link's campaign, or archive it (its code stops attributing)."""
    with transaction.atomic():
        link = ReferralLink.objects.select_for_update().get(pk=link.pk)
        if link.archived_at is not None:
            raise PartnerError(_("This link is archived."), code="archived")
        before = {"campaign": link.campaign, "archived": False}
        if campaign is not None:
            campaign = campaign.strip()[:100]
            if not campaign:
                raise PartnerError(_("Name the campaign."), field="campaign")
            link.campaign = campaign
        if archive:
            link.archived_at = timezone.now()
        link.save(update_fields=["campaign", "archived_at"])
        audit_record(actor=actor, action="partners.link_update", target=link, before=before,
                     after={"campaign": link.campaign, "archived": archive})  # fmt: skip
    return link


def qr_svg_document(url: str) -> bytes:
    """A standalone SVG file of the QR code of ``url`` (for downloads and the API)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=4)
    return out.getvalue()


def qr_png(url: str) -> bytes:
    """A PNG QR code of ``url`` (error correction M, 8 pixels a module, quiet zone kept)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=8)
    return out.getvalue()


def partner_for_code(code: str) -> tuple[Partner | None, ReferralLink | None]:
    if not code:
        return None, None
    partner = Partner.objects.filter(referral_code=code, status=PartnerStatus.ACTIVE).first()
    if partner is not None:
        return partner, None
    link = (
        ReferralLink.objects.select_related("partner")
        .filter(code=code, archived_at__isnull=True)
        .first()
    )
    if link is not None and link.partner.status == PartnerStatus.ACTIVE:
        return link.partner, link
    return None, None


def _same_device(client: User, ib_user_id: int) -> bool:
    from brokerdesk.modules.identity.security_models import Device

    mine = Device.objects.filter(user=client).values("key_hash")
    return Device.objects.filter(user_id=ib_user_id, key_hash__in=mine).exists()


def _self_referral(client: User, ib_user: User) -> bool:
    same_phone = bool(client.phone) and client.phone == ib_user.phone
    same_name = bool(client.full_name.strip()) and (
        client.full_name.strip().casefold() == ib_user.full_name.strip().casefold()
    )
    return same_phone or same_name


def _record_touch(record: Any, client: User) -> list[Any]:
    from brokerdesk.modules.partners.attribution import Touch

    code = getattr(record, "referral_code", "") or ""
    touched = record.first_touch_at or client.created_at
    if isinstance(touched, str):  # as the CRM set it from the session, before a re-read
        touched = parse_datetime(touched) or client.created_at
    return [Touch(code=code, at=touched)] if code else []


def registration_attribute(record: Any, *, with_request_touches: bool = True) -> Referral | None:
    """Attribute a newly registered client to the IB of the touch their entity's rule picks
    (first or last touch inside the attribution window, see attribution.py). Idempotent
    (one referral per client)."""
    from brokerdesk.modules.partners.attribution import (
        client_entity,
        policy_for_entity,
        request_touches,
        touch_choose,
    )

    client = User.objects.filter(pk=record.user_id).first() if record.user_id else None
    if client is None or Referral.objects.filter(client=client).exists():
        return None
    touches = _record_touch(record, client) + (request_touches() if with_request_touches else [])
    chosen = touch_choose(touches, registered_at=client.created_at,
                          policy=policy_for_entity(client_entity(client)),
                          valid=lambda code: partner_for_code(code)[0] is not None)  # fmt: skip
    if chosen is None:
        return None
    partner, link = partner_for_code(chosen.code)
    assert partner is not None  # touch_choose kept only codes of active IBs
    ib_user = User.objects.get(pk=partner.user_id)
    with transaction.atomic():
        referral = Referral.objects.create(
            client=client, partner=partner, link=link, touched_at=chosen.at,
            registered_at=client.created_at,
            self_referral=_self_referral(client, ib_user) or client.pk == ib_user.pk,
            same_device=_same_device(client, ib_user.pk),
        )  # fmt: skip
        if not ClientAssignment.objects.filter(client=client).exists():
            assignment_set(client=client, partner=partner, effective_at=client.created_at,
                           actor="partners.referral", source=AssignmentSource.REGISTRATION)  # fmt: skip
    return referral


def ib_manager_of_code(code: str) -> User | None:
    """The CRM's routing hook: "IB-referred → the IB's manager"."""
    partner, _ = partner_for_code(code)
    if partner is None or partner.manager_id is None:
        return None
    return User.objects.filter(pk=partner.manager_id).first()
