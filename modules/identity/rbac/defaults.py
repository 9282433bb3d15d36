"""The built-in roles every broker starts with (seeded at provisioning, ADR 0016)."""

from __future__ import annotations

from dataclasses import dataclass

from brokerdesk.modules.identity.rbac.codes import ALL_CODES
from brokerdesk.modules.identity.rbac.models import RoleScope

SUPER_ADMIN = "super_admin"


@dataclass(frozen=True)
class DefaultRole:
    key: str
    name: str
    scope: str
    codes: frozenset[str]


DEFAULT_ROLES: tuple[DefaultRole, ...] = (
    DefaultRole(SUPER_ADMIN, "Super admin", RoleScope.ALL, ALL_CODES),
    # Sales works its own clients and never sees money details, AML notes or approvals (S9).
    DefaultRole(
        "sales",
        "Sales",
        RoleScope.OWN,
        frozenset({"clients.view", "clients.edit", "partners.request_move"}),
    ),
    DefaultRole(
        "compliance",
        "Compliance",
        RoleScope.ALL,
        frozenset(
            {
                "clients.view",
                "clients.view_emails",
                "kyc.view",
                "kyc.review",
                "kyc.view_aml_notes",
                "audit.view",
                "trading.view",
                "trading.manage",
            }
        ),
    ),
    DefaultRole(
        "finance",
        "Finance",
        RoleScope.ALL,
        frozenset(
            {
                "clients.view",
                "clients.view_finance",
                "payments.view",
                "payments.approve_withdrawal",
                "payments.adjust",
                "payments.view_adjustments",
                "payments.review_deposits",
                "reports.view",
                "trading.view",
                "trading.manage",
                "partners.pay",
            }
        ),
    ),
    # Support sees clients and their KYC status to answer questions, never AML notes.
    DefaultRole(
        "support",
        "Support",
        RoleScope.ALL,
        frozenset({"clients.view", "clients.view_emails", "kyc.view", "payments.view_adjustments"}),
    ),
    DefaultRole(
        "ib_manager",
        "IB manager",
        RoleScope.ALL,
        frozenset(
            {
                "clients.view",
                "partners.view",
                "partners.manage",
                "partners.request_move",
                "reports.view",
            }
        ),
    ),
)
