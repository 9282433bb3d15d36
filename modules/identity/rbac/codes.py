"""The permission codes: stable strings grouped by module, in one registry.

Codes are part of the API contract (roles store them, integrators' tokens will be limited to
them), so a code is never renamed; a module that stops using one leaves it here, unused.
Later modules' codes are listed now so the role × endpoint matrix and S9 can name them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    code: str
    label: str

    @property
    def module(self) -> str:
        return self.code.split(".", 1)[0]


MODULE_LABELS: dict[str, str] = {
    "clients": "Clients",
    "kyc": "KYC",
    "payments": "Payments",
    "partners": "Partners (IBs)",
    "reports": "Reports",
    "audit": "Audit",
    "staff": "Staff",
    "roles": "Roles",
    "config": "Configuration",
    "tokens": "API tokens",
    "trading": "Trading accounts",
}

PERMISSIONS: tuple[Permission, ...] = (
    Permission("clients.view", "See clients and leads"),
    Permission("clients.edit", "Edit clients, notes and lifecycle stage"),
    Permission("clients.view_emails", "See the e-mails sent to clients"),
    Permission("clients.view_finance", "See clients' balances, deposits and withdrawals"),
    Permission("kyc.view", "See the KYC queue and documents"),
    Permission("kyc.review", "Approve or reject KYC"),
    Permission("kyc.view_aml_notes", "See AML notes and screening results"),
    Permission("payments.view", "See deposits and withdrawals"),
    Permission("payments.approve_withdrawal", "Approve or reject withdrawals"),
    Permission("payments.adjust", "Make balance adjustments"),
    Permission("partners.view", "See IBs and their hierarchy"),
    Permission("partners.manage", "Manage IBs, commission plans and payouts"),
    Permission("reports.view", "See reports and KPIs"),
    Permission("audit.view", "See the audit log"),
    Permission("staff.manage", "Invite staff, assign roles, deactivate staff"),
    Permission("roles.manage", "Create and edit roles"),
    Permission("config.manage", "Manage the broker's configuration"),
    Permission("tokens.manage", "Create, list and revoke API tokens for integrators"),
    # CRM (issue 5).
    Permission("clients.assign", "Reassign clients and leads to another owner or desk"),
    Permission("clients.merge", "Merge or dismiss duplicate clients"),
    # Issue 7 (ledger): Support reads adjustments and their reasons without seeing balances.
    Permission("payments.view_adjustments", "See manual adjustments and their reasons"),
    # CRM lead import (issue 5): not Sales; owners and desks in the file need clients.assign.
    Permission("clients.import", "Import leads from CSV files"),
    # Trading accounts (issue 8): balances and sync state; block, archive, the exceptions queue.
    Permission("trading.view", "See clients' trading accounts and the exceptions queue"),
    Permission("trading.manage", "Block, unblock and archive trading accounts; work requests"),
    # Payments (issue 9): credit or reject a deposit the PSP reported differently than asked.
    Permission("payments.review_deposits", "Credit or reject deposits under review"),
    # IBs (issue 10): Sales asks to move its clients to another IB; Finance approves and pays
    # the statements IB managers close (four eyes) and exports them.
    Permission("partners.request_move", "Request moving a client to another IB"),
    Permission("partners.pay", "See, approve and pay IB statements; export them"),
)

ALL_CODES: frozenset[str] = frozenset(p.code for p in PERMISSIONS)


def permissions_by_module() -> list[tuple[str, str, list[Permission]]]:
    """The registry grouped for forms and the API: (module, label, permissions) in order."""
    groups: dict[str, list[Permission]] = {}
    for permission in PERMISSIONS:
        groups.setdefault(permission.module, []).append(permission)
    return [(module, MODULE_LABELS[module], perms) for module, perms in groups.items()]


def unknown_codes(codes: list[str] | set[str] | tuple[str, ...]) -> list[str]:
    """Codes not in the registry, sorted (used to reject bad input with a field message)."""
    return sorted(set(codes) - ALL_CODES)
