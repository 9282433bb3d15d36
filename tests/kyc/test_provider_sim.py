"""The provider adapter against the fake provider run as its own process (`brokerdesk
kyc-provider-sim`), with the CRM served by a live gunicorn: the documents page creates the
applicant and shows the provider's step with an access token (signed REST calls the
simulator checks), the SDK's submit and the provider's review come back as signed callbacks
over HTTP and move the case; held callbacks replayed out of order and twice end in the
newest state, once; a wrong webhook secret is refused with 401 and changes nothing."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from brokerdesk.modules.identity.models import UserKind
from brokerdesk.modules.kyc.cases import client_may
from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
from brokerdesk.modules.kyc.models import CallbackStatus, KycCase, ProviderCallback
from brokerdesk.modules.kyc.providers.services import configuration_provider_set, provider_save
from brokerdesk.tenants import schemas
from support.kyc_provider import (
    APP_TOKEN,
    LEVEL,
    SECRET_KEY,
    WEBHOOK_SECRET,
    live_server,
    provider_sim,
)
from support.rbac_actors import user_make

pytestmark = [pytest.mark.committed, pytest.mark.slow]


@pytest.fixture(scope="module")
def gunicorn_port(django_db_setup):
    log = Path(settings.DATA_DIR) / "logs" / f"test-kycsim-{settings.TEST_WORKER}.log"
    with live_server(log) as port:
        yield port


@pytest.fixture
def wired(committed_tenant, gunicorn_port):
    """A tenant whose KYC configuration uses a provider account on a fresh simulator that
    sends its callbacks to gunicorn, with the tenant's host header (ADR 0009)."""
    host = committed_tenant.get_primary_domain().domain
    with schemas.tenant_context(committed_tenant):
        configuration = configuration_defaults_ensure()
    connection.set_schema_to_public()
    with provider_sim(webhook_host=host) as sim:
        with schemas.tenant_context(committed_tenant):
            provider = provider_save(
                actor="tests", name="Sim verifier", kind="sumsub", base_url=sim.url,
                level_name=LEVEL, sdk_url=f"{sim.url}/websdk/sns-websdk-builder.js",
                secrets={"app_token": APP_TOKEN, "secret_key": SECRET_KEY,
                         "webhook_secret": WEBHOOK_SECRET},
            )  # fmt: skip
            configuration_provider_set(
                actor="tests", configuration=configuration, provider=provider
            )
        connection.set_schema_to_public()
        sim.control(
            "config",
            {
                "webhook_url": f"http://127.0.0.1:{gunicorn_port}/api/v1/kyc/"
                f"providers/{provider.public_id}/callbacks/"
            },
        )
        yield committed_tenant, host, sim


def _trader_page(tenant, host, email):
    with schemas.tenant_context(tenant):
        trader = user_make(email, kind=UserKind.CLIENT)
        http = Client(HTTP_HOST=host)
        http.force_login(trader)
        page = http.get("/documents/")
        case = KycCase.objects.get(client=trader)
    connection.set_schema_to_public()
    return trader, case, page


def _in(tenant, func):
    with schemas.tenant_context(tenant):
        try:
            return func()
        finally:
            connection.set_schema_to_public()


def _state(tenant, case):
    return _in(tenant, lambda: KycCase.objects.select_related("state").get(pk=case.pk).state.key)


def test_sdk_step_submit_and_review_flow_over_http(wired):
    tenant, host, sim = wired
    trader, case, page = _trader_page(tenant, host, "sdk@provider.example")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="provider-sdk"' in html and 'data-testid="upload-identity"' not in html
    token = re.search(r'data-token="([^"]+)"', html).group(1)
    applicant = sim.applicant_of(str(case.public_id))
    assert applicant["levelName"] == LEVEL and applicant["fixedInfo"] == {}
    requests = sim.control("requests")["requests"]
    assert (
        "POST /resources/applicants" in requests and "POST /resources/accessTokens/sdk" in requests
    )

    # The SDK asks for a fresh token through the page's endpoint (the client's session).
    refreshed = _in(tenant, lambda: _token_refresh(host, trader))
    assert refreshed.status_code == 200 and refreshed.json()["token"] != token
    # The SDK's button: the provider marks the applicant pending and calls us back.
    assert sim.sdk_submit(token) == 200
    assert _state(tenant, case) == "pending_review"
    # The provider's reviewer says RED/RETRY, then (after a new photo) GREEN.
    red = sim.control("review", {"applicantId": applicant["id"], "answer": "RED",
                                 "rejectType": "RETRY", "clientComment": "Blurred photo"})  # fmt: skip
    assert red["deliveries"][-1]["status"] == 200
    assert _state(tenant, case) == "resubmission_needed"
    assert not _in(tenant, lambda: client_may(trader, "deposit"))
    sim.control("pending", {"applicantId": applicant["id"]})
    green = sim.control("review", {"applicantId": applicant["id"], "answer": "GREEN"})
    assert green["deliveries"][-1]["status"] == 200
    assert _state(tenant, case) == "approved"
    assert _in(tenant, lambda: client_may(trader, "withdraw"))
    statuses = _in(tenant, lambda: list(
        ProviderCallback.objects.order_by("id").values_list("event_type", "status")))  # fmt: skip
    assert ("applicantReviewed", CallbackStatus.APPLIED) in statuses
    assert ("applicantCreated", CallbackStatus.IGNORED) in statuses
    # A second visit reuses the applicant (no second one at the provider) and the recent
    # token (no call at all); only the SDK's refresh asked for a second token.
    _in(tenant, lambda: _page_again(host, trader))
    assert len([a for a in sim.control("applicants")
                if a["externalUserId"] == str(case.public_id)]) == 1  # fmt: skip
    calls = sim.control("requests")["requests"]
    assert calls.count("POST /resources/accessTokens/sdk") == 2
    assert calls.count("POST /resources/applicants") == 1


