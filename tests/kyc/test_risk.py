"""The risk score and the automatic decision: every signal fires on its own data, rules are
data (changing them changes the outcome), a clean case is approved by the rule with its
documents, anything flagged stays in the queue with its reasons, Compliance alone reads them.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from support_kyc import OFAC, in_years, profile_fill, recent

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.identity.security_models import Device, LoginEvent
from brokerdesk.modules.kyc.cases import case_open, case_submit_if_complete
from brokerdesk.modules.kyc.decisions import RULE_ACTOR, case_assess_and_decide
from brokerdesk.modules.kyc.models import (
    KycCase,
    KycCaseChange,
    KycDocument,
    RiskAssessment,
    RiskPolicy,
    RiskRule,
)
from brokerdesk.modules.kyc.risk import (
    reason_text,
    risk_evaluate,
    risk_policy_update,
    risk_rule_update,
    risk_rules_ensure,
)
from brokerdesk.modules.kyc.sanctions import ofac_files_read, sanctions_list_load
from support.rbac_actors import sign_in, user_make

BORN = dt.date(1985, 3, 14)


@pytest.fixture
def loaded(db):
    return sanctions_list_load(files=ofac_files_read(OFAC), actor="tests")


def documents_add(case, *, printed_name="Jane Trader", printed_dob=BORN, expires=None,
                  issued=None, number="P1234567"):  # fmt: skip
    kinds = {k.key: k for k in case.configuration.document_kinds.all()}
    KycDocument.objects.create(
        case=case, kind=kinds["identity"], document_type="passport",
        file_key=f"kyc/{case.public_id}/a.jpg", content_type="image/jpeg", size_bytes=10,
        sha256="a" * 64, expires_on=expires or in_years(3), printed_name=printed_name,
        printed_date_of_birth=printed_dob, document_number=number,
    )  # fmt: skip
    KycDocument.objects.create(
        case=case, kind=kinds["proof_of_address"], document_type="utility_bill",
        file_key=f"kyc/{case.public_id}/b.pdf", content_type="application/pdf", size_bytes=10,
        sha256="b" * 64, issued_on=issued or recent(10),
    )  # fmt: skip


def submitted(trader, *, profile=None, **documents):
    """The trader's case with a profile and both documents in, submitted (and screened)."""
    profile_fill(trader, **(profile or {}))
    case = case_open(client=trader, actor=trader)
    documents_add(case, **documents)
    assert case_submit_if_complete(case=case, actor=trader)
    return KycCase.objects.select_related("state", "configuration", "client").get(pk=case.pk)


def codes(case) -> list[str]:
    return [r["code"] for r in risk_evaluate(case).reasons]


def test_a_clean_case_scores_zero_with_no_reason(loaded, trader):
    case = submitted(trader)

    evaluation = risk_evaluate(case)

    assert (evaluation.score, evaluation.flagged, evaluation.reasons) == (0, False, [])


def _device(trader, *, location="", new=False):
    now = timezone.now()
    if new:
        Device.objects.create(user=trader, key_hash="0" * 64, label="Old", first_seen_at=now)
    device = Device.objects.create(user=trader, key_hash="1" * 64, label="Chrome on Linux",
                                   first_seen_at=now, flagged_new=new)  # fmt: skip
    LoginEvent.objects.create(user=trader, device=device, face="portal", location=location,
                              new_device=new)  # fmt: skip


SIGNALS = [
    # (what is different, reason codes, score, flagged)
    ("listed", ["screening_hit"], 100, True),
    ("name", ["name_mismatch"], 60, True),
    ("dob", ["dob_mismatch"], 60, True),
    ("no_identity_data", ["identity_data_missing"], 0, True),
    ("expired", ["document_expired"], 100, True),
    ("old_address", ["document_too_old"], 100, True),
    ("refused", ["document_refused"], 100, True),
    ("country", ["high_risk_country"], 50, True),
    ("new_device", ["new_device"], 30, False),
    ("login_country", ["login_country_mismatch"], 30, False),
    ("local_login", [], 0, False),
]


