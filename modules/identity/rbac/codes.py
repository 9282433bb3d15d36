"""The permission codes: stable strings grouped by module, in one registry.

Codes are part of the API contract (roles store them, integrators' tokens will be limited to
them), so a code is never renamed; a module that stops using one leaves it here, unused.
Later modules' codes are listed now so the role × endpoint matrix and S9 can name them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Permission:
    code: str
    label: Promise

    @property
    def module(self) -> str:
        return self.code.split(".", 1)[0]


MODULE_LABELS: dict[str, Promise] = {
    "clients": _("Clients"),
    "kyc": _("KYC"),
    "payments": _("Payments"),
    "partners": _("Partners (IBs)"),
    "reports": _("Reports"),
    "audit": _("Audit"),
    "staff": _("Staff"),
    "roles": _("Roles"),
    "config": _("Configuration"),
}

PERMISSIONS: tuple[Permission, ...] = (
    Permission("clients.view", _("See clients and leads")),
    Permission("clients.edit", _("Edit clients, notes and lifecycle stage")),
    Permission("clients.view_emails", _("See the e-mails sent to clients")),
    Permission("clients.view_finance", _("See clients' balances, deposits and withdrawals")),
    Permission("kyc.view", _("See the KYC queue and documents")),
    Permission("kyc.review", _("Approve or reject KYC")),
    Permission("kyc.view_aml_notes", _("See AML notes and screening results")),
    Permission("payments.view", _("See deposits and withdrawals")),
    Permission("payments.approve_withdrawal", _("Approve or reject withdrawals")),
    Permission("payments.adjust", _("Make balance adjustments")),
    Permission("partners.view", _("See IBs and their hierarchy")),
    Permission("partners.manage", _("Manage IBs, commission plans and payouts")),
    Permission("reports.view", _("See reports and KPIs")),
    Permission("audit.view", _("See the audit log")),
    Permission("staff.manage", _("Invite staff, assign roles, deactivate staff")),
    Permission("roles.manage", _("Create and edit roles")),
    Permission("config.manage", _("Manage the broker's configuration")),
)

ALL_CODES: frozenset[str] = frozenset(p.code for p in PERMISSIONS)


def permissions_by_module() -> list[tuple[str, Promise, list[Permission]]]:
    """The registry grouped for forms and the API: (module, label, permissions) in order."""
    groups: dict[str, list[Permission]] = {}
    for permission in PERMISSIONS:
        groups.setdefault(permission.module, []).append(permission)
    return [(module, MODULE_LABELS[module], perms) for module, perms in groups.items()]


def unknown_codes(codes: list[str] | set[str] | tuple[str, ...]) -> list[str]:
    """Codes not in the registry, sorted (used to reject bad input with a field message)."""
    return sorted(set(codes) - ALL_CODES)
