"""IB objects for the role matrix and the isolation walker (issue 10): an IB with a client,
a pending move, a plan with a draft version, an open October statement with one line and a
dispute on it. Idempotent (the walker's tenants survive --reuse-db)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.partners.models import (
    ClientAssignment,
    CommissionLine,
    CommissionPlan,
    Dispute,
    MarketingMaterial,
    Partner,
    PlanRule,
    PlanVersion,
    ReassignmentRequest,
    ReferralLink,
    Statement,
)
from brokerdesk.tenants.config.models import LegalEntity

UTC = ZoneInfo("UTC")
OCTOBER = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)


def partners_targets(slug: str, marker: str, requester: User) -> dict[str, dict[str, str]]:
    ib_user, _ = User.objects.get_or_create(email=f"ib@{slug}.example",
                                            defaults={"kind": UserKind.IB})  # fmt: skip
    partner, _ = Partner.objects.get_or_create(
        user=ib_user, defaults={"name": f"{marker} IB", "referral_code": f"C{slug.upper()}",
                                "status": "active"},
    )  # fmt: skip
    other_user, _ = User.objects.get_or_create(email=f"ib2@{slug}.example",
                                               defaults={"kind": UserKind.IB})  # fmt: skip
    other, _ = Partner.objects.get_or_create(
        user=other_user, defaults={"name": f"{marker} IB two", "referral_code": f"D{slug.upper()}",
                                   "status": "active"},
    )  # fmt: skip
    trader, _ = User.objects.get_or_create(
        email=f"ib-client@{slug}.example",
        defaults={"kind": UserKind.CLIENT, "created_at": datetime(2026, 1, 1, tzinfo=UTC)},
    )  # fmt: skip
    if not ClientAssignment.objects.filter(client=trader).exists():
        ClientAssignment.objects.create(client=trader, partner=partner, source="manual",
                                        valid_from=datetime(2026, 1, 2, tzinfo=UTC))  # fmt: skip
    move = ReassignmentRequest.objects.filter(client_id=trader.pk, status="pending").first()
    if move is None:
        move = ReassignmentRequest.objects.create(
            client=trader, old_partner=partner, new_partner=other, mode="backdated",
            effective_at=datetime(2026, 10, 14, tzinfo=UTC), reason=f"{marker} move",
            requested_by=requester,
        )  # fmt: skip
    plan, _ = CommissionPlan.objects.get_or_create(name=f"{marker} plan")
    version = plan.versions.first() or PlanVersion.objects.create(
        plan=plan, number=1, valid_from=datetime(2026, 1, 1, tzinfo=UTC)
    )
    if not version.rules.exists():
        PlanRule.objects.create(version=version, kind="per_lot", rate=1000)
    statement, _ = Statement.objects.get_or_create(
        partner=partner, period_start=OCTOBER[0],
        defaults={"period_end": OCTOBER[1], "currency": "USD"},
    )  # fmt: skip
    line = CommissionLine.objects.filter(statement=statement).first()
    if line is None:
        line = CommissionLine.objects.create(
            statement=statement, partner=partner, source="deal", source_id=1, level=0,
            client=trader, occurred_at=datetime(2026, 10, 9, tzinfo=UTC), symbol="EURUSD",
            symbol_group="fx_major", lots=1, rule=version.rules.first(), version=version,
            rule_kind="per_lot", rate=1000, amount_minor=1000, currency="USD",
        )  # fmt: skip
    dispute = Dispute.objects.filter(line=line).first() or Dispute.objects.create(
        line=line, partner=partner, message=f"{marker} dispute"
    )
    applicant_user, _ = User.objects.get_or_create(email=f"ib3@{slug}.example",
                                                   defaults={"kind": UserKind.IB})  # fmt: skip
    applicant, _ = Partner.objects.get_or_create(
        user=applicant_user, defaults={"name": f"{marker} applicant",
                                       "referral_code": f"E{slug.upper()}", "status": "applied"},
    )  # fmt: skip
    material = MarketingMaterial.objects.filter(title=f"{marker} banner").first()
    if material is None:
        material = MarketingMaterial.objects.create(
            title=f"{marker} banner", kind="banner", file_key=f"marketing/{slug}.png",
            content_type="image/png", size_bytes=1, sha256="0" * 64,
        )  # fmt: skip
    link = ReferralLink.objects.filter(partner=partner).first() or ReferralLink.objects.create(
        partner=partner, code=f"L{slug.upper()}", campaign=f"{marker} campaign"
    )
    entity, _ = LegalEntity.objects.get_or_create(name=f"{marker} IB entity",
                                                  defaults={"jurisdiction": "CY"})  # fmt: skip
    return {
        "ib-material": {"public_id": str(material.public_id)},
        "ib-material-token": {"token": "unknown-token"},
        "ib-link": {"public_id": str(link.public_id)},
        "ib-entity": {"public_id": str(entity.public_id)},
        "ib-application": {"public_id": str(applicant.public_id)},
        "ib-partner": {"public_id": str(partner.public_id)},
        "ib-client": {"public_id": str(trader.public_id)},
        "ib-move": {"public_id": str(move.public_id)},
        "ib-plan": {"public_id": str(plan.public_id)},
        "ib-version": {"public_id": str(version.public_id)},
        "ib-statement": {"public_id": str(statement.public_id)},
        "ib-line": {"public_id": str(line.public_id)},
        "ib-dispute": {"public_id": str(dispute.public_id)},
    }


ROUTES = {
    "backoffice:partners:application-approve": "ib-application",
    "backoffice:partners:application-reject": "ib-application",
    "backoffice:partners:move-approve": "ib-move",
    "backoffice:partners:move-reject": "ib-move",
    "backoffice:partners:version-submit": "ib-version",
    "backoffice:partners:version-approve": "ib-version",
    "backoffice:partners:version-reject": "ib-version",
    "backoffice:partners:statement-close": "ib-statement",
    "backoffice:partners:statement-pay": "ib-statement",
    "backoffice:partners:dispute": "ib-dispute",
    "partners-api:ib": "ib-partner",
    "partners-api:client-history": "ib-client",
    "partners-api:move-approve": "ib-move",
    "partners-api:move-reject": "ib-move",
    "partners-api:plan-versions": "ib-plan",
    "partners-api:version-submit": "ib-version",
    "partners-api:version-approve": "ib-version",
    "partners-api:version-reject": "ib-version",
    "partners-api:version-what-if": "ib-version",
    "partners-api:statement-close": "ib-statement",
    "partners-api:statement-pay": "ib-statement",
    "partners-api:line": "ib-line",
    "partners-api:dispute-resolve": "ib-dispute",
    # The programme (issue 10, ADR 0036).
    "backoffice:partners:material-activate": "ib-material",
    "backoffice:partners:material-deactivate": "ib-material",
    "backoffice:partners:material-download": "ib-material",
    "partners-api:material": "ib-material",
    "partners-api:material-link": "ib-material",
    "partners-api:application-approve": "ib-application",
    "partners-api:application-reject": "ib-application",
    "partners-api:entity-referrals": "ib-entity",
    "partner-api:link": "ib-link",
    "partner-api:link-qr-svg": "ib-link",
    "partner-api:link-qr-png": "ib-link",
    "partner-api:material-link": "ib-material",
    "partner_portal:material-download": "ib-material",
    "partner_portal:material-file": "ib-material-token",
    # The Partner portal: the owner is staff, so the portal sends them to its login.
    "partner_portal:line": "ib-line",
    "partner_portal:statement": "ib-statement",
}


def _arg(key: str) -> Any:
    return lambda canary: canary.route_args[key]


def partners_providers() -> dict[str, Any]:
    return {name: _arg(key) for name, key in ROUTES.items()}