@pytest.mark.parametrize(("variant", "expected", "score", "flagged"), SIGNALS)
def test_each_signal_fires_on_its_own(loaded, trader, variant, expected, score, flagged):
    profile, documents = {}, {}
    if variant == "listed":
        profile = {"first_name": "Dmitri", "last_name": "Khoroshev",
                   "date_of_birth": dt.date(1993, 4, 17), "nationality": "RU", "country": "RU"}  # fmt: skip
        documents = {"printed_name": "Dmitri Khoroshev", "printed_dob": dt.date(1993, 4, 17)}
    elif variant == "name":
        documents = {"printed_name": "Maria Gonzalez"}
    elif variant == "dob":
        documents = {"printed_dob": dt.date(1985, 3, 15)}
    elif variant == "no_identity_data":
        documents = {"printed_name": "", "printed_dob": None}
    elif variant == "country":
        profile = {"nationality": "IR"}
    case = submitted(trader, profile=profile, **documents)
    if variant == "expired":
        KycDocument.objects.filter(case=case, kind__key="identity").update(
            expires_on=timezone.localdate()
        )
    elif variant == "old_address":
        KycDocument.objects.filter(case=case, kind__key="proof_of_address").update(
            issued_on=timezone.localdate() - dt.timedelta(days=91)
        )
    elif variant == "refused":
        KycDocument.objects.filter(case=case, kind__key="identity").update(status="rejected")
    elif variant == "new_device":
        _device(trader, new=True)
    elif variant == "login_country":
        _device(trader, location="NG")
    elif variant == "local_login":
        _device(trader, location="local")

    evaluation = risk_evaluate(case)

    assert [r["code"] for r in evaluation.reasons] == expected
    assert (evaluation.score, evaluation.flagged) == (score, flagged)
    assert all(reason_text(r) and reason_text(r) != r["code"] for r in evaluation.reasons)


def test_word_order_and_accents_of_the_printed_name_do_not_count_as_a_mismatch(loaded, trader):
    case = submitted(trader, profile={"first_name": "José", "last_name": "Álvarez Núñez"},
                     printed_name="ALVAREZ NUNEZ, Jose")  # fmt: skip

    assert codes(case) == []


def test_without_a_sanctions_list_the_case_goes_to_a_reviewer(db, trader):
    case = submitted(trader)

    evaluation = risk_evaluate(case)

    assert ([r["code"] for r in evaluation.reasons], evaluation.score) == (["screening_missing"], 0)
    assert evaluation.flagged


def test_a_clean_case_is_approved_by_the_rule_with_its_documents(loaded, trader):
    case = submitted(trader)

    assessment = case_assess_and_decide(case.pk)

    case.refresh_from_db()
    assert case.state.key == "approved" and assessment.outcome == "approved"
    change = KycCaseChange.objects.filter(case=case).latest("id")
    assert (change.changed_by, change.event, change.reason_code) == (
        RULE_ACTOR,
        "approve",
        "auto_approved",
    )
    assert "Risk score 0 below 30" in change.reason
    assert set(KycDocument.objects.filter(case=case).values_list("status", "reviewed_by")) == {
        ("approved", RULE_ACTOR)
    }
    actions = list(AuditEntry.objects.filter(actor_label=RULE_ACTOR, action__startswith="kyc.")
                   .order_by("sequence").values_list("action", flat=True))  # fmt: skip
    assert actions == ["kyc.risk.assess", "kyc.document.review", "kyc.document.review",
                       "kyc.case.approve"]  # fmt: skip
    # A redelivered task finds the case decided and changes nothing.
    assert case_assess_and_decide(case.pk) is None
    assert RiskAssessment.objects.filter(case=case).count() == 1


