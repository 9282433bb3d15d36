"""The client 360: everything staff may see about one client, panel by panel.

Panels of modules not built yet (trading accounts, money, IB, tickets) say so plainly;
each module fills its panel when it arrives (KYC: ``kyc.panel``). A fixed number of queries whatever the client's
history (each source is read once, limited).
"""

from __future__ import annotations

from typing import Any

import pycountry
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.crm.models import ClientRecord, DuplicateFlag, DuplicateStatus, Stage
from brokerdesk.modules.crm.timeline import timeline_for
from brokerdesk.modules.identity.devices import devices_of
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.kyc.panel import kyc_panel
from brokerdesk.modules.notifications.models import OutboxEmail
from brokerdesk.modules.policy.engine import decide_all
from brokerdesk.modules.trading.panel import accounts_panel

# Panels whose module has not arrived yet, with what each will show.
PENDING_PANELS: dict[str, tuple[Any, Any, str | None]] = {
    "money": (
        _("Money"),
        _(
            "The payments module is not enabled yet: balances, deposits, withdrawals and adjustments will show here."
        ),
        "clients.view_finance",
    ),
    "tickets": (
        _("Support tickets"),
        _("The support module is not enabled yet: this client's tickets will show here."),
        None,
    ),
}


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code) if code else None
    return country.name if country is not None else ""


def source_of(record: ClientRecord) -> dict[str, Any]:
    """The first-touch source fields that are set."""
    fields = {
        "utm_source": record.utm_source,
        "utm_medium": record.utm_medium,
        "utm_campaign": record.utm_campaign,
        "utm_term": record.utm_term,
        "utm_content": record.utm_content,
        "landing_page": record.landing_page,
        "referrer": record.referrer,
        "referral_code": record.referral_code,
        "language": record.source_language,
        "country": record.source_country,
        "first_touch_at": record.first_touch_at,
    }
    return {key: value for key, value in fields.items() if value}


SOURCE_LABELS = {
    "utm_source": _("Campaign source"),
    "utm_medium": _("Medium"),
    "utm_campaign": _("Campaign"),
    "utm_term": _("Term"),
    "utm_content": _("Content"),
    "landing_page": _("Landing page"),
    "referrer": _("Came from"),
    "referral_code": _("IB referral code"),
    "language": _("Page language"),
    "country": _("Country (from the network)"),
    "first_touch_at": _("First visit"),
}


def client_360(record: ClientRecord, *, actor: Any) -> dict[str, Any]:
    """The page's context: the record, each panel's data and the timeline."""
    user = record.user
    flags = list(
        DuplicateFlag.objects.filter(
            Q(record=record) | Q(duplicate_of=record), status=DuplicateStatus.OPEN
        ).select_related("record__user", "duplicate_of__user")
    )
    sees_emails = permission_check(actor, "clients.view_emails")
    emails = (
        list(
            OutboxEmail.objects.filter(user=user).only("queued_at", "subject", "status", "to")[:10]
        )
        if sees_emails
        else []
    )
    pending = [
        {"key": key, "title": title, "text": text}
        for key, (title, text, code) in PENDING_PANELS.items()
        if code is None or permission_check(actor, code)
    ]
    return {
        "record": record,
        "client": user,
        "country_name": _country_name(record.country),
        "language_name": dict(settings.LANGUAGES).get(record.language, record.language),
        "stage_label": Stage(record.stage).label,
        "stage_history": list(record.stage_changes.order_by("-at", "-pk")[:20]),
        "source": [(SOURCE_LABELS[key], value) for key, value in source_of(record).items()],
        "devices": devices_of(user),
        "sees_emails": sees_emails,
        "emails": emails,
        "pending_panels": pending,
        "kyc": kyc_panel(record, actor=actor),
        "accounts_panel": accounts_panel(record, actor=actor),
        # The policy engine's answers, as the client reads them (the same reasons).
        "decisions": list(decide_all(user).values()),
        "duplicate_flags": [
            {
                "flag": flag,
                "other": flag.duplicate_of if flag.record_id == record.pk else flag.record,
            }
            for flag in flags
        ],
        "merged_records": list(record.merged_records.select_related("user")),
        "timeline": timeline_for(record, actor=actor),
        "can_edit": permission_check(actor, "clients.edit", obj=record),
        "can_assign": permission_check(actor, "clients.assign", obj=record),
        "can_merge": permission_check(actor, "clients.merge", obj=record),
    }
