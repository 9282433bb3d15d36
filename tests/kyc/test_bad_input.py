"""Whatever a user sends to the KYC API is answered with field messages or a 404, never a
500, and changes nothing."""

from __future__ import annotations

import pytest

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.kyc.cases import case_open
from brokerdesk.modules.kyc.models import KycCase, KycDocument, KycState
from support.kyc_canary import kyc_canary
from support.rbac_actors import sign_in, user_make

ODD = [None, 5, True, [], {}, "x" * 5000, ["approve"], {"event": "approve"}]


@pytest.fixture
def setup(client, test_tenant, kyc_defaults):
    client.defaults["HTTP_HOST"] = test_tenant.get_primary_domain().domain
    roles = default_roles_ensure()
    sign_in(client, user_make("admin@bad.example", roles=[roles["super_admin"]]))
    _, ids = kyc_canary("test", "BAD")
    return client, ids


def _snapshot():
    return (
        sorted(KycCase.objects.values_list("pk", "state_id", "assigned_to")),
        sorted(KycDocument.objects.values_list("pk", "status", "feedback")),
        sorted(KycState.objects.values_list("pk", "label", "allowed_actions")),
        AuditEntry.objects.count(),
    )


def _targets(ids):
    case, document, state, kind = (ids["kyc_case"], ids["kyc_document"], ids["kyc_state"],
                                   ids["kyc_kind"])  # fmt: skip
    return [
        ("post", f"/api/v1/kyc/cases/{case['public_id']}/decision/", ("event", "reason", "reason_code")),
        ("post", f"/api/v1/kyc/documents/{document['public_id']}/review/", ("status", "feedback")),
        ("patch", f"/api/v1/kyc/configurations/{state['public_id']}/states/{state['key']}/",
         ("label", "client_message", "allowed_actions")),
        ("patch", f"/api/v1/kyc/configurations/{kind['public_id']}/document-kinds/{kind['key']}/",
         ("label", "required_from_tier", "accepted_types", "max_age_days", "expires")),
        ("post", "/api/v1/kyc/configurations/", ("legal_entity",)),
    ]  # fmt: skip


def test_odd_values_in_every_field_get_an_answer_never_a_500(setup):
    """Some odd values are valid (an empty list of actions, no maximum age): those save
    (200); the rest get 400 with messages. Cases and documents never change here."""
    client, ids = setup
    before = _snapshot()
    answers = set()
    for method, url, fields in _targets(ids):
        for field in fields:
            for value in ODD:
                response = getattr(client, method)(url, {field: value},
                                                   content_type="application/json")  # fmt: skip
                answers.add(response.status_code)
                assert response.status_code < 500, (url, field, value)
                if response.status_code == 400:
                    assert response.json(), (url, field, value)
        for body in ("not json", "[1, 2]", "null", '"text"'):
            response = getattr(client, method)(url, body, content_type="application/json")
            assert response.status_code == 400, (url, body)
    assert answers == {200, 400}
    assert _snapshot()[:2] == before[:2]


def test_malformed_and_foreign_ids_are_404(setup):
    client, _ = setup
    for path in ("/api/v1/kyc/cases/{}/", "/api/v1/kyc/cases/{}/screening/",
                 "/backoffice/kyc/cases/{}/"):  # fmt: skip
        for public_id in ("nope", "00000000-0000-0000-0000-000000000000", "1' OR '1'='1"):
            assert client.get(path.format(public_id)).status_code == 404, path


def test_an_upload_to_another_clients_case_is_impossible_by_construction(setup, trader):
    """The portal takes no case id: an upload always goes to the signed-in client's own case."""
    client, ids = setup
    other = case_open(client=trader, actor=trader)
    client.force_login(trader)

    response = client.post(
        "/documents/upload/", {"kind": "identity", "case": ids["kyc_case"]["public_id"]}
    )

    assert response.status_code == 400
    assert KycDocument.objects.filter(case=other).count() == 0
    assert (
        KycDocument.objects.exclude(case=other)
        .filter(case__public_id=ids["kyc_case"]["public_id"])
        .count()
        == 1
    )  # only the canary's own document
