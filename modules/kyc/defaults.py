"""The KYC configuration every broker starts with (seeded at provisioning), as data.

Brokers change it per legal entity; nothing here is read by the workflow except through the
rows it creates.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop

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
        gettext_noop("Not started"),
        gettext_noop("Complete your profile and upload your documents to get verified."),
        (A.EDIT_PROFILE, A.UPLOAD_DOCUMENTS, A.OPEN_DEMO),
        is_initial=True,
    ),
    StateDefault(
        "pending_review",
        gettext_noop("Pending review"),
        gettext_noop("Your documents are under review. You can trade on a demo account meanwhile."),
        (A.OPEN_DEMO,),
        awaits_review=True,
    ),
    StateDefault(
        "resubmission_needed",
        gettext_noop("Resubmission needed"),
        gettext_noop("Some documents need to be uploaded again: the reason is shown next to each."),
        (A.EDIT_PROFILE, A.UPLOAD_DOCUMENTS, A.OPEN_DEMO),
    ),
    StateDefault(
        "approved",
        gettext_noop("Approved"),
        gettext_noop("Your account is verified."),
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
        gettext_noop("Rejected"),
        gettext_noop("Your verification was not approved. Please contact support."),
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
        gettext_noop("Proof of identity"),
        gettext_noop("A valid passport, identity card, driving licence or residence permit."),
        1,
        (T.PASSPORT, T.NATIONAL_ID, T.DRIVING_LICENCE, T.RESIDENCE_PERMIT),
        expires=True,
    ),
    KindDefault(
        "proof_of_address",
        gettext_noop("Proof of address"),
        gettext_noop(
            "A utility bill, bank or tax statement with your name and address, at most 3 months old."
        ),
        1,
        (T.UTILITY_BILL, T.BANK_STATEMENT, T.TAX_STATEMENT, T.GOVERNMENT_LETTER),
        max_age_days=90,
    ),
    KindDefault(
        "source_of_funds",
        gettext_noop("Source of funds"),
        gettext_noop(
            "A payslip, tax return or contract showing where the money you deposit comes from."
        ),
        2,
        (T.PAYSLIP, T.EMPLOYMENT_LETTER, T.TAX_RETURN, T.BANK_STATEMENT, T.SALE_CONTRACT),
    ),
)

# (number, label, cumulative deposit limit in minor units or None, currency)
TIERS: tuple[tuple[int, str, int | None, str], ...] = (
    (1, gettext_noop("Standard"), 5_000_000, "USD"),
    (2, gettext_noop("Enhanced"), None, "USD"),
)

DEFAULT_NAME = gettext_noop("Default KYC rules")
REVIEW_TIME_TEXT = gettext_noop(
    "Documents are usually reviewed within 30 minutes during business hours."
)


# Risk rules (kyc/risk.py): (signal, weight, threshold, flags). A case scoring below
# AUTO_APPROVE_BELOW with no flagging signal is approved by the rule; from SECOND_REVIEW_FROM
# an approval needs two different reviewers. Either device signal alone reaches the
# automatic-approval threshold: an unusual device or location goes to a reviewer.
RISK_RULES: tuple[tuple[str, int, int | None, bool], ...] = (
    ("document_validity", 100, None, True),
    ("screening", 100, 85, True),
    ("data_consistency", 60, 90, True),
    ("country", 50, None, True),
    ("new_device", 30, None, False),
    ("login_country", 30, None, False),
)
AUTO_APPROVE_BELOW = 30
SECOND_REVIEW_FROM = 50
# The FATF "call for action" jurisdictions (the black list): North Korea, Iran, Myanmar.
HIGH_RISK_COUNTRIES: tuple[str, ...] = ("IR", "KP", "MM")
