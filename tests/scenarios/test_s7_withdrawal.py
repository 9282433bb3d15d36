"""S7 — Withdrawal from pending to approved, with its trail (SCENARIOS.md).

The real stack: the CRM under gunicorn (the PSP's callbacks arrive there), the sandbox PSP as
its own process, PostgreSQL. A small withdrawal by a trusted, verified client is approved by
rule and paid; a large one needs two different approvers; one after a recent device change
stops for review with that signal named. The log shows each step, actor and time.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client, override_settings

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import Device
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.payments.models import (
    Deposit,
    DepositStatus,
    Withdrawal,
    WithdrawalRule,
    WithdrawalStatus,
)
from brokerdesk.tenants.schemas import tenant_context
from support.live_server import gunicorn_serving
from support.payments import client_make, method_make, sandbox_credential
from support.psp_sandbox import psp_sandbox
from support.rbac_actors import user_make

pytestmark = [pytest.mark.slow, pytest.mark.committed]


def _wait(predicate: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _status(w: Withdrawal) -> str:
    return Withdrawal.objects.get(pk=w.pk).status


@pytest.mark.timeout(300)
def test_s7_withdrawals_by_rule_by_two_approvers_and_stopped_by_a_signal(committed_tenant):
    host = committed_tenant.get_primary_domain().domain
    with psp_sandbox("--payout-delay-s", "0.1") as psp, tenant_context(committed_tenant):
        WithdrawalRule.objects.create(currency="USD", auto_approve_max_minor=50_000,
                                      second_approver_above_minor=100_000)  # fmt: skip
        method = method_make(sandbox_credential(psp.url), name="Visa / Mastercard",
                             withdrawals_enabled=True)  # fmt: skip
        trader = client_make("s7-trader@broker.example")
        # client_make: e-mail verified, KYC approved (the policy engine lets them withdraw).
        roles = default_roles_ensure()
        anna = user_make("anna.finance@broker.example", roles=[roles["finance"]])
        ben = user_make("ben.finance@broker.example", roles=[roles["finance"]])
        trader_web, anna_web, ben_web = (Client(HTTP_HOST=host) for _ in range(3))
        trader_web.force_login(trader)
        anna_web.force_login(anna)
        ben_web.force_login(ben)

        with (
            gunicorn_serving(host) as port,
            override_settings(PAYMENTS_CALLBACK_BASE_URL=f"http://127.0.0.1:{port}"),
        ):
            # The trader deposits 3,000.00 by card (the PSP's callback credits it).
            trader_web.post("/deposit/", {"method": str(method.public_id), "amount": "3000.00",
                                          "key": "s7-deposit"})  # fmt: skip
            deposit = Deposit.objects.get(client=trader)
            psp.pay(deposit.psp_payment_id)
            _wait(lambda: Deposit.objects.get(pk=deposit.pk).status == DepositStatus.CREDITED)

            def withdraw(amount: str, key: str) -> Withdrawal:
                answer = trader_web.post("/withdraw/", {"method": str(method.public_id),
                                                        "amount": amount, "key": key})  # fmt: skip
                assert answer.status_code == 302, answer.content.decode()[:2000]
                return Withdrawal.objects.get(client=trader, idempotency_key=key)

            # 1. Small, verified, no signal: approved by rule, sent, paid.
            small = withdraw("100.00", "s7-small")
            assert small.auto_approved and small.signals == []
            _wait(lambda: _status(small) == WithdrawalStatus.COMPLETED)
            page = trader_web.get(f"/withdraw/{small.public_id}/").content.decode()
            assert "Completed: the money was paid out." in page

            # 2. Large: two different approvers.
            large = withdraw("1500.00", "s7-large")
            assert large.status == WithdrawalStatus.UNDER_REVIEW and large.needs_second_approval
            held = ledger.wallet_ensure(client=trader, currency="USD")
            assert (held.balance_minor, held.available_minor) == (290_000, 140_000)
            approve = f"/backoffice/payments/withdrawals/{large.public_id}/approve/"
            assert anna_web.post(approve).status_code == 302
            assert _status(large) == WithdrawalStatus.UNDER_REVIEW  # one of two
            again = anna_web.post(approve)
            assert again.status_code == 400
            assert "second, different approver" in again.content.decode()
            assert ben_web.post(approve).status_code == 302
            _wait(lambda: _status(large) == WithdrawalStatus.COMPLETED)

            # 3. After a device change: stopped for review, the signal named.
            Device.objects.create(user=trader, key_hash="d" * 64, label="New laptop",
                                  flagged_new=True)  # fmt: skip
            stopped = withdraw("50.00", "s7-device")
            assert stopped.status == WithdrawalStatus.UNDER_REVIEW
            assert stopped.signals == ["recent_device_change"]
            queue = anna_web.get("/backoffice/payments/withdrawals/").content.decode()
            row = queue.split(f'data-withdrawal="{stopped.public_id}"')[1].split("</tr>")[0]
            assert "recent_device_change" in row
            assert "Under review by our finance team" in trader_web.get(
                f"/withdraw/{stopped.public_id}/").content.decode()  # fmt: skip

        wallet = ledger.wallet_ensure(client=trader, currency="USD")
        assert (wallet.balance_minor, wallet.available_minor) == (140_000, 135_000)
        trail = {
            w.idempotency_key: [
                (e.action.removeprefix("payments.withdrawal."), e.actor_label)
                for e in AuditEntry.objects.filter(target_type="withdrawal",
                                                   target_public_id=str(w.public_id))
                .order_by("sequence")
            ]
            for w in Withdrawal.objects.filter(client=trader)
        }  # fmt: skip
        assert trail == {
            "s7-small": [("request", trader.email), ("approve_rule", "rules"),
                         ("send", "payments"), ("completed", "psp:sandbox")],
            "s7-large": [("request", trader.email), ("review", "rules"),
                         ("approve_first", anna.email), ("approve", ben.email),
                         ("send", "payments"), ("completed", "psp:sandbox")],
            "s7-device": [("request", trader.email), ("review", "rules")],
        }  # fmt: skip
        assert (
            AuditEntry.objects.filter(target_type="withdrawal", occurred_at__isnull=True).count()
            == 0
        )
