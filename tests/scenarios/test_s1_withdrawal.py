"""S1's withdrawal step through the sandbox PSP (SCENARIOS.md S1, issue 9 "Done when").

The real stack: the CRM under gunicorn (the PSP's callbacks arrive there), the sandbox PSP as
its own process, PostgreSQL. A trader who deposited by card is sent back to resubmission by
Compliance: with money in the wallet, their withdrawal through the real endpoint and page is
refused with the policy's reason (code ``kyc_state``, the state's own text) and nothing is
held. Once approved again, the same request is accepted, approved by Finance (above the amount
approved by rule), paid out through the sandbox PSP and completed; the ledger balances.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client, override_settings

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.kyc.cases import case_transition
from brokerdesk.modules.kyc.models import KycCase
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.ledger.models import AccountKind
from brokerdesk.modules.payments.models import (
    Deposit,
    DepositStatus,
    Withdrawal,
    WithdrawalRule,
    WithdrawalStatus,
)
from brokerdesk.tenants.schemas import tenant_context
from support.ledger import constraints_now
from support.live_server import gunicorn_serving
from support.payments import client_make, method_make, money_snapshot, sandbox_credential
from support.psp_sandbox import psp_sandbox
from support.rbac_actors import user_make

pytestmark = [pytest.mark.slow, pytest.mark.committed]

API = "/api/v1/payments/withdrawals/"
REFUSAL = (
    'Not possible while your verification is "Resubmission needed": Some documents need to be '
    "uploaded again: the reason is shown next to each."
)


def _wait(predicate: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _balances(trader: Any) -> tuple[int, int]:
    wallet = ledger.wallet_ensure(client=trader, currency="USD")
    return wallet.balance_minor, wallet.available_minor


@pytest.mark.timeout(300)
def test_s1_withdrawal_refused_before_approval_then_paid_through_the_psp(committed_tenant):
    host = committed_tenant.get_primary_domain().domain
    with psp_sandbox("--payout-delay-s", "0.1") as psp, tenant_context(committed_tenant):
        # Up to 50.00 approved by rule; the trader will ask for 80.00, so Finance decides.
        WithdrawalRule.objects.create(currency="USD", auto_approve_max_minor=5_000,
                                      second_approver_above_minor=100_000)  # fmt: skip
        method = method_make(sandbox_credential(psp.url), name="Visa / Mastercard",
                             withdrawals_enabled=True)  # fmt: skip
        trader = client_make("s1w-trader@broker.example")
        roles = default_roles_ensure()
        compliance = user_make("s1w-compliance@broker.example", roles=[roles["compliance"]])
        finance = user_make("s1w-finance@broker.example", roles=[roles["finance"]])
        trader_web, compliance_api, finance_web = (Client(HTTP_HOST=host) for _ in range(3))
        trader_web.force_login(trader)
        compliance_api.force_login(compliance)
        finance_web.force_login(finance)
        case = KycCase.objects.get(client=trader)
        body = {"method": str(method.public_id), "amount": "80.00", "currency": "USD"}

        with (
            gunicorn_serving(host) as port,
            override_settings(PAYMENTS_CALLBACK_BASE_URL=f"http://127.0.0.1:{port}"),
        ):
            # The trader deposited 200.00 by card while verified.
            trader_web.post("/deposit/", {"method": str(method.public_id), "amount": "200.00",
                                          "key": "s1w-deposit"})  # fmt: skip
            deposit = Deposit.objects.get(client=trader)
            psp.pay(deposit.psp_payment_id)
            _wait(lambda: Deposit.objects.get(pk=deposit.pk).status == DepositStatus.CREDITED)

            # Compliance asks for a new proof of address: the trader is no longer approved.
            sent_back = compliance_api.post(
                f"/api/v1/kyc/cases/{case.public_id}/decision/",
                {"event": "request_resubmission", "reason_code": "poa_too_old",
                 "reason": "older than 3 months"}, content_type="application/json",
            )  # fmt: skip
            assert sent_back.status_code == 200, sent_back.content

            # The withdrawal is refused with the policy's reason; nothing is held.
            before = money_snapshot()
            refused = trader_web.post(API, body, content_type="application/json",
                                      HTTP_IDEMPOTENCY_KEY="s1w-withdrawal")  # fmt: skip
            assert refused.status_code == 400
            assert refused.json() == {"non_field_errors": [REFUSAL], "code": "kyc_state"}
            policy = {row["action"]: row for row in trader_web.get("/api/v1/me/policy/").json()}
            assert policy["withdraw"]["code"] == "kyc_state"
            assert policy["withdraw"]["detail"] == {"state": "resubmission_needed"}
            page = trader_web.post("/withdraw/", {"method": str(method.public_id),
                                                  "amount": "80.00", "key": "s1w-page"})  # fmt: skip
            assert page.status_code == 400
            shown = page.content.decode().replace("&quot;", '"')
            assert REFUSAL in shown
            assert money_snapshot() == before and _balances(trader) == (20_000, 20_000)
            assert not Withdrawal.objects.exists()

            # The trader submits again and Compliance approves.
            case.refresh_from_db()
            case_transition(case=case, event="submit", actor=trader)
            approved = compliance_api.post(f"/api/v1/kyc/cases/{case.public_id}/decision/",
                                           {"event": "approve"}, content_type="application/json")  # fmt: skip
            assert approved.status_code == 200 and approved.json()["state"] == "approved"

            # The same request is accepted: held at once, then Finance approves it (over 50.00).
            accepted = trader_web.post(API, body, content_type="application/json",
                                       HTTP_IDEMPOTENCY_KEY="s1w-withdrawal")  # fmt: skip
            assert accepted.status_code == 201, accepted.content
            assert accepted.json()["status"] == WithdrawalStatus.UNDER_REVIEW
            assert accepted.json()["signals"] == ["over_auto_limit"]
            assert _balances(trader) == (20_000, 12_000)
            withdrawal = Withdrawal.objects.get(client=trader)
            decided = finance_web.post(
                f"/backoffice/payments/withdrawals/{withdrawal.public_id}/approve/"
            )
            assert decided.status_code == 302
            _wait(lambda: Withdrawal.objects.get(pk=withdrawal.pk).status
                  == WithdrawalStatus.COMPLETED)  # fmt: skip

            stage = trader_web.get(f"/withdraw/{withdrawal.public_id}/").content.decode()
            assert "Completed: the money was paid out." in stage

        # Paid once; the ledger balances: wallet 120.00, nothing left pending.
        assert _balances(trader) == (12_000, 12_000)
        outgoing = ledger.account_ensure(kind=AccountKind.PENDING_WITHDRAWALS, currency="USD")
        outgoing.refresh_from_db()
        assert (outgoing.debits_pending, outgoing.credits_pending) == (0, 0)
        withdrawal.refresh_from_db()
        assert psp.control("payment", {"payment_id": withdrawal.psp_payout_id})["status"] == "paid"
        constraints_now()
        trail = [
            (e.action.removeprefix("payments.withdrawal."), e.actor_label)
            for e in AuditEntry.objects.filter(target_type="withdrawal").order_by("sequence")
        ]
        assert trail == [
            ("request", trader.email),
            ("review", "rules"),
            ("approve", finance.email),
            ("send", "payments"),
            ("completed", "psp:sandbox"),
        ]