def test_a_flagged_case_stays_in_the_queue_with_its_reasons(loaded, trader):
    case = submitted(trader, printed_dob=dt.date(1990, 1, 1))

    assessment = case_assess_and_decide(case.pk)
    again = case_assess_and_decide(case.pk)

    case.refresh_from_db()
    assert case.state.key == "pending_review"
    assert (assessment.outcome, assessment.score, assessment.flagged) == ("review", 60, True)
    assert [r["code"] for r in assessment.reasons] == ["dob_mismatch"]
    assert again.pk == assessment.pk  # scored once per submission
    assert set(KycDocument.objects.filter(case=case).values_list("status", flat=True)) == {
        "submitted"
    }


def test_changing_the_rules_changes_the_decision_without_code(loaded, trader):
    case = submitted(trader)
    _device(trader, new=True)
    policy = risk_rules_ensure(case.configuration)
    assert risk_evaluate(case).score == 30  # a new device alone reaches the threshold

    rule = RiskRule.objects.get(configuration=case.configuration, signal="new_device")
    risk_rule_update(rule=rule, changes={"weight": 10}, actor="tests")
    risk_policy_update(configuration=case.configuration, changes={"high_risk_countries": ["CY"]},
                       actor="tests")  # fmt: skip
    # Residence and nationality both: two reasons, the rule's points once.
    assert [r["code"] for r in risk_evaluate(case).reasons] == [
        "high_risk_country", "high_risk_country", "new_device"]  # fmt: skip
    assert risk_evaluate(case).score == 50 + 10
    risk_policy_update(configuration=case.configuration, changes={"high_risk_countries": []},
                       actor="tests")  # fmt: skip

    assessment = case_assess_and_decide(case.pk)

    assert (assessment.score, assessment.outcome) == (10, "approved")
    assert policy.auto_approve_below == 30
    assert AuditEntry.objects.filter(action="kyc.risk_rule.update").count() == 1
    assert AuditEntry.objects.filter(action="kyc.risk_policy.update").count() == 2


