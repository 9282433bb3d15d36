"""Refer a friend: the Trader's Room referral area (issue 10, ADR 0036).

A client is not an IB (identity keeps one account per e-mail, of one kind), so the client's
referral link exists only where the broker runs a refer-a-friend programme for the client's
legal entity (``EntityReferralSettings.friends_enabled`` with a plan). The client then gets a
partner row of the "friend" programme on first use: the same referral code, attribution and
engine as IBs (the plan's rules price the rewards, typically a CPA on a friend's qualifying
first deposit) and statements paid into the client's wallet — but no Partner portal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.partners.attribution import client_entity, policy_for_entity
from brokerdesk.modules.partners.models import (
    Partner,
    PartnerProgram,
    PartnerStatus,
    QualifyingDeposit,
    Referral,
    Statement,
    StatementStatus,
)
from brokerdesk.modules.partners.plans import plan_assign
from brokerdesk.modules.partners.quality import traded_clients
from brokerdesk.modules.partners.selectors import _kyc_approved, lines_of, mask_email
from brokerdesk.modules.partners.tree import referral_code_new


def friend_referrer_of(client: User) -> Partner | None:
    return Partner.objects.filter(user_id=client.pk, program=PartnerProgram.FRIEND).first()


def friend_referrer_ensure(*, client: User) -> Partner | None:
    """The client's refer-a-friend partner row; created (on the entity's plan) the first time
    when the client's entity runs the programme. None when it does not."""
    existing = friend_referrer_of(client)
    if existing is not None or client.kind != UserKind.CLIENT:
        return existing
    policy = policy_for_entity(client_entity(client))
    if not policy.friends_enabled or policy.friend_plan is None:
        return None
    plan = policy.friend_plan
    try:
        with transaction.atomic():
            partner = Partner.objects.create(
                user=client, name=client.full_name.strip() or client.email.split("@")[0],
                program=PartnerProgram.FRIEND, status=PartnerStatus.ACTIVE,
                currency=plan.currency, referral_code=referral_code_new(),
                agreement_accepted_at=timezone.now(),
            )  # fmt: skip
            plan_assign(partner=partner, plan=plan, effective_at=timezone.now(), actor=client)
            audit_record(actor=client, action="partners.friend_referrer_create", target=partner,
                         before=None, after={"referral_code": partner.referral_code,
                                             "plan": str(plan.public_id)})  # fmt: skip
    except IntegrityError:  # a second tab created it at the same moment
        return friend_referrer_of(client)
    return partner


@dataclass(frozen=True)
class FriendRow:
    email_masked: str
    registered_at: Any
    status: str  # registered, kyc_approved, funded, active (the furthest reached)


def referrals_of(partner: Partner) -> list[FriendRow]:
    rows = list(Referral.objects.filter(partner=partner).order_by("-registered_at")[:500])
    users = User.objects.in_bulk([row.client_id for row in rows])
    now = timezone.now()
    approved = _kyc_approved(users)
    active = traded_clients(list(users), now - timedelta(days=30), now)
    funded = set(
        QualifyingDeposit.objects.filter(client_id__in=users).values_list("client_id", flat=True)
    )

    def status(pk: int) -> str:
        for name, members in (("active", active), ("funded", funded),
                              ("kyc_approved", approved)):  # fmt: skip
            if pk in members:
                return name
        return "registered"

    return [
        FriendRow(mask_email(users[row.client_id].email) if row.client_id in users else "",
                  row.registered_at, status(row.client_id))
        for row in rows
    ]  # fmt: skip


def rewards_of(partner: Partner) -> dict[str, int]:
    """Earned (every line so far) and paid (statements paid into the wallet), minor units."""
    earned = lines_of(partner).aggregate(t=Sum("amount_minor"))["t"]
    paid = Statement.objects.filter(partner=partner, status=StatementStatus.PAID).aggregate(
        t=Sum("total_minor")
    )["t"]
    return {"earned_minor": int(earned or 0), "paid_minor": int(paid or 0)}
