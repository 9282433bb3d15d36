"""Callbacks and polls racing over deposits bound for trading accounts, in real parallel
transactions (issue 9, item 1): each deposit is credited once and reaches its account by
exactly one balance operation on the MT5 simulator (its own process)."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from brokerdesk.modules.ledger import services as ledger
from brokerdesk.modules.ledger.models import Transfer
from brokerdesk.modules.ledger.selectors import ledger_verify
from brokerdesk.modules.payments.deposits import deposit_apply
from brokerdesk.modules.payments.models import Deposit, DepositAccountStatus, DepositStatus
from brokerdesk.modules.payments.psp.base import PspStatus, PspUpdate
from brokerdesk.modules.trading.balance import mirror_of
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.modules.trading.sync_models import BalanceOperation
from brokerdesk.tenants.schemas import tenant_context
from support.ledger import refreshed
from support.mt5_simulator import mt5_simulator
from support.payments import client_make, method_make, sandbox_credential
from support.trading_sync import account_open, balance_deals, server_make

pytestmark = [pytest.mark.slow, pytest.mark.committed]

DEPOSITS = 12
REPORTS_EACH = 4  # two callbacks and two polls per deposit, all at once


@pytest.mark.timeout(300)
def test_racing_callbacks_and_polls_make_one_balance_operation_per_deposit(committed_tenant):
    rng = random.Random(9)
    with mt5_simulator() as mt5, tenant_context(committed_tenant):
        credential = sandbox_credential("http://127.0.0.1:9")  # no PSP call is made here
        method = method_make(credential, fee_fixed_minor=100)
        server = server_make(mt5)
        trader = client_make()
        accounts = [account_open(server, client=trader) for _ in range(3)]
        deposits = [
            Deposit.objects.create(
                client=trader, method=method, provider="sandbox", currency="USD",
                amount_minor=10_000 + i, fee_minor=100, status=DepositStatus.PENDING,
                idempotency_key=f"race-{i}", request_sha256="-", psp_payment_id=f"pay_race_{i}",
                target_account=accounts[i % 3], account_status=DepositAccountStatus.WAITING,
            )
            for i in range(DEPOSITS)
        ]  # fmt: skip
        reports = [(d, source) for d in deposits for source in ("callback", "poll") * 2]
        assert len(reports) == DEPOSITS * REPORTS_EACH
        rng.shuffle(reports)

        def report(item: tuple[Deposit, str]) -> str:
            deposit, source = item
            update = PspUpdate(status=PspStatus.APPROVED, psp_payment_id=deposit.psp_payment_id,
                               merchant_ref=str(deposit.public_id),
                               amount_minor=deposit.amount_minor, currency="USD",
                               status_raw="approved")  # fmt: skip
            try:
                with tenant_context(committed_tenant):
                    outcome, _ = deposit_apply(update=update, provider="sandbox", source=source,
                                               credential=credential)  # fmt: skip
                return outcome
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(report, reports))

        assert outcomes.count("applied") == DEPOSITS
        assert Transfer.objects.filter(code="deposit").count() == DEPOSITS
        for deposit in deposits:
            deposit.refresh_from_db()
            assert deposit.status == DepositStatus.CREDITED
            assert deposit.account_status == DepositAccountStatus.COMPLETED, deposit.account_error
        assert BalanceOperation.objects.count() == DEPOSITS
        for index, account in enumerate(accounts):
            expected = sum(10_000 + i - 100 for i in range(index, DEPOSITS, 3))
            assert len(balance_deals(mt5, account.login)) == DEPOSITS // 3
            assert gateway_for(server).account_get(account.login).balance_minor == expected
            assert refreshed(mirror_of(account)).balance_minor == expected
        assert ledger.wallet_ensure(client=trader, currency="USD").balance_minor == 0
        report = ledger_verify()
        assert report.ok, report
    connection.set_schema_to_public()