def test_automatic_approval_can_be_switched_off(loaded, trader):
    case = submitted(trader)
    risk_policy_update(configuration=case.configuration,
                       changes={"auto_approve_enabled": False}, actor="tests")  # fmt: skip

    assessment = case_assess_and_decide(case.pk)

    assert (assessment.score, assessment.outcome) == (0, "review")
    assert KycCase.objects.get(pk=case.pk).state.key == "pending_review"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"auto_approve_below": 101}, "auto_approve_below"),
        ({"auto_approve_below": "ten"}, "auto_approve_below"),
        ({"auto_approve_below": True}, "auto_approve_below"),
        ({"auto_approve_below": 80, "second_review_from": 60}, "auto_approve_below"),
        ({"high_risk_countries": ["XX"]}, "high_risk_countries"),
        ({"high_risk_countries": "IR, ZZZ"}, "high_risk_countries"),
        ({"high_risk_countries": 5}, "high_risk_countries"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_policy_values_are_refused_and_change_nothing(kyc_defaults, changes, field):
    from django.core.exceptions import ValidationError

    policy = risk_rules_ensure(kyc_defaults)
    before = RiskPolicy.objects.filter(pk=policy.pk).values().get()

    with pytest.raises(ValidationError) as refused:
        risk_policy_update(configuration=kyc_defaults, changes=changes, actor="tests")

    assert field in refused.value.message_dict
    assert RiskPolicy.objects.filter(pk=policy.pk).values().get() == before


def test_an_entity_copy_takes_the_risk_rules_with_it(kyc_defaults):
    from brokerdesk.modules.kyc.configuration import configuration_copy_for_entity
    from brokerdesk.tenants.config.models import LegalEntity

    risk_policy_update(configuration=kyc_defaults, changes={"auto_approve_below": 20},
                       actor="tests")  # fmt: skip
    entity = LegalEntity.objects.create(name="Risk Entity Ltd", allowed_countries=["CY"])
    own = configuration_copy_for_entity(legal_entity=entity, actor="tests")

    assert own.risk_policy.auto_approve_below == 20
    assert sorted(own.risk_rules.values_list("signal", flat=True)) == sorted(
        kyc_defaults.risk_rules.values_list("signal", flat=True)
    )


# --- Pages and API: reasons for Compliance only -------------------------------------------------


def _http(test_tenant, user) -> Client:
    return sign_in(Client(HTTP_HOST=test_tenant.get_primary_domain().domain), user)


@pytest.fixture
def flagged_listed(loaded, trader):
    case = submitted(
        trader,
        profile={"first_name": "Dmitri", "last_name": "Khoroshev",
                 "date_of_birth": dt.date(1993, 4, 17), "nationality": "RU", "country": "RU"},
        printed_name="Dmitri Khoroshev", printed_dob=dt.date(1993, 4, 17),
    )  # fmt: skip
    case_assess_and_decide(case.pk)
    return case


@pytest.mark.parametrize(("role", "sees"), [("compliance", True), ("super_admin", True),
                                            ("support", False)])  # fmt: skip
def test_queue_case_page_and_api_show_reasons_to_compliance_only(
    flagged_listed, test_tenant, role, sees
):
    roles = default_roles_ensure()
    http = _http(test_tenant, user_make(f"{role}@risk.example", roles=[roles[role]]))
    case = flagged_listed

    queue = http.get("/backoffice/kyc/").content.decode()
    page = http.get(f"/backoffice/kyc/cases/{case.public_id}/").content.decode()
    detail = http.get(f"/api/v1/kyc/cases/{case.public_id}/").json()
    risk = http.get(f"/api/v1/kyc/cases/{case.public_id}/risk/")

    for body in (queue, page):
        assert ('data-reason="screening_hit"' in body) is sees
        assert ("KHOROSHEV, Dmitry Yuryevich" in body) is sees
    assert ("risk" in detail) is sees
    if sees:
        assert detail["risk"]["score"] == 100
        assert [r["code"] for r in risk.json()["reasons"]] == ["screening_hit"]
        assert "KHOROSHEV" in risk.json()["reasons"][0]["text"]
    else:
        assert risk.status_code == 403


def test_the_trader_reads_only_that_the_case_is_under_review(flagged_listed, test_tenant):
    http = _http(test_tenant, flagged_listed.client)

    page = http.get("/documents/").content.decode()

    assert "Pending review" in page
    assert "KHOROSHEV" not in page and "screening" not in page.lower() and "48603" not in page


def test_the_configuration_api_and_rules_page_change_the_risk_rules(kyc_defaults, test_tenant):
    roles = default_roles_ensure()
    http = _http(test_tenant, user_make("boss@risk.example", roles=[roles["super_admin"]]))
    base = f"/api/v1/kyc/configurations/{kyc_defaults.public_id}"

    listed = http.get("/api/v1/kyc/configurations/").json()
    changed = http.patch(f"{base}/risk/", {"second_review_from": 70, "high_risk_countries":
                         ["kp", "IR"]}, content_type="application/json")  # fmt: skip
    rule = http.patch(f"{base}/risk-rules/new_device/", {"weight": 5, "flags": True},
                      content_type="application/json")  # fmt: skip
    bad = http.patch(f"{base}/risk-rules/new_device/", {"weight": -1, "flags": "yes"},
                     content_type="application/json")  # fmt: skip
    unknown = http.patch(f"{base}/risk-rules/horoscope/", {"weight": 1},
                         content_type="application/json")  # fmt: skip
    page_bad = http.post(f"/backoffice/kyc/rules/{kyc_defaults.public_id}/",
                         {"row": "risk:policy", "auto_approve_below": "90",
                          "second_review_from": "70", "high_risk_countries": "IR"})  # fmt: skip
    page_ok = http.post(f"/backoffice/kyc/rules/{kyc_defaults.public_id}/",
                        {"row": "rule:screening", "enabled": "on", "flags": "on", "weight": "90",
                         "threshold": "88"})  # fmt: skip
    page = http.get(f"/backoffice/kyc/rules/{kyc_defaults.public_id}/").content.decode()

    default = next(c for c in listed if c["legal_entity"] is None)
    assert default["risk"]["auto_approve_below"] == 30
    assert len(default["risk"]["rules"]) == 6
    assert changed.status_code == 200 and changed.json()["high_risk_countries"] == ["IR", "KP"]
    assert rule.status_code == 200 and rule.json()["weight"] == 5 and rule.json()["flags"]
    assert bad.status_code == 400 and set(bad.json()) == {"weight", "flags"}
    assert unknown.status_code == 404
    assert page_bad.status_code == 400 and "cannot be above" in page_bad.content.decode()
    assert page_ok.status_code == 302
    screening = RiskRule.objects.get(configuration=kyc_defaults, signal="screening")
    assert (screening.weight, screening.threshold) == (90, 88)
    policy = RiskPolicy.objects.get(configuration=kyc_defaults)
    assert (policy.auto_approve_below, policy.second_review_from) == (30, 70)
    assert 'data-testid="rule-screening"' in page


# --- The sweep: submissions whose task never ran ---------------------------------------------


def _age(case, seconds: int) -> KycCase:
    then = case.state_changed_at - dt.timedelta(seconds=seconds)
    KycCase.objects.filter(pk=case.pk).update(state_changed_at=then, submitted_at=then)
    KycCaseChange.objects.filter(case=case, event="submit").update(changed_at=then)
    return KycCase.objects.select_related("state", "configuration", "client").get(pk=case.pk)


def test_the_sweep_decides_submissions_whose_task_never_ran(loaded, trader):
    from django.conf import settings

    from brokerdesk.modules.kyc.decisions import cases_unscored_assess
    from brokerdesk.modules.kyc.tasks import SWEEP_TASK

    case = submitted(trader)
    assert cases_unscored_assess() == 0  # just submitted: its own task has the first go
    _age(case, 60)

    assert cases_unscored_assess() == 1
    assert KycCase.objects.get(pk=case.pk).state.key == "approved"
    assert cases_unscored_assess() == 0
    assert settings.CELERY_BEAT_SCHEDULE["kyc-unscored"]["args"] == (SWEEP_TASK,)


def test_a_case_a_reviewer_reopened_is_never_approved_by_the_rule(loaded, trader):
    from brokerdesk.modules.kyc.cases import case_transition
    from brokerdesk.modules.kyc.decisions import cases_unscored_assess

    case = submitted(trader)
    case = case_transition(case=case, event="reject", actor="co@x.example", reason="fraud")
    case = _age(case_transition(case=case, event="reopen", actor="co@x.example"), 60)

    assert case_assess_and_decide(case.pk) is None
    assert cases_unscored_assess() == 0
    assert KycCase.objects.get(pk=case.pk).state.key == "pending_review"


# --- The identity data typed at upload ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fields", "field"),
    [
        ("identity", {"printed_date_of_birth": "2999-01-01"}, "date of birth"),
        ("identity", {"printed_date_of_birth": "1800-01-01"}, "date of birth"),
        ("identity", {"document_number": "<script>"}, "letters and digits"),
        ("identity", {"document_number": "9" * 41}, "at most 40"),
        ("identity", {"printed_name": "x" * 201}, "200 characters"),
        ("identity", {"printed_name": "Jane\x00Trader"}, "as printed"),
        ("proof_of_address", {"printed_name": "Jane Trader"}, "Only identity documents"),
    ],
)
def test_bad_identity_data_at_upload_is_refused_and_stores_nothing(
    trader_with_profile, test_tenant, settings, tmp_path, kind, fields, field
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from support_kyc import corpus_file

    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path)}}}  # fmt: skip
    http = _http(test_tenant, trader_with_profile)
    base = {"identity": {"document_type": "passport", "expires_on": in_years(3).isoformat()},
            "proof_of_address": {"document_type": "utility_bill",
                                 "issued_on": recent(5).isoformat()}}[kind]  # fmt: skip

    answer = http.post("/documents/upload/", {
        "kind": kind, **base, **fields,
        "file": SimpleUploadedFile("p.jpg", corpus_file("passport-photo.jpg"))})  # fmt: skip

    assert answer.status_code == 400 and field in answer.content.decode()
    assert KycDocument.objects.count() == 0
    assert not any(tmp_path.rglob("*.jpg"))


