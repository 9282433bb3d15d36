"""The KYC configuration every broker starts with (seeded at provisioning), as data.

Brokers change it per legal entity; nothing here is read by the workflow except through the
rows it creates.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop as N_

from brokerdesk.modules.kyc.models import CaseEvent, ClientAction, DocumentType

A = ClientAction


@dataclass(frozen=True)
class StateDefault:
    key: str
    label: str
    client_message: str
    allowed_actions: tuple[str, ...]
    is_initial: bool = False
    awaits_review: bool = False


STATES: tuple[StateDefault, ...] = (
    StateDefault(
        "not_started",
        N_("Not started"),
        N_("Complete your profile and upload your documents to get verified."),
        (A.EDIT_PROFILE, A.UPLOAD_DOCUMENTS, A.OPEN_DEMO),
        is_initial=True,
    ),
    StateDefault(
        "pending_review",
        N_("Pending review"),
        N_("Your documents are under review. You can trade on a demo account meanwhile."),
        (A.OPEN_DEMO,),
        awaits_review=True,
    ),
    StateDefault(
        "resubmission_needed",
        N_("Resubmission needed"),
        N_("Some documents need to be uploaded again: the reason is shown next to each."),
        (A.EDIT_PROFILE, A.UPLOAD_DOCUMENTS, A.OPEN_DEMO),
    ),
    StateDefault(
        "approved",
        N_("Approved"),
        N_("Your account is verified."),
        (
            A.UPLOAD_DOCUMENTS,
            A.OPEN_DEMO,
            A.OPEN_LIVE,
            A.DEPOSIT,
            A.WITHDRAW,
            A.TRANSFER,
            A.CHANGE_LEVERAGE,
        ),
    ),
    StateDefault(
        "rejected",
        N_("Rejected"),
        N_("Your verification was not approved. Please contact support."),
        (),
    ),
)

E = CaseEvent
# (from, event, to)
TRANSITIONS: tuple[tuple[str, str, str], ...] = (
    ("not_started", E.SUBMIT, "pending_review"),
    ("resubmission_needed", E.SUBMIT, "pending_review"),
    ("pending_review", E.APPROVE, "approved"),
    ("pending_review", E.REJECT, "rejected"),
    ("pending_review", E.REQUEST_RESUBMISSION, "resubmission_needed"),
    ("approved", E.REQUEST_RESUBMISSION, "resubmission_needed"),
    ("approved", E.EXPIRE, "resubmission_needed"),
    ("rejected", E.REOPEN, "pending_review"),
)


@dataclass(frozen=True)
class KindDefault:
    key: str
    label: str
    help_text: str
    required_from_tier: int
    accepted_types: tuple[str, ...]
    max_age_days: int | None = None
    expires: bool = False


T = DocumentType
DOCUMENT_KINDS: tuple[KindDefault, ...] = (
    KindDefault(
        "identity",
        N_("Proof of identity"),
        N_("A valid passport, identity card, driving licence or residence permit."),
        1,
        (T.PASSPORT, T.NATIONAL_ID, T.DRIVING_LICENCE, T.RESIDENCE_PERMIT),
        expires=True,
    ),
    KindDefault(
        "proof_of_address",
        N_("Proof of address"),
        N_(
            "A utility bill, bank or tax statement with your name and address, at most 3 months old."
        ),
        1,
        (T.UTILITY_BILL, T.BANK_STATEMENT, T.TAX_STATEMENT, T.GOVERNMENT_LETTER),
        max_age_days=90,
    ),
    KindDefault(
        "source_of_funds",
        N_("Source of funds"),
        N_("A payslip, tax return or contract showing where the money you deposit comes from."),
        2,
        (T.PAYSLIP, T.EMPLOYMENT_LETTER, T.TAX_RETURN, T.BANK_STATEMENT, T.SALE_CONTRACT),
    ),
)

# (number, label, cumulative deposit limit in minor units or None, currency)
TIERS: tuple[tuple[int, str, int | None, str], ...] = (
    (1, N_("Standard"), 5_000_000, "USD"),
    (2, N_("Enhanced"), None, "USD"),
)

DEFAULT_NAME = N_("Default KYC rules")
REVIEW_TIME_TEXT = N_("Documents are usually reviewed within 30 minutes during business hours.")
