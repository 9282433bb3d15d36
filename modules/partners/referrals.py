"""Referral links, QR codes and attribution at registration.

The CRM keeps a visitor's first touch (``?ref=<code>``, modules/crm/source.py) and writes it on
the client's record at registration; when that record appears, ``registration_attribute``
finds the IB behind the code (its own code or one of its campaign links), checks the broker's
attribution window, assigns the client to the IB from the moment they registered and flags
self-referrals (the IB's own phone or name) and same-device referrals (a browser both used).
"""

from __future__ import annotations

import secrets
from typing import Any

import segno
from django.db import transaction
from django.utils.dateparse import parse_datetime

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


def link_create(*, partner: Partner, campaign: str) -> ReferralLink:
    campaign = (campaign or "").strip()[:100]
    if not campaign:
        raise PartnerError("Name the campaign.", field="campaign")
    code = f"{partner.referral_code}-{secrets.token_hex(3).upper()}"
    return ReferralLink.objects.create(partner=partner, code=code, campaign=campaign)


def partner_for_code(code: str) -> tuple[Partner | None, ReferralLink | None]:
    if not code:
        return None, None
    partner = Partner.objects.filter(referral_code=code, status=PartnerStatus.ACTIVE).first()
    if partner is not None:
        return partner, None
    link = ReferralLink.objects.select_related("partner").filter(code=code).first()
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