def test_the_identity_data_typed_at_upload_is_kept_and_shown_to_staff(
    trader_with_profile, test_tenant, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from support_kyc import corpus_file

    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path)}}}  # fmt: skip
    http = _http(test_tenant, trader_with_profile)
    answer = http.post("/documents/upload/", {
        "kind": "identity", "document_type": "passport", "expires_on": in_years(3).isoformat(),
        "printed_name": " Jane Trader ", "printed_date_of_birth": "1985-03-14",
        "document_number": "P 123-4567",
        "file": SimpleUploadedFile("p.jpg", corpus_file("passport-photo.jpg"))})  # fmt: skip
    roles = default_roles_ensure()
    staff = _http(test_tenant, user_make("co@upload.example", roles=[roles["compliance"]]))
    case = KycCase.objects.get(client=trader_with_profile)
    detail = staff.get(f"/api/v1/kyc/cases/{case.public_id}/").json()

    assert answer.status_code == 302
    document = KycDocument.objects.get()
    assert (document.printed_name, document.printed_date_of_birth, document.document_number) == (
        "Jane Trader",
        BORN,
        "P 123-4567",
    )
    assert detail["documents"][0]["printed_name"] == "Jane Trader"
    assert "P 123-4567" in staff.get(f"/backoffice/kyc/cases/{case.public_id}/").content.decode()


