"""KYC objects for the role matrix and the isolation walker: a client's case with a document
and a screening result, in the current tenant schema (no file is stored: no route reads it
back on a GET, and minting a signed link does not need the object)."""

from __future__ import annotations

import datetime as dt

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.kyc.cases import case_open
from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
from brokerdesk.modules.kyc.models import (
    KycDocument,
    KycProvider,
    RiskAssessment,
    SanctionsEntry,
    SanctionsList,
    ScreeningHit,
    ScreeningResult,
)


def kyc_canary(slug: str, marker: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Create (once) a client with a case, a document and a screening hit; returns the
    strings that must not leak and the route arguments."""
    configuration = configuration_defaults_ensure()
    client, _ = User.objects.get_or_create(
        email=f"kyc-client@{slug}.example",
        defaults={"full_name": f"{marker} KYC Client", "kind": UserKind.CLIENT},
    )
    case = case_open(client=client, actor="tests")
    document = KycDocument.objects.filter(case=case).first() or KycDocument.objects.create(
        case=case,
        kind=case.configuration.document_kinds.get(key="identity"),
        document_type="passport",
        file_key=f"kyc/{case.public_id}/canary.pdf",
        content_type="application/pdf",
        size_bytes=10,
        sha256="0" * 64,
        original_name=f"{marker}-passport.pdf",
        expires_on=dt.date(2040, 1, 1),
        feedback=f"{marker} feedback",
    )
    if not ScreeningResult.objects.filter(client=client).exists():
        listed = SanctionsList.objects.create(
            source="ofac_sdn", file_hashes={"sdn.csv": "0" * 64}, loaded_by="tests",
            entry_count=1,
        )  # fmt: skip
        entry = SanctionsEntry.objects.create(
            sanctions_list=listed, source_id="1", name=f"{marker} LISTED, Person",
            entry_type="individual", remarks=f"{marker} remarks",
        )  # fmt: skip
        result = ScreeningResult.objects.create(
            client=client, sanctions_list=listed, screened_by="tests", name=client.full_name,
            threshold=85, hit_count=1,
        )  # fmt: skip
        ScreeningHit.objects.create(
            result=result, entry=entry, score=90, name_score=90, matched_name=entry.name,
            date_of_birth="unknown", country="unknown",
        )  # fmt: skip
    if not RiskAssessment.objects.filter(case=case).exists():
        # Reasons name the screening hit: they must not leak either.
        RiskAssessment.objects.create(
            case=case, case_version=case.state_changed_at, score=100, flagged=True,
            outcome="review", assessed_by="tests",
            reasons=[{"code": "screening_hit", "signal": "screening", "points": 100,
                      "flags": True, "params": {"count": 1, "score": 90, "entry": "1",
                                                "name": f"{marker} LISTED, Person"}}],
        )  # fmt: skip
    # A provider account (no configuration uses it, no secret set: its callbacks get 401).
    provider, _ = KycProvider.objects.get_or_create(
        name="Canary verifier",
        defaults={"kind": "sumsub", "base_url": "http://127.0.0.1:9", "level_name": "basic"},
    )
    ids = {
        "kyc_provider": {"public_id": str(provider.public_id)},
        "kyc_case": {"public_id": str(case.public_id)},
        "kyc_risk_rule": {"public_id": str(configuration.public_id), "signal": "screening"},
        "kyc_document": {"public_id": str(document.public_id)},
        "kyc_token": {"token": "not-a-valid-token"},
        "kyc_state": {"public_id": str(configuration.public_id), "key": "pending_review"},
        "kyc_kind": {"public_id": str(configuration.public_id), "key": "identity"},
        "kyc_configuration": {"public_id": str(configuration.public_id)},
    }
    secrets = [f"{marker} KYC Client", f"{marker}-passport.pdf", f"{marker} feedback",
               f"{marker} LISTED", str(case.public_id), str(document.public_id)]  # fmt: skip
    return secrets, ids


KYC_ROUTES = {
    "backoffice:kyc-case": "kyc_case",
    "backoffice:kyc-case-decide": "kyc_case",
    "backoffice:kyc-case-assign": "kyc_case",
    "backoffice:kyc-document-view": "kyc_document",
    "backoffice:kyc-document-review": "kyc_document",
    "backoffice:kyc-document-expiry": "kyc_document",
    "backoffice:kyc-document-file": "kyc_token",
    "kyc-api:case": "kyc_case",
    "kyc-api:case-decision": "kyc_case",
    "kyc-api:case-assign": "kyc_case",
    "kyc-api:case-screening": "kyc_case",
    "kyc-api:document-link": "kyc_document",
    "kyc-api:document-review": "kyc_document",
    "kyc-api:configuration-state": "kyc_state",
    "kyc-api:configuration-kind": "kyc_kind",
    "backoffice:kyc-rules-edit": "kyc_configuration",
    "kyc-api:case-risk": "kyc_case",
    "kyc-api:configuration-risk": "kyc_configuration",
    "kyc-api:configuration-risk-rule": "kyc_risk_rule",
    "kyc-api:provider-callback": "kyc_provider",
    "kyc-api:document-expiry": "kyc_document",
    "backoffice:kyc-provider": "kyc_provider",
}


def kyc_providers() -> dict[str, object]:
    """Walker argument providers: this canary's own case and document."""

    def provider(kind: str):
        return lambda canary: canary.route_args[kind]

    return {name: provider(kind) for name, kind in KYC_ROUTES.items()}
