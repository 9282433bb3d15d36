"""Deposits against the sandbox PSP process: start, callbacks (once whatever the order or
repetition), refusals with no effect, the poller, the trader's and the API's view."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils.timezone import now as time_now

from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.ledger.models import Transfer
from brokerdesk.modules.payments.deposits import (
    CallbackTarget,
    callback_path,
    deposit_start,
    deposits_poll,
    methods_for,
    trader_status_text,
)
from brokerdesk.modules.payments.models import CallbackOutcome, Deposit, DepositStatus, PspCallback
from brokerdesk.modules.payments.sandbox import signing
from brokerdesk.tenants.config.models import LegalEntity
from support.payments import client_make, method_make, money_snapshot, sandbox_credential
from support.psp_sandbox import SIGNING_SECRET, PspProcess, psp_sandbox

TARGET = CallbackTarget(base_url="http://127.0.0.1:9", host="broker.localhost",
                        return_url_of=lambda d: f"http://broker.localhost/deposit/{d.public_id}/")  # fmt: skip


@pytest.fixture(scope="module")
def sim() -> Iterator[PspProcess]:
    # Callbacks are held: each test delivers the PSP's own bodies itself, when it wants.
    with psp_sandbox("--hold", "1") as process:
        yield process


@pytest.fixture
def setup(db, sim) -> dict[str, Any]:
    credential = sandbox_credential(sim.url)
    method = method_make(credential, fee_fixed_minor=100)  # 1.00 USD fee
    return {"credential": credential, "method": method, "trader": client_make()}


def start(setup: dict[str, Any], amount: str = "50.00", key: str | None = None) -> Deposit:
    return deposit_start(actor=setup["trader"], method=setup["method"], amount=amount,
                         currency="USD", idempotency_key=key or uuid.uuid4().hex, target=TARGET)  # fmt: skip


def psp_callbacks(sim: PspProcess, deposit: Deposit) -> list[bytes]:
    """The bodies the PSP queued for this deposit, oldest first."""
    bodies = [c["body"] for c in sim.callbacks(deposit.psp_payment_id)]
    return [json.dumps(b, separators=(",", ":")).encode() for b in bodies]


def deliver(client: Any, credential: Any, body: bytes, *, secret: str = SIGNING_SECRET,
            timestamp: int | None = None) -> Any:  # fmt: skip
    return client.post(callback_path(credential), data=body, content_type="application/json",
                       HTTP_X_SANDBOX_SIGNATURE=signing.sign(body, secret, timestamp=timestamp))  # fmt: skip


def wallet_balance(setup: dict[str, Any]) -> int:
    return ledger.wallet_ensure(client=setup["trader"], currency="USD").balance_minor


def test_methods_fastest_first_then_the_clients_country(db, sim):
    credential = sandbox_credential(sim.url)
    slow = method_make(credential, name="Bank", kind="bank", expected_minutes=1440)
    local = method_make(credential, name="Zeta local card", countries=["GB"])
    generic = method_make(credential, name="Alpha card")
    method_make(credential, name="German only", countries=["DE"])
    entity = LegalEntity.objects.create(name="Other Ltd", jurisdiction="CY",
                                        allowed_countries=["CY"])  # fmt: skip
    method_make(credential, name="Other entity", legal_entity=entity)
    method_make(credential, name="Off", is_active=False)

    assert methods_for(client_make(country="GB")) == [local, generic, slow]


def test_a_deposit_starts_at_the_psp_and_waits_for_it(setup, sim):
    deposit = start(setup)

    assert deposit.status == DepositStatus.PENDING
    assert deposit.fee_minor == 100 and deposit.amount_minor == 5_000
    assert deposit.redirect_url == f"{sim.url}/pay/{deposit.psp_payment_id}"
    at_psp = sim.control("payment", {"payment_id": deposit.psp_payment_id})
    assert (at_psp["order_id"], at_psp["amount"], at_psp["currency"]) == (
        str(deposit.public_id), "5000", "USD")  # fmt: skip
    assert "do not need to pay again" in trader_status_text(deposit)


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [
        ("-5.00", "USD", "amount"),
        ("0", "USD", "amount"),
        ("10.001", "USD", "amount"),
        ("10000.01", "USD", "amount"),  # over the method's maximum
        ("9.99", "USD", "amount"),  # under its minimum
        ("abc", "USD", "amount"),
        ("NaN", "USD", "amount"),
        ("50.00", "XXX", "currency"),
        ("50.00", "EUR", "currency"),  # the method takes USD
    ],
)
def test_bad_amounts_and_currencies_are_refused_with_no_effect(setup, sim, amount, currency,
                                                               field):  # fmt: skip
    before, psp_before = money_snapshot(), sim.stats()["payments"]

    with pytest.raises(ValidationError) as refused:
        deposit_start(actor=setup["trader"], method=setup["method"], amount=amount,
                      currency=currency, idempotency_key="k", target=TARGET)  # fmt: skip

    assert field in refused.value.message_dict
    assert money_snapshot() == before
    assert sim.stats()["payments"] == psp_before


def test_another_clients_or_an_unoffered_method_is_refused(setup, sim):
    other = method_make(setup["credential"], name="Germany", countries=["DE"])
    with pytest.raises(ValidationError) as refused:
        deposit_start(actor=setup["trader"], method=other, amount="50", currency="USD",
                      idempotency_key="k", target=TARGET)  # fmt: skip
    assert "method" in refused.value.message_dict
    assert not Deposit.objects.exists()


@pytest.mark.parametrize(
    ("verified_email", "reason"),
    [(False, "Confirm your e-mail address"), (True, "Not possible while your verification")],
)
def test_the_policy_engine_refuses_a_deposit_before_verification(
    setup, sim, verified_email, reason
):
    trader = client_make(verified=False)
    if verified_email:
        trader.email_verified_at = time_now()
        trader.save()
    before, psp_before = money_snapshot(), sim.stats()["payments"]
    with pytest.raises(ValidationError) as refused:
        deposit_start(actor=trader, method=setup["method"], amount="50", currency="USD",
                      idempotency_key="policy", target=TARGET)  # fmt: skip
    assert reason in " ".join(refused.value.messages)
    assert money_snapshot() == before and sim.stats()["payments"] == psp_before
    assert not Deposit.objects.filter(client=trader).exists()


def test_the_same_key_is_the_same_deposit_and_another_body_is_refused(setup, sim):
    first = start(setup, key="key-1")
    psp_payments = sim.stats()["payments"]

    again = start(setup, key="key-1")
    with pytest.raises(ValidationError) as refused:
        start(setup, amount="60.00", key="key-1")

    assert again.pk == first.pk
    assert "idempotency_key" in refused.value.message_dict
    assert Deposit.objects.count() == 1 and sim.stats()["payments"] == psp_payments


def test_approved_callback_credits_once_whatever_the_repetition(setup, sim, tenant_client):
    deposit = start(setup)
    sim.pay(deposit.psp_payment_id)
    [body] = psp_callbacks(sim, deposit)

    answers = [deliver(tenant_client, setup["credential"], body).status_code for _ in range(3)]

    deposit.refresh_from_db()
    assert answers == [200, 200, 200]
    assert deposit.status == DepositStatus.CREDITED and deposit.credited_by == "callback"
    assert wallet_balance(setup) == 4_900  # 50.00 less the 1.00 fee
    assert Transfer.objects.filter(code="deposit").count() == 1
    outcomes = list(PspCallback.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == [
        CallbackOutcome.APPLIED,
        CallbackOutcome.NO_CHANGE,
        CallbackOutcome.NO_CHANGE,
    ]
    assert bytes(PspCallback.objects.first().raw_body) == body


def test_out_of_order_pending_after_approval_changes_nothing(setup, sim, tenant_client):
    deposit = start(setup)
    sim.pay(deposit.psp_payment_id, "4000000000003220")  # 3-D Secure: pending
    sim.control("3ds", {"payment_id": deposit.psp_payment_id})  # then approved
    pending, approved = psp_callbacks(sim, deposit)

    deliver(tenant_client, setup["credential"], approved)
    deliver(tenant_client, setup["credential"], pending)

    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.CREDITED and wallet_balance(setup) == 4_900


def test_a_decline_carries_the_psps_reason_to_the_trader(setup, sim, tenant_client):
    deposit = start(setup)
    sim.pay(deposit.psp_payment_id, "4000000000009995")
    [body] = psp_callbacks(sim, deposit)

    deliver(tenant_client, setup["credential"], body)

    deposit.refresh_from_db()
    assert (deposit.status, deposit.reason_code) == (DepositStatus.FAILED, "daily_limit")
    assert trader_status_text(deposit) == "The payment failed: Daily limit exceeded"
    assert wallet_balance(setup) == 0


@pytest.mark.parametrize("case", ["bad signature", "stale timestamp", "future timestamp",
                                  "no signature", "tampered body"])  # fmt: skip
def test_a_forged_or_replayed_callback_has_no_effect(setup, sim, tenant_client, case):
    deposit = start(setup)
    sim.pay(deposit.psp_payment_id)
    [body] = psp_callbacks(sim, deposit)
    before = money_snapshot()
    path = callback_path(setup["credential"])

    if case == "no signature":
        response = tenant_client.post(path, data=body, content_type="application/json")
    elif case == "tampered body":
        tampered = body.replace(b'"amount":"5000"', b'"amount":"9000"')
        signed = signing.sign(body, SIGNING_SECRET)
        response = tenant_client.post(path, data=tampered, content_type="application/json",
                                      HTTP_X_SANDBOX_SIGNATURE=signed)  # fmt: skip
    else:
        secret = "not-the-secret" if case == "bad signature" else SIGNING_SECRET
        shift = {"stale timestamp": -301, "future timestamp": 400}.get(case, 0)
        response = deliver(tenant_client, setup["credential"], body, secret=secret,
                           timestamp=int(time.time()) + shift)  # fmt: skip

    assert response.status_code == 400
    assert money_snapshot() == before
    row = PspCallback.objects.get()
    assert (row.signature_ok, row.outcome, row.deposit_id) == (
        False,
        CallbackOutcome.REJECTED,
        None,
    )


def test_a_callback_for_an_unknown_credential_or_payment_changes_nothing(setup, sim, tenant_client):
    body = (
        b'{"event_id":"e","type":"payment.updated","data":{"order_id":"nope","status":"approved"}}'
    )
    wrong = tenant_client.post(f"/payments/callback/sandbox/{uuid.uuid4()}/", data=body,
                               content_type="application/json")  # fmt: skip
    unknown = deliver(tenant_client, setup["credential"], body)

    assert wrong.status_code == 404 and unknown.status_code == 200
    assert list(PspCallback.objects.order_by("id").values_list("outcome", flat=True)) == [
        CallbackOutcome.REJECTED, CallbackOutcome.UNKNOWN_PAYMENT]  # fmt: skip
    assert tenant_client.get(callback_path(setup["credential"])).status_code == 405


def test_another_amount_than_requested_goes_to_review_not_to_the_wallet(setup, sim, tenant_client):
    deposit = start(setup)
    sim.pay(deposit.psp_payment_id)
    [body] = psp_callbacks(sim, deposit)

    deliver(
        tenant_client, setup["credential"], body.replace(b'"amount":"5000"', b'"amount":"4000"')
    )

    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.UNDER_REVIEW and deposit.processed_minor == 4_000
    assert wallet_balance(setup) == 0


def test_the_poller_finds_a_paid_deposit_and_the_late_callback_changes_nothing(setup, sim,
                                                                               tenant_client):  # fmt: skip
    deposit = start(setup)
    sim.pay(deposit.psp_payment_id)  # the callback stays held: it never arrived

    counts = deposits_poll(older_than_s=0)
    [late] = psp_callbacks(sim, deposit)
    deliver(tenant_client, setup["credential"], late)
    deliver(tenant_client, setup["credential"], late)

    deposit.refresh_from_db()
    assert counts == {"asked": 1, "applied": 1, "errors": 0}
    assert (deposit.status, deposit.credited_by, deposit.poll_count) == (
        DepositStatus.CREDITED, "poll", 1)  # fmt: skip
    assert wallet_balance(setup) == 4_900
    assert Transfer.objects.filter(code="deposit").count() == 1


def test_the_poller_leaves_unpaid_deposits_pending_and_survives_psp_errors(setup, sim):
    deposit = start(setup)
    sim.faults(fail_status_queries=1)

    first = deposits_poll(older_than_s=0)
    second = deposits_poll(older_than_s=0)

    deposit.refresh_from_db()
    assert first == {"asked": 1, "applied": 0, "errors": 1}
    assert second == {"asked": 1, "applied": 0, "errors": 0}
    assert deposit.status == DepositStatus.PENDING and deposit.poll_count == 2


# --- The faces ------------------------------------------------------------------------------


def test_trader_pages_deposit_to_the_psp_and_show_the_status(setup, sim, tenant_client):
    tenant_client.force_login(setup["trader"])
    page = tenant_client.get("/deposit/")
    assert page.status_code == 200 and "Card (sandbox)" in page.content.decode()

    sent = tenant_client.post("/deposit/", {"method": str(setup["method"].public_id),
                                            "amount": "25.00", "key": "form-key-1"})  # fmt: skip
    deposit = Deposit.objects.get()
    bad = tenant_client.post("/deposit/", {"method": str(setup["method"].public_id),
                                           "amount": "25.001", "key": "form-key-2"})  # fmt: skip
    status = tenant_client.get(f"/deposit/{deposit.public_id}/status/")

    assert sent.status_code == 302 and sent["Location"] == deposit.redirect_url
    assert bad.status_code == 400 and "2 decimal place" in bad.content.decode()
    assert 'hx-trigger="every 2s"' in status.content.decode()
    other = client_make()
    tenant_client.force_login(other)
    assert tenant_client.get(f"/deposit/{deposit.public_id}/").status_code == 404


def test_api_deposit_with_idempotency_key(setup, sim, tenant_client):
    tenant_client.force_login(setup["trader"])
    body = {"method": str(setup["method"].public_id), "amount": "30.00", "currency": "USD"}

    first = tenant_client.post("/api/v1/payments/deposits/", body, content_type="application/json",
                               HTTP_IDEMPOTENCY_KEY="api-1")  # fmt: skip
    replay = tenant_client.post("/api/v1/payments/deposits/", body, content_type="application/json",
                                HTTP_IDEMPOTENCY_KEY="api-1")  # fmt: skip
    other = tenant_client.post("/api/v1/payments/deposits/", {**body, "amount": "31.00"},
                               content_type="application/json", HTTP_IDEMPOTENCY_KEY="api-1")  # fmt: skip
    no_key = tenant_client.post("/api/v1/payments/deposits/", body, content_type="application/json")
    number = tenant_client.post("/api/v1/payments/deposits/", {**body, "amount": 30.0},
                                content_type="application/json", HTTP_IDEMPOTENCY_KEY="api-2")  # fmt: skip

    assert first.status_code == 201 and replay.status_code == 201
    assert first.json()["id"] == replay.json()["id"] and first.json()["status"] == "pending"
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert no_key.status_code == 400 and number.status_code == 400
    assert Deposit.objects.count() == 1
    listed = tenant_client.get("/api/v1/payments/deposits/").json()
    assert [d["id"] for d in listed] == [first.json()["id"]]


@override_settings(PAYMENTS_CALLBACK_MISSING_AFTER_S=0)
def test_finance_queue_shows_a_missing_callback(setup, sim, tenant_client, django_user_model):
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from support.rbac_actors import user_make

    deposit = start(setup)
    finance = user_make("finance@pay.example", roles=[default_roles_ensure()["finance"]])
    tenant_client.force_login(finance)

    page = tenant_client.get("/backoffice/payments/").content.decode()

    missing = page.split('data-testid="deposits-missing"')[1].split("</table>")[0]
    assert str(deposit.public_id) in missing and "Callback missing" in missing


def test_reconciliation_agrees_then_finds_an_injected_difference(db, tenant_client):
    from datetime import UTC, datetime

    from brokerdesk.modules.payments.reconciliation import Difference, deposits_reconcile

    with psp_sandbox("--hold", "1") as own:  # its own PSP: only this test's payments settle
        credential = sandbox_credential(own.url)
        setup = {"credential": credential, "method": method_make(credential),
                 "trader": client_make()}  # fmt: skip
        credited = start(setup)
        own.pay(credited.psp_payment_id)
        [body] = psp_callbacks(own, credited)
        deliver(tenant_client, credential, body)
        today = datetime.now(UTC).date()
        assert deposits_reconcile(credential=credential, day=today) == []

        # The PSP settles a payment the CRM never credited (its callback lost, no poll yet).
        unseen = start(setup, amount="70.00")
        own.pay(unseen.psp_payment_id)

        assert deposits_reconcile(credential=credential, day=today) == [
            Difference("missing_in_crm", unseen.psp_payment_id, "USD", 7_000, None)
        ]


def test_payment_methods_settings_page_and_api(setup, sim, tenant_client):
    from brokerdesk.modules.audit.models import AuditEntry
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from support.rbac_actors import user_make

    admin = user_make("admin@pay.example", roles=[default_roles_ensure()["super_admin"]])
    tenant_client.force_login(admin)
    form = {"name": "Crypto", "kind": "crypto", "credential": str(setup["credential"].public_id),
            "legal_entity": "", "countries": "gb de", "currency": "USD", "min_amount": "20",
            "max_amount": "5000", "fee_fixed": "", "fee_percent": "1.5",
            "expected_minutes": "30", "is_active": "on"}  # fmt: skip

    bad = tenant_client.post("/backoffice/payments/methods/", {**form, "max_amount": "10",
                                                               "fee_percent": "101"})  # fmt: skip
    made = tenant_client.post("/backoffice/payments/methods/", form)
    api = tenant_client.patch(f"/api/v1/payments/methods/{setup['method'].public_id}/",
                              {"max_amount": "-1"}, content_type="application/json")  # fmt: skip

    assert bad.status_code == 400
    assert "must not be below the minimum" in bad.content.decode()
    assert made.status_code == 302
    method = setup["method"].__class__.objects.get(name="Crypto")
    assert (method.countries, method.min_minor, method.fee_bps, method.expected_minutes) == (
        ["DE", "GB"], 2_000, 150, 30)  # fmt: skip
    assert api.status_code == 400 and "max_amount" in api.json()
    assert AuditEntry.objects.filter(action="payments.method.create").count() == 1
    listed = tenant_client.get("/api/v1/payments/methods/").json()
    assert {m["name"] for m in listed} == {"Card (sandbox)", "Crypto"}


def _under_review(setup, sim, tenant_client) -> Deposit:
    deposit = start(setup)
    sim.pay(deposit.psp_payment_id)
    [body] = psp_callbacks(sim, deposit)
    deliver(
        tenant_client, setup["credential"], body.replace(b'"amount":"5000"', b'"amount":"4000"')
    )
    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.UNDER_REVIEW
    return deposit


def test_finance_credits_a_deposit_under_review_with_a_note(setup, sim, tenant_client):
    from brokerdesk.modules.audit.models import AuditEntry
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from support.rbac_actors import user_make

    deposit = _under_review(setup, sim, tenant_client)
    roles = default_roles_ensure()
    support = user_make("support@pay.example", roles=[roles["support"]])
    finance = user_make("finance@pay.example", roles=[roles["finance"]])
    url = f"/backoffice/payments/deposits/{deposit.public_id}/review/"

    tenant_client.force_login(support)
    refused = tenant_client.post(url, {"decision": "credit", "note": "x"})
    tenant_client.force_login(finance)
    no_note = tenant_client.post(url, {"decision": "credit", "note": " "})
    before = money_snapshot()
    assert (refused.status_code, no_note.status_code) == (403, 400)
    assert money_snapshot() == before

    done = tenant_client.post(url, {"decision": "credit", "note": "PSP confirmed 40.00 by e-mail"})
    again = tenant_client.post(url, {"decision": "credit", "note": "twice"})

    deposit.refresh_from_db()
    assert done.status_code == 302 and again.status_code == 400
    assert (deposit.status, deposit.credited_by) == (DepositStatus.CREDITED, "review")
    assert wallet_balance(setup) == 3_900  # 40.00 processed less the 1.00 fee
    entry = AuditEntry.objects.get(action="payments.deposit.review_credit")
    assert (entry.actor_label, entry.reason) == (finance.email, "PSP confirmed 40.00 by e-mail")


def test_finance_rejects_a_deposit_under_review_and_the_trader_reads_why(setup, sim,
                                                                        tenant_client):  # fmt: skip
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from brokerdesk.modules.payments.deposits import deposit_review
    from support.rbac_actors import user_make

    deposit = _under_review(setup, sim, tenant_client)
    finance = user_make("finance@pay.example", roles=[default_roles_ensure()["finance"]])

    deposit_review(actor=finance, deposit=deposit, approve=False,
                   note="Partial payment: the PSP refunds it to your card")  # fmt: skip

    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.FAILED and wallet_balance(setup) == 0
    assert trader_status_text(deposit) == (
        "The payment failed: Partial payment: the PSP refunds it to your card"
    )


def test_a_stripe_webhook_through_the_callback_endpoint_credits_once(db, tenant_client):
    import stripe

    from brokerdesk.tenants.config.services.psp import psp_credential_create

    credential = psp_credential_create(
        data={"name": "Stripe", "provider": "stripe", "settings": {"publishable_key": "pk_test"},
              "secrets": {"secret_key": "sk_test_1", "webhook_secret": "whsec_local"}},
        actor="tests",
    )  # fmt: skip
    method = method_make(credential, name="Card (Stripe)")
    trader = client_make()
    deposit = Deposit.objects.create(
        client=trader, method=method, provider="stripe", currency="USD", amount_minor=2_500,
        status=DepositStatus.PENDING, idempotency_key="k", request_sha256="-",
        psp_payment_id="pi_local_1",
    )  # fmt: skip
    payload = json.dumps({"id": "evt_9", "object": "event", "type": "payment_intent.succeeded",
                          "data": {"object": {"id": "pi_local_1", "object": "payment_intent",
                                              "amount": 2500, "amount_received": 2500,
                                              "currency": "usd", "status": "succeeded",
                                              "metadata": {"deposit": str(deposit.public_id)}}}})  # fmt: skip
    path = callback_path(credential)

    def post(secret: str) -> int:
        header = stripe.WebhookSignature.generate_signature_header(payload, secret)
        return tenant_client.post(path, data=payload, content_type="application/json",
                                  HTTP_STRIPE_SIGNATURE=header).status_code  # fmt: skip

    assert post("whsec_wrong") == 400
    assert [post("whsec_local") for _ in range(2)] == [200, 200]

    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.CREDITED
    assert ledger.wallet_ensure(client=trader, currency="USD").balance_minor == 2_500
    assert Transfer.objects.filter(code="deposit").count() == 1


def test_the_daily_run_opens_an_item_for_an_injected_difference_once(db, tenant_client):
    from datetime import UTC, datetime

    from brokerdesk.modules.payments.models import ReconciliationItem
    from brokerdesk.modules.payments.reconciliation import reconciliation_run

    with psp_sandbox("--hold", "1") as own:
        credential = sandbox_credential(own.url)
        setup = {"credential": credential, "method": method_make(credential),
                 "trader": client_make()}  # fmt: skip
        deposit = start(setup)
        own.pay(deposit.psp_payment_id)
        [body] = psp_callbacks(own, deposit)
        deliver(tenant_client, credential, body)
        today = datetime.now(UTC).date()
        clean = reconciliation_run(day=today)

        own.control("settle-as", {"payment_id": deposit.psp_payment_id, "amount": 4_990})
        found = reconciliation_run(day=today)
        rerun = reconciliation_run(day=today)

    no_platform = {"servers": 0, "trading_accounts": 0, "trading_accounts_skipped": 0}
    assert clean == {"accounts": 1, "differences": 0, "opened": 0, "errors": 0, **no_platform}
    assert found == {"accounts": 1, "differences": 1, "opened": 1, "errors": 0, **no_platform}
    assert rerun["opened"] == 0
    item = ReconciliationItem.objects.get()
    assert (item.kind, item.psp_minor, item.crm_minor, item.deposit_id) == (
        "amount_mismatch", 4_990, 5_000, deposit.pk)  # fmt: skip
