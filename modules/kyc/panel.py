"""The KYC panel of the client 360 (crm.three_sixty and the CRM API read it from here).

Staff without ``kyc.view`` for the client (scope by the CRM record's owner and desk, as
``selectors.case_scope`` says) get no panel at all; screening results only reach holders of
``kyc.view_aml_notes``. A fixed number of queries: the case, its documents and, for AML
readers, the latest screening with its hits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch
from django.urls import reverse

from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.kyc.models import KycCase, KycDocument, ScreeningHit, ScreeningResult

# The newest uploads the panel lists; the case page has all of them.
DOCUMENTS_SHOWN = 20
HITS_SHOWN = 10


@dataclass(frozen=True)
class KycPanel:
    case: KycCase | None
    url: str
    documents: list[KycDocument]
    # None: the actor may not see screening (or the client was never screened).
    sees_screening: bool
    screening: ScreeningResult | None
    hits: list[ScreeningHit]


def kyc_panel(record: Any, *, actor: Any) -> KycPanel | None:
    """The panel for ``record`` (a crm ClientRecord) as ``actor`` may see it; None: no panel."""
    if not permission_check(actor, "kyc.view", obj=record):
        return None
    case = KycCase.objects.filter(client_id=record.user_id).select_related("state").first()
    documents: list[KycDocument] = []
    url = ""
    if case is not None:
        url = reverse("backoffice:kyc-case", args=[case.public_id])
        documents = list(
            case.documents.select_related("kind").order_by("-uploaded_at", "-id")[:DOCUMENTS_SHOWN]
        )
    sees_screening = permission_check(actor, "kyc.view_aml_notes")
    screening = None
    if sees_screening:
        screening = (
            ScreeningResult.objects.filter(client_id=record.user_id)
            .prefetch_related(
                Prefetch("hits", queryset=ScreeningHit.objects.select_related("entry"))
            )
            .order_by("-screened_at", "-id")
            .first()
        )
    hits = list(screening.hits.all())[:HITS_SHOWN] if screening is not None else []
    return KycPanel(case, url, documents, sees_screening, screening, hits)


def kyc_panel_data(panel: KycPanel) -> dict[str, Any]:
    """The panel as the CRM API returns it (the screening key only for AML readers)."""
    case = panel.case
    data: dict[str, Any] = {"case": None}
    if case is not None:
        data["case"] = {
            "public_id": str(case.public_id),
            "state": case.state.key,
            "state_label": str(case.state.label),
            "tier": case.tier,
            "created_at": case.created_at,
            "submitted_at": case.submitted_at,
            "decided_at": case.decided_at,
            "url": panel.url,
            "documents": [
                {
                    "public_id": str(document.public_id),
                    "kind": document.kind.key,
                    "kind_label": str(document.kind.label),
                    "document_type": document.document_type,
                    "status": document.status,
                    "status_label": str(document.get_status_display()),
                    "uploaded_at": document.uploaded_at,
                    "reviewed_at": document.reviewed_at,
                    "expires_on": document.expires_on,
                    "feedback": document.feedback,
                }
                for document in panel.documents
            ],
        }
    if panel.sees_screening:
        screening = panel.screening
        data["screening"] = (
            None
            if screening is None
            else {
                "screened_at": screening.screened_at,
                "name": screening.name,
                "hit_count": screening.hit_count,
                "hits": [
                    {
                        "score": hit.score,
                        "entry": hit.entry.name,
                        "matched_name": hit.matched_name,
                        "date_of_birth": hit.date_of_birth,
                        "country": hit.country,
                    }
                    for hit in panel.hits
                ],
            }
        )
    return data