def _token_refresh(host, trader):
    http = Client(HTTP_HOST=host)
    http.force_login(trader)
    return http.post("/documents/provider/token/")


def _page_again(host, trader):
    http = Client(HTTP_HOST=host)
    http.force_login(trader)
    assert http.get("/documents/").status_code == 200


def test_held_callbacks_replayed_out_of_order_and_twice_apply_once(wired):
    tenant, host, sim = wired
    _, case, _ = _trader_page(tenant, host, "order@provider.example")
    applicant = sim.applicant_of(str(case.public_id))["id"]
    pending = sim.control("pending", {"applicantId": applicant, "hold": True})
    review = sim.control("review", {"applicantId": applicant, "answer": "GREEN", "hold": True})

    first = sim.control("deliver", {"id": review["id"]})
    late = sim.control("deliver", {"id": pending["id"]})
    again = sim.control("deliver", {"id": review["id"]})

    answers = [(d["status"], d["answer"]) for d in (first["deliveries"][-1],
               late["deliveries"][-1], again["deliveries"][-1])]  # fmt: skip
    assert answers == [(200, '{"status":"applied"}'), (200, '{"status":"stale"}'),
                       (200, '{"status":"applied"}')]  # fmt: skip
    assert _state(tenant, case) == "approved"
    changes = _in(tenant, lambda: list(
        KycCase.objects.get(pk=case.pk).changes.values_list("event", flat=True)))  # fmt: skip
    assert changes == ["", "submit", "approve"]
    body = base64.b64decode(review["body"])
    assert _in(tenant, lambda: ProviderCallback.objects.get(raw_body=body).deliveries) == 2


def test_a_callback_signed_with_another_secret_is_refused_and_changes_nothing(wired):
    tenant, host, sim = wired
    _, case, _ = _trader_page(tenant, host, "forged@provider.example")
    applicant = sim.applicant_of(str(case.public_id))["id"]
    # The creation's callback comes from a thread after the answer: counted once it landed
    sim.delivered(applicant, "applicantCreated")
    before = _in(tenant, lambda: ProviderCallback.objects.count())
    sim.control("config", {"webhook_secret": "not-the-shared-secret", "alg": "HMAC_SHA512_HEX"})

    sent = sim.control("review", {"applicantId": applicant, "answer": "GREEN"})

    assert sent["deliveries"][-1]["status"] == 401
    assert _state(tenant, case) == "not_started"
    assert _in(tenant, lambda: ProviderCallback.objects.count()) == before


def test_a_provider_that_refuses_our_signature_shows_a_try_again_step(wired):
    tenant, host, sim = wired
    from brokerdesk.modules.kyc.models import KycProvider

    def break_key():
        provider = KycProvider.objects.get()
        provider_save(actor="tests", provider=provider, name=provider.name, kind=provider.kind,
                      base_url=provider.base_url, level_name=provider.level_name,
                      secrets={"secret_key": "wrong-key"})  # fmt: skip

    _in(tenant, break_key)
    _, case, page = _trader_page(tenant, host, "refused@provider.example")
    assert page.status_code == 200
    assert 'data-testid="provider-down"' in page.content.decode()
    trader = _in(tenant, lambda: KycCase.objects.get(pk=case.pk).client)
    assert _in(tenant, lambda: _token_refresh(host, trader)).status_code == 503
    assert sim.control("applicants") == []
