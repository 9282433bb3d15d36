"""The KYC configuration is data: seeded defaults, per-entity copies, changes that take effect
for that entity's clients without a code change."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import UserKind
from brokerdesk.modules.kyc.cases import case_open, case_progress, client_may
from brokerdesk.modules.kyc.configuration import (
    configuration_copy_for_entity,
    configuration_defaults_ensure,
    document_kind_update,
    state_update,
)
from brokerdesk.modules.kyc.models import KycConfiguration, KycState, KycTransition
from brokerdesk.platform.provisioning import seeders
from brokerdesk.tenants.config import services as config_services
from support.rbac_actors import user_make


def test_the_seeded_default_has_the_five_states_and_their_transitions(kyc_defaults):
    states = list(kyc_defaults.states.values_list("key", "is_initial", "awaits_review"))
    transitions = sorted(
        (t.from_state.key, t.event, t.to_state.key)
        for t in KycTransition.objects.filter(configuration=kyc_defaults).select_related(
            "from_state", "to_state"
        )
    )

    assert states == [
        ("not_started", True, False),
        ("pending_review", False, True),
        ("resubmission_needed", False, False),
        ("approved", False, False),
        ("rejected", False, False),
    ]
    assert transitions == [
        ("approved", "expire", "resubmission_needed"),
        ("approved", "request_resubmission", "resubmission_needed"),
        ("not_started", "submit", "pending_review"),
        ("pending_review", "approve", "approved"),
        ("pending_review", "reject", "rejected"),
        ("pending_review", "request_resubmission", "resubmission_needed"),
        ("rejected", "reopen", "pending_review"),
        ("resubmission_needed", "submit", "pending_review"),
    ]
    kinds = kyc_defaults.document_kinds.values_list("key", "required_from_tier", "max_age_days")
    assert list(kinds) == [
        ("identity", 1, None),
        ("proof_of_address", 1, 90),
        ("source_of_funds", 2, None),
    ]


def test_the_defaults_seeder_is_registered_and_idempotent(kyc_defaults):
    assert "kyc.defaults" in [entry.name for entry in seeders.registered()]
    context = seeders.SeedContext(slug="x", name="X", owner_email="o@x.example", base_url="/")
    seeders._registry["kyc.defaults"].func(context)

    assert KycConfiguration.objects.filter(legal_entity__isnull=True).count() == 1
    assert configuration_defaults_ensure() == kyc_defaults


def test_pending_review_allows_a_demo_but_not_a_live_account_or_a_withdrawal(kyc_defaults):
    pending = kyc_defaults.states.get(key="pending_review")
    approved = kyc_defaults.states.get(key="approved")

    assert [pending.allows(a) for a in ("open_demo", "open_live", "withdraw")] == [
        True, False, False,
    ]  # fmt: skip
    assert [approved.allows(a) for a in ("open_demo", "open_live", "withdraw")] == [True] * 3


def _entity(name: str, countries: list[str]):
    return config_services.legal_entity_create(
        data={"name": name, "jurisdiction": countries[0], "allowed_countries": countries},
        actor="tests",
    )


def test_changing_an_entity_configuration_changes_what_its_clients_provide_and_may_do(
    kyc_defaults,
):
    # Given two entities: one keeps the default rules, one gets its own copy.
    strict = _entity("Strict Markets Ltd", ["DE"])
    _entity("Default Markets Ltd", ["FR"])
    own = configuration_copy_for_entity(legal_entity=strict, actor="tests")
    german = user_make("de@kyc.example", kind=UserKind.CLIENT)
    german.country = "DE"
    german.save()
    french = user_make("fr@kyc.example", kind=UserKind.CLIENT)
    french.country = "FR"
    french.save()

    # When the strict entity needs source of funds at tier 1 and forbids demos before review.
    document_kind_update(
        kind=own.document_kinds.get(key="source_of_funds"),
        changes={"required_from_tier": 1},
        actor="tests",
    )
    state_update(
        state=own.states.get(key="not_started"),
        changes={"allowed_actions": ["edit_profile", "upload_documents"]},
        actor="tests",
    )
    german_case = case_open(client=german, actor=german)
    french_case = case_open(client=french, actor=french)

    # Then only its clients must provide more and may do less.
    assert german_case.configuration == own
    assert french_case.configuration == kyc_defaults
    german_kinds = [r.kind.key for r in case_progress(german_case).requirements]
    french_kinds = [r.kind.key for r in case_progress(french_case).requirements]
    assert german_kinds == ["identity", "proof_of_address", "source_of_funds"]
    assert french_kinds == ["identity", "proof_of_address"]
    assert (client_may(german, "open_demo"), client_may(french, "open_demo")) == (False, True)
    assert case_progress(german_case).total == 4
    assert AuditEntry.objects.filter(action="kyc.document_kind.update").count() == 1
    assert AuditEntry.objects.filter(action="kyc.state.update").count() == 1


def test_an_entity_gets_its_own_configuration_once(kyc_defaults):
    entity = _entity("Once Markets Ltd", ["MT"])
    configuration_copy_for_entity(legal_entity=entity, actor="tests")

    with pytest.raises(ValidationError) as refused:
        configuration_copy_for_entity(legal_entity=entity, actor="tests")

    assert "legal_entity" in refused.value.message_dict
    assert KycConfiguration.objects.filter(legal_entity=entity).count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"allowed_actions": ["fly_to_the_moon"]}, "allowed_actions"),
        ({"allowed_actions": "open_demo"}, "allowed_actions"),
        ({"label": ""}, "label"),
        ({"is_initial": True}, "is_initial"),
    ],
)
def test_a_bad_state_change_is_refused_field_by_field_and_changes_nothing(
    kyc_defaults, changes, field
):
    state = kyc_defaults.states.get(key="pending_review")
    audit_before = AuditEntry.objects.count()

    with pytest.raises(ValidationError) as refused:
        state_update(state=state, changes=changes, actor="tests")

    assert list(refused.value.message_dict) == [field]
    assert KycState.objects.get(pk=state.pk).allowed_actions == ["open_demo"]
    assert AuditEntry.objects.count() == audit_before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"accepted_types": []}, "accepted_types"),
        ({"accepted_types": ["selfie"]}, "accepted_types"),
        ({"required_from_tier": 0}, "required_from_tier"),
        ({"required_from_tier": "two"}, "required_from_tier"),
        ({"max_age_days": -3}, "max_age_days"),
    ],
)
def test_a_bad_document_kind_change_is_refused(kyc_defaults, changes, field):
    kind = kyc_defaults.document_kinds.get(key="proof_of_address")

    with pytest.raises(ValidationError) as refused:
        document_kind_update(kind=kind, changes=changes, actor="tests")

    assert list(refused.value.message_dict) == [field]
    kind.refresh_from_db()
    assert (kind.required_from_tier, kind.max_age_days) == (1, 90)


@pytest.fixture
def admin_api(client, test_tenant, kyc_defaults):
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from support.rbac_actors import sign_in

    client.defaults["HTTP_HOST"] = test_tenant.get_primary_domain().domain
    roles = default_roles_ensure()
    return sign_in(client, user_make("admin@cfg.example", roles=[roles["super_admin"]]))


def test_the_api_copies_the_rules_for_an_entity_and_changes_them(admin_api, kyc_defaults):
    entity = _entity("Api Markets Ltd", ["PT"])

    created = admin_api.post("/api/v1/kyc/configurations/",
                             {"legal_entity": str(entity.public_id)},
                             content_type="application/json")  # fmt: skip
    own = created.json()["public_id"]
    changed = admin_api.patch(
        f"/api/v1/kyc/configurations/{own}/states/pending_review/",
        {"allowed_actions": ["open_demo", "deposit"]}, content_type="application/json",
    )  # fmt: skip
    kind = admin_api.patch(
        f"/api/v1/kyc/configurations/{own}/document-kinds/proof_of_address/",
        {"max_age_days": 180}, content_type="application/json",
    )  # fmt: skip
    listed = admin_api.get("/api/v1/kyc/configurations/").json()

    assert created.status_code == 201 and created.json()["legal_entity"] == str(entity.public_id)
    assert changed.status_code == 200
    assert changed.json()["allowed_actions"] == ["open_demo", "deposit"]
    assert kind.json()["max_age_days"] == 180
    assert [c["legal_entity"] for c in listed] == [str(entity.public_id), None]
    default_pending = kyc_defaults.states.get(key="pending_review")
    assert default_pending.allowed_actions == ["open_demo"]  # the default is untouched


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("states/pending_review/", {"allowed_actions": ["teleport"]}, 400, "allowed_actions"),
        ("states/pending_review/", ["not", "an", "object"], 400, "non_field_errors"),
        ("states/pending_review/", {"client_message": "Wait\x00ing"}, 400, "client_message"),
        ("document-kinds/identity/", {"help_text": "\x00"}, 400, "help_text"),
        ("document-kinds/identity/", {"accepted_types": []}, 400, "accepted_types"),
        ("states/no_such_state/", {"label": "x"}, 404, None),
    ],
)
def test_the_api_refuses_bad_changes_per_field(admin_api, kyc_defaults, path, body, status,
                                               field):  # fmt: skip
    audit_before = AuditEntry.objects.count()

    response = admin_api.patch(f"/api/v1/kyc/configurations/{kyc_defaults.public_id}/{path}",
                               body, content_type="application/json")  # fmt: skip

    assert response.status_code == status
    if field:
        assert field in response.json()
    assert AuditEntry.objects.count() == audit_before
    assert kyc_defaults.states.get(key="pending_review").allowed_actions == ["open_demo"]


def test_the_api_refuses_an_unknown_entity_and_a_malformed_configuration(admin_api):
    unknown = admin_api.post("/api/v1/kyc/configurations/",
                             {"legal_entity": "00000000-0000-0000-0000-000000000000"},
                             content_type="application/json")  # fmt: skip
    malformed = admin_api.patch("/api/v1/kyc/configurations/nope/states/approved/", {},
                                content_type="application/json")  # fmt: skip

    assert (unknown.status_code, malformed.status_code) == (400, 404)
    assert "legal_entity" in unknown.json()


def test_the_rules_pages_copy_the_default_for_an_entity_and_change_it(admin_api, kyc_defaults):
    http = admin_api
    entity = _entity("Page Markets Ltd", ["GR"])

    listing = http.get("/backoffice/kyc/rules/").content.decode()
    copied = http.post("/backoffice/kyc/rules/copy/", {"legal_entity": str(entity.public_id)})
    own = KycConfiguration.objects.get(legal_entity=entity)
    changed = http.post(f"/backoffice/kyc/rules/{own.public_id}/", {
        "row": "state:not_started", "label": "Not started", "allowed_actions": ["edit_profile"],
        "client_message": "Start by telling us who you are."})  # fmt: skip
    refused = http.post(f"/backoffice/kyc/rules/{own.public_id}/", {
        "row": "kind:identity", "required_from_tier": "1", "max_age_days": ""})  # fmt: skip

    assert "Page Markets Ltd" in listing and "Default (every other entity)" in listing
    assert copied.status_code == 302 and changed.status_code == 302
    assert own.states.get(key="not_started").allowed_actions == ["edit_profile"]
    assert refused.status_code == 400
    assert "Accept at least one document type." in refused.content.decode()
    assert own.document_kinds.get(key="identity").accepted_types == [
        "passport", "national_id", "driving_licence", "residence_permit",
    ]  # fmt: skip
    assert kyc_defaults.states.get(key="not_started").allowed_actions == [
        "edit_profile", "upload_documents", "open_demo",
    ]  # fmt: skip


def test_the_rules_pages_refuse_a_missing_entity_and_an_unknown_row(admin_api, kyc_defaults):
    missing = admin_api.post("/backoffice/kyc/rules/copy/", {"legal_entity": "nope"})
    unknown = admin_api.post(f"/backoffice/kyc/rules/{kyc_defaults.public_id}/",
                             {"row": "state:flying"})  # fmt: skip
    absent = admin_api.get("/backoffice/kyc/rules/00000000-0000-0000-0000-000000000000/")

    assert (missing.status_code, unknown.status_code, absent.status_code) == (400, 400, 404)
    assert "Choose a legal entity." in missing.content.decode()
    assert "Choose a state or a document kind" in unknown.content.decode()