def test_a_reviewer_deciding_a_case_the_rule_just_approved_gets_a_conflict(loaded, trader):
    from brokerdesk.modules.kyc.cases import CaseConflict, case_transition

    case = submitted(trader)
    seen_by_reviewer = KycCase.objects.select_related("state").get(pk=case.pk)

    case_assess_and_decide(case.pk)
    with pytest.raises(CaseConflict):
        case_transition(case=seen_by_reviewer, event="reject", actor="co@x.example",
                        reason="too late")  # fmt: skip

    assert KycCase.objects.get(pk=case.pk).state.key == "approved"
    assert AuditEntry.objects.filter(action="kyc.case.reject").count() == 0


def test_the_steps_page_asks_again_while_the_rule_may_still_decide(loaded, trader):
    from django.test import Client

    case = submitted(trader)
    http = sign_in(Client(HTTP_HOST=_host()), trader)

    just_submitted = http.get("/documents/").content.decode()
    fragment = http.get("/documents/", HTTP_HX_REQUEST="true").content.decode()
    case_assess_and_decide(case.pk)
    approved = http.get("/documents/", HTTP_HX_REQUEST="true").content.decode()

    assert 'data-testid="kyc-poll"' in just_submitted and 'hx-trigger="every 3s"' in fragment
    assert 'data-testid="kyc-poll"' not in approved and "Your account is verified." in approved


def test_a_case_waiting_for_a_person_is_not_polled(loaded, trader):
    from django.test import Client

    case = submitted(trader, printed_dob=dt.date(1990, 1, 1))
    case_assess_and_decide(case.pk)
    _age(case, 600)
    http = sign_in(Client(HTTP_HOST=_host()), trader)

    page = http.get("/documents/").content.decode()

    assert "Pending review" in page and 'data-testid="kyc-poll"' not in page


def _host() -> str:
    from brokerdesk.tenants.models import Tenant

    return Tenant.objects.get(slug="test").get_primary_domain().domain
