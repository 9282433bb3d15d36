"""The provider adapter's callbacks through the public API endpoint (signed, idempotent, in
any order) and the provider choice as data. Signatures are computed here with hmac, the way
the provider documents them, not with the code under test."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading

import pytest
from django.db import connection, connections

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import UserKind
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.kyc.cases import case_open, case_transition, client_may
from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
from brokerdesk.modules.kyc.documents import Upload, document_upload
from brokerdesk.modules.kyc.models import (
    CallbackStatus,
    CaseEvent,
    KycCase,
    KycDocument,
    KycProvider,
    ProviderApplicant,
    ProviderCallback,
)
from brokerdesk.modules.kyc.providers.inbox import callback_receive
from brokerdesk.modules.kyc.providers.registry import provider_for
from brokerdesk.modules.kyc.providers.services import configuration_provider_set, provider_save
from brokerdesk.tenants import schemas
from support.rbac_actors import user_make

SECRET = "whsec-test-1"
ALGORITHMS = {"HMAC_SHA1_HEX": hashlib.sha1, "HMAC_SHA256_HEX": hashlib.sha256,
              "HMAC_SHA512_HEX": hashlib.sha512}  # fmt: skip
T0 = dt.datetime(2026, 11, 21, 10, 0, 0, tzinfo=dt.UTC)


def _provider(actor="tests") -> KycProvider:
    return provider_save(
        actor=actor, name="Verifier", kind="sumsub", base_url="http://127.0.0.1:9",
        level_name="basic-kyc-level", secrets={"app_token": "sbx:tok", "secret_key": "sk-1",
                                               "webhook_secret": SECRET},
    )  # fmt: skip


@pytest.fixture
def setup(trader_with_profile):
    provider = _provider()
    configuration = configuration_defaults_ensure()
    configuration_provider_set(actor="tests", configuration=configuration, provider=provider)
    case = case_open(client=trader_with_profile, actor=trader_with_profile)
    ProviderApplicant.objects.create(case=case, provider=provider, applicant_id="a" * 24)
    return provider, case


def body_of(case, kind, *, at=T0, answer=None, reject=None, applicant="a" * 24, **extra):
    payload = {
        "applicantId": applicant, "inspectionId": "i" * 24, "applicantType": "individual",
        "correlationId": "req-1", "levelName": "basic-kyc-level", "sandboxMode": True,
        "externalUserId": str(case.public_id), "type": kind,
        "reviewStatus": {"applicantPending": "pending", "applicantReviewed": "completed",
                         "applicantOnHold": "onHold"}.get(kind, "init"),
        "createdAtMs": at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], **extra,
    }  # fmt: skip
    if answer:
        payload["reviewResult"] = {"reviewAnswer": answer}
        if reject:
            payload["reviewResult"] |= {"reviewRejectType": reject,
                                        "rejectLabels": ["UNSATISFACTORY_PHOTOS"],
                                        "clientComment": "The photo is blurred."}  # fmt: skip
    return json.dumps(payload, separators=(",", ":")).encode()


def post(tenant_client, provider, body, *, alg="HMAC_SHA256_HEX", secret=SECRET, digest=None):
    digest = digest if digest is not None else hmac.new(
        secret.encode(), body, ALGORITHMS[alg]).hexdigest()  # fmt: skip
    headers = {"HTTP_X_PAYLOAD_DIGEST": digest}
    if alg:
        headers["HTTP_X_PAYLOAD_DIGEST_ALG"] = alg
    return tenant_client.post(
        f"/api/v1/kyc/providers/{provider.public_id}/callbacks/", body,
        content_type="application/json", **headers,
    )  # fmt: skip


def _state(case) -> str:
    return KycCase.objects.select_related("state").get(pk=case.pk).state.key


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_each_documented_digest_algorithm_is_accepted(setup, tenant_client, alg):
    provider, case = setup
    answer = post(tenant_client, provider, body_of(case, "applicantPending"), alg=alg)
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"status": "applied"}
    assert _state(case) == "pending_review"


@pytest.mark.parametrize(
    ("alg", "secret", "digest"),
    [
        ("HMAC_SHA256_HEX", "wrong-secret", None),
        ("HMAC_SHA256_HEX", SECRET, ""),
        ("HMAC_SHA256_HEX", SECRET, "00" * 32),
        ("HMAC_MD5_HEX", SECRET, "00" * 16),
        ("", SECRET, None),
    ],
    ids=["wrong-secret", "no-digest", "wrong-digest", "unknown-alg", "no-alg"],
)
def test_a_bad_signature_is_401_and_nothing_changes(setup, tenant_client, alg, secret, digest):
    provider, case = setup
    body = body_of(case, "applicantReviewed", answer="GREEN")
    if digest is None and alg not in ALGORITHMS:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    answer = post(tenant_client, provider, body, alg=alg, secret=secret, digest=digest)
    assert answer.status_code == 401
    assert ProviderCallback.objects.count() == 0
    assert _state(case) == "not_started"


def test_a_tampered_body_is_401(setup, tenant_client):
    provider, case = setup
    body = body_of(case, "applicantReviewed", answer="RED", reject="RETRY")
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    tampered = body.replace(b'"RED"', b'"GREEN"').replace(b',"reviewRejectType":"RETRY"', b"")
    assert post(tenant_client, provider, tampered, digest=digest).status_code == 401
    assert ProviderCallback.objects.count() == 0


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[1,2]", b'{"type":"applicantReviewed"}',
             b'{"type":"applicantReviewed","applicantId":"x","reviewResult":{"reviewAnswer":"BLUE"}}'],
    ids=["empty", "not-json", "array", "no-applicant", "unknown-answer"],
)  # fmt: skip
def test_a_signed_body_that_is_no_callback_is_400_and_stores_nothing(setup, tenant_client, body):
    provider, case = setup
    answer = post(tenant_client, provider, body)
    assert answer.status_code == 400
    assert ProviderCallback.objects.count() == 0 and _state(case) == "not_started"


def test_an_unknown_or_inactive_provider_is_404(setup, tenant_client):
    provider, case = setup
    body = body_of(case, "applicantPending")
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    for path in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        answer = tenant_client.post(
            f"/api/v1/kyc/providers/{path}/callbacks/", body, content_type="application/json",
            HTTP_X_PAYLOAD_DIGEST=digest, HTTP_X_PAYLOAD_DIGEST_ALG="HMAC_SHA256_HEX",
        )  # fmt: skip
        assert answer.status_code == 404
    KycProvider.objects.filter(pk=provider.pk).update(is_active=False)
    assert post(tenant_client, provider, body).status_code == 404
    assert _state(case) == "not_started"


# (events sent in order) → the case's final state, from a case that has not started
MAPPING = [
    ((("applicantPending", None, None),), "pending_review"),
    ((("applicantPending", None, None), ("applicantReviewed", "GREEN", None)), "approved"),
    ((("applicantPending", None, None), ("applicantReviewed", "RED", "RETRY")),
     "resubmission_needed"),
    ((("applicantPending", None, None), ("applicantReviewed", "RED", "FINAL")), "rejected"),
    ((("applicantPending", None, None), ("applicantOnHold", None, None)), "pending_review"),
    ((("applicantCreated", None, None),), "not_started"),
    # A review result without its (lost or late) pending: the submission is implied.
    ((("applicantReviewed", "GREEN", None),), "approved"),
    ((("applicantPending", None, None), ("applicantReviewed", "RED", "RETRY"),
      ("applicantPending", None, None), ("applicantReviewed", "GREEN", None)), "approved"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("events", "final"), MAPPING, ids=[m[1] + f"-{i}" for i, m in enumerate(MAPPING)]
)
def test_provider_events_map_onto_case_events(setup, tenant_client, events, final):
    provider, case = setup
    for offset, (kind, answer, reject) in enumerate(events):
        body = body_of(case, kind, at=T0 + dt.timedelta(seconds=offset), answer=answer,
                       reject=reject)  # fmt: skip
        assert post(tenant_client, provider, body).status_code == 200
    assert _state(case) == final


def test_a_rejection_carries_the_reason_and_restricts_through_the_configuration(
    setup, tenant_client
):
    provider, case = setup
    post(tenant_client, provider, body_of(case, "applicantPending"))
    post(tenant_client, provider, body_of(case, "applicantReviewed", at=T0 + dt.timedelta(1),
                                          answer="RED", reject="RETRY"))  # fmt: skip
    change = case.changes.last()
    assert change.event == CaseEvent.REQUEST_RESUBMISSION
    assert change.reason_code == "provider_retry"
    assert "UNSATISFACTORY_PHOTOS" in change.reason and "blurred" in change.reason
    assert change.changed_by == "provider:Verifier"
    assert AuditEntry.objects.filter(action="kyc.case.request_resubmission").count() == 1
    assert not client_may(case.client, "deposit")


def test_a_redelivered_callback_has_no_second_effect(setup, tenant_client):
    provider, case = setup
    body = body_of(case, "applicantPending")
    first = post(tenant_client, provider, body)
    second = post(tenant_client, provider, body)
    assert first.json() == second.json() == {"status": "applied"}
    (row,) = ProviderCallback.objects.all()
    assert row.deliveries == 2
    assert case.changes.filter(event=CaseEvent.SUBMIT).count() == 1


def test_callbacks_out_of_order_end_in_the_newest_state(setup, tenant_client):
    provider, case = setup
    pending = body_of(case, "applicantPending", at=T0)
    reviewed = body_of(case, "applicantReviewed", at=T0 + dt.timedelta(seconds=30), answer="GREEN")
    assert post(tenant_client, provider, reviewed).json() == {"status": "applied"}
    assert post(tenant_client, provider, pending).json() == {"status": "stale"}
    assert _state(case) == "approved"
    assert list(case.changes.values_list("event", flat=True)) == ["", "submit", "approve"]
    assert ProviderApplicant.objects.get(case=case).review_status == "completed"


def test_an_earlier_status_stamped_the_same_millisecond_is_stale_too(setup, tenant_client):
    provider, case = setup
    pending = body_of(case, "applicantPending", at=T0)
    reviewed = body_of(case, "applicantReviewed", at=T0, answer="GREEN")
    assert post(tenant_client, provider, reviewed).json() == {"status": "applied"}
    assert post(tenant_client, provider, pending).json() == {"status": "stale"}
    assert _state(case) == "approved"
    assert ProviderApplicant.objects.get(case=case).review_status == "completed"


def test_a_callback_for_an_unknown_applicant_is_recorded_and_ignored(setup, tenant_client):
    provider, case = setup
    other = KycCase.objects.none()
    body = body_of(case, "applicantPending", applicant="b" * 24, externalUserId="nobody")
    assert post(tenant_client, provider, body).json() == {"status": "ignored"}
    assert _state(case) == "not_started" and not other.exists()


def test_the_provider_choice_is_data_and_its_secrets_are_encrypted(setup):
    provider, case = setup
    assert provider_for(case.configuration).key == "sumsub"
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM kyc_kycprovider WHERE id = %s", [provider.pk])
        (raw,) = cursor.fetchone()
    for plaintext in (SECRET, "sk-1", "sbx:tok"):
        assert plaintext not in raw
    assert provider.secret_names == ["app_token", "secret_key", "webhook_secret"]
    entry = AuditEntry.objects.get(action="kyc.provider.create")
    assert SECRET not in json.dumps(entry.after) and entry.after["secret.webhook_secret"] == "[set]"
    configuration_provider_set(actor="tests", configuration=case.configuration, provider=None)
    case.configuration.refresh_from_db()
    assert provider_for(case.configuration).key == "in_house"


def test_only_config_managers_change_providers(setup):
    roles = default_roles_ensure()
    compliance = user_make("compliance@provider.example", roles=[roles["compliance"]])
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        _provider(actor=compliance)
    admin = user_make("admin@provider.example", roles=[roles["super_admin"]])
    with pytest.raises(Exception) as refused:
        provider_save(actor=admin, name="", kind="nope", base_url="ftp://x", level_name="")
    assert set(refused.value.message_dict) == {"name", "kind", "base_url", "level_name"}


def test_uploads_are_refused_while_a_provider_verifies(setup):
    provider, case = setup
    with pytest.raises(Exception) as refused:
        document_upload(client=case.client, actor=case.client,
                        upload=Upload(kind="identity", document_type="passport", data=b"x"))  # fmt: skip
    assert "verification partner" in str(refused.value)
    assert KycDocument.objects.count() == 0


@pytest.mark.committed
def test_the_same_callback_delivered_in_parallel_applies_once(committed_tenant):
    with schemas.tenant_context(committed_tenant):
        configuration = configuration_defaults_ensure()
        provider = _provider()
        configuration_provider_set(actor="tests", configuration=configuration, provider=provider)
        trader = user_make("parallel@provider.example", kind=UserKind.CLIENT)
        case = case_open(client=trader, actor=trader)
        ProviderApplicant.objects.create(case=case, provider=provider, applicant_id="a" * 24)
        case_transition(case=case, event=CaseEvent.SUBMIT, actor="tests")
        body = body_of(case, "applicantReviewed", answer="GREEN")
        headers = {"x-payload-digest": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
                   "x-payload-digest-alg": "HMAC_SHA256_HEX"}  # fmt: skip
    connection.set_schema_to_public()

    barrier = threading.Barrier(4)
    results: list = [None] * 4

    def run(index: int) -> None:
        try:
            with schemas.tenant_context(committed_tenant):
                connection.ensure_connection()
                barrier.wait(timeout=60)
                results[index] = callback_receive(
                    provider=provider, body=body, headers=headers
                ).status
        except Exception as error:  # noqa: BLE001 - asserted below
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert results == ["applied"] * 4, results
    with schemas.tenant_context(committed_tenant):
        assert _state(case) == "approved"
        assert case.changes.filter(event=CaseEvent.APPROVE).count() == 1
        assert ProviderCallback.objects.get().deliveries == 4
    connection.set_schema_to_public()


def test_an_admin_adds_a_provider_on_the_page_and_no_secret_is_ever_rendered(trader, tenant_client):
    roles = default_roles_ensure()
    admin = user_make("admin@providers.example", roles=[roles["super_admin"]])
    from support.rbac_actors import sign_in

    http = sign_in(tenant_client, admin)
    fields = {"name": "Verifier", "kind": "sumsub", "base_url": "https://api.verifier.example",
              "level_name": "basic-kyc-level", "is_active": "on", "app_token": "sbx:plain-app",
              "secret_key": "plain-secret-key", "webhook_secret": "plain-webhook"}  # fmt: skip
    assert (
        http.post("/backoffice/kyc/providers/", {**fields, "base_url": "nope"}).status_code == 400
    )
    assert KycProvider.objects.count() == 0
    created = http.post("/backoffice/kyc/providers/", fields)
    assert created.status_code == 302
    provider = KycProvider.objects.get()
    token = provider.secrets.token

    page = http.get(f"/backoffice/kyc/providers/{provider.public_id}/").content.decode()
    listing = http.get("/backoffice/kyc/providers/").content.decode()
    for html in (page, listing):
        for secret in ("sbx:plain-app", "plain-secret-key", "plain-webhook", token):
            assert secret not in html
    assert f"/api/v1/kyc/providers/{provider.public_id}/callbacks/" in page
    assert "set — leave blank to keep" in page

    # Blank secrets keep their values; a new one replaces only itself.
    changed = {**fields, "app_token": "", "secret_key": "", "webhook_secret": "rotated-webhook"}
    assert http.post(f"/backoffice/kyc/providers/{provider.public_id}/", changed).status_code == 302
    provider.refresh_from_db()
    stored = json.loads(provider.secrets.reveal())
    assert stored == {"app_token": "sbx:plain-app", "secret_key": "plain-secret-key",
                      "webhook_secret": "rotated-webhook"}  # fmt: skip
    entry = AuditEntry.objects.get(action="kyc.provider.update")
    assert entry.after["secret.webhook_secret"] == "[changed]"
    assert "secret.app_token" not in entry.after

    # The rules page chooses it, with the warning window; bad input changes nothing.
    configuration = configuration_defaults_ensure()
    url = f"/backoffice/kyc/rules/{configuration.public_id}/"
    for bad in ({"expiry_warning_days": "0"}, {"expiry_warning_days": "x"},
                {"expiry_warning_days": "30", "provider": "not-a-provider"}):  # fmt: skip
        assert http.post(url, {"row": "verification", **bad}).status_code == 400
    configuration.refresh_from_db()
    assert (configuration.provider_id, configuration.expiry_warning_days) == (None, 60)
    chosen = {
        "row": "verification",
        "provider": str(provider.public_id),
        "expiry_warning_days": "30",
    }
    assert http.post(url, chosen).status_code == 302
    configuration.refresh_from_db()
    assert (configuration.provider_id, configuration.expiry_warning_days) == (provider.pk, 30)
    assert AuditEntry.objects.filter(action="kyc.configuration.verification").count() == 1
    assert provider_for(configuration).key == "sumsub"


def test_a_callback_left_unprocessed_is_applied_by_the_sweep_once(setup):
    from brokerdesk.modules.kyc.providers.inbox import callbacks_pending_process
    from brokerdesk.modules.kyc.tasks import CALLBACKS_TASK
    from brokerdesk.platform.celery import app

    provider, case = setup
    body = body_of(case, "applicantPending")
    # Stored, then the process died before applying it.
    ProviderCallback.objects.create(
        provider=provider, raw_body=body, body_sha256=hashlib.sha256(body).hexdigest(),
        event_type="applicantPending", applicant_id="a" * 24, event_at=T0,
    )  # fmt: skip

    assert callbacks_pending_process() == 1
    assert callbacks_pending_process() == 0
    assert _state(case) == "pending_review"
    assert ProviderCallback.objects.get().status == CallbackStatus.APPLIED
    assert CALLBACKS_TASK in app.tasks


def test_a_case_changed_meanwhile_leaves_the_callback_for_the_next_attempt(setup, monkeypatch):
    from brokerdesk.modules.kyc.cases import CaseConflict
    from brokerdesk.modules.kyc.providers import inbox

    provider, case = setup
    body = body_of(case, "applicantPending")
    headers = {"x-payload-digest": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
               "x-payload-digest-alg": "HMAC_SHA256_HEX"}  # fmt: skip

    def conflict(**kwargs):
        raise CaseConflict("moved")

    monkeypatch.setattr(inbox, "case_transition", conflict)
    row = callback_receive(provider=provider, body=body, headers=headers)
    assert row.status == CallbackStatus.RECEIVED and _state(case) == "not_started"
    monkeypatch.undo()
    assert inbox.callbacks_pending_process() == 1
    assert _state(case) == "pending_review"


def test_the_token_endpoint_is_for_provider_steps_only(trader, tenant_client):
    tenant_client.force_login(trader)
    answer = tenant_client.post("/documents/provider/token/")
    assert answer.status_code == 409 and "detail" in answer.json()
    assert tenant_client.get("/documents/provider/token/").status_code == 405
