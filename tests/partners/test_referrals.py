"""Referral attribution at registration (issue 10): the CRM's first touch carries the code;
the client is assigned to the IB from registration; self- and same-device referrals are
flagged; the attribution window is honoured; the CRM routes to the IB's manager."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from brokerdesk.modules.crm.records import record_on_registration
from brokerdesk.modules.crm.routing import ib_manager_for
from brokerdesk.modules.crm.source import Source
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.security_models import Device
from brokerdesk.modules.partners.models import (
    AssignmentSource,
    AttributionSettings,
    ClientAssignment,
    Referral,
)
from brokerdesk.modules.partners.referrals import link_create, qr_svg
from brokerdesk.modules.partners.tree import partner_at
from support.partners import world_make


def _register(email: str, code: str, *, touched_days_ago: int = 1, **fields) -> User:
    user = User.objects.create(email=email, kind=UserKind.CLIENT, **fields)
    touched = (timezone.now() - timedelta(days=touched_days_ago)).isoformat()
    record_on_registration(user=user, source=Source(referral_code=code, at=touched))
    return user


def test_a_referred_registration_is_assigned_to_the_ib_from_registration(db):
    w = world_make()
    ib = w.ib("Referrer")
    link = link_create(partner=ib, campaign="Spring webinar")
    client = _register("referred@trader.example", link.code)
    referral = Referral.objects.get(client=client)
    assert (referral.partner, referral.link, referral.self_referral) == (ib, link, False)
    assert partner_at(client, timezone.now()) == ib
    assert ClientAssignment.objects.get(client=client).source == AssignmentSource.REGISTRATION
    assert qr_svg(f"https://broker.example/?ref={link.code}").startswith("<svg")


def test_self_and_same_device_referrals_are_flagged(db):
    w = world_make()
    ib = w.ib("Selfie")
    ib.user.phone = "+35799000001"
    ib.user.save(update_fields=["phone"])
    twin = User.objects.create(email="twin@trader.example", kind=UserKind.CLIENT,
                               phone="+35799000001")  # fmt: skip
    now = timezone.now()
    for user in (ib.user, twin):
        Device.objects.create(user=user, key_hash="same-browser", label="Chrome",
                              first_seen_at=now, last_seen_at=now)  # fmt: skip
    record_on_registration(user=twin, source=Source(referral_code=ib.referral_code,
                                                    at=now.isoformat()))  # fmt: skip
    referral = Referral.objects.get(client=twin)
    assert (referral.self_referral, referral.same_device) == (True, True)


def test_a_touch_older_than_the_window_attributes_nobody(db):
    w = world_make()
    ib = w.ib("Late")
    AttributionSettings.objects.update_or_create(singleton=1, defaults={"window_days": 7})
    client = _register("late@trader.example", ib.referral_code, touched_days_ago=30)
    assert not Referral.objects.filter(client=client).exists()
    assert partner_at(client, timezone.now()) is None


def test_the_crm_routes_an_ib_referred_lead_to_the_ibs_manager(db):
    w = world_make()
    ib = w.ib("Managed")
    ib.manager = w.managers[0]
    ib.save(update_fields=["manager"])
    assert ib_manager_for(ib.referral_code) == w.managers[0]
    assert ib_manager_for("UNKNOWN") is None
