"""Any sequence of money operations and trading keeps the simulator's books consistent.

Driven through the client against the simulator process: the balance always equals the sum
of the account's deals, the server's own check agrees, and a withdrawal is refused exactly
when it exceeds what the account holds.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.gateways.mt5.client import Mt5Gateway
from brokerdesk.modules.trading.gateways.mt5.session import Mt5Session
from support.mt5_simulator import connection_to, deposit, mt5_simulator, new_account

pytestmark = pytest.mark.slow  # some twenty seconds of round trips to the simulator

AMOUNTS = st.integers(min_value=1, max_value=5_000_000)


@pytest.fixture(scope="module")
def books_sim():
    with mt5_simulator() as sim:
        yield sim


def test_the_books_stay_consistent_under_any_sequence(books_sim):
    connection = connection_to(books_sim)
    gateway = Mt5Gateway(connection, session=Mt5Session(connection))

    class Books(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.login = gateway.account_create(new_account()).login

        def _read(self) -> base.Account:
            return gateway.account_get(self.login)

        @rule(amount=AMOUNTS)
        def deposit(self, amount: int) -> None:
            before = self._read().balance_minor
            gateway.balance_operation(deposit(self.login, amount))
            assert self._read().balance_minor == before + amount

        @rule(amount=AMOUNTS)
        def withdraw(self, amount: int) -> None:
            before = self._read()
            op = deposit(self.login, -amount, check_margin=False)
            if amount > before.balance_minor:
                with pytest.raises(base.PlatformNoMoney):
                    gateway.balance_operation(op)
                assert self._read().balance_minor == before.balance_minor
            else:
                gateway.balance_operation(op)
                assert self._read().balance_minor == before.balance_minor - amount

        @rule(amount=AMOUNTS, take_back=st.booleans())
        def credit(self, amount: int, take_back: bool) -> None:
            before = self._read().credit_minor
            kind = base.BalanceKind.CREDIT
            if take_back and amount > before:
                with pytest.raises(base.PlatformNoMoney):
                    gateway.balance_operation(deposit(self.login, -amount, kind=kind))
                assert self._read().credit_minor == before
                return
            signed = -amount if take_back else amount
            gateway.balance_operation(deposit(self.login, signed, kind=kind, check_margin=False))
            assert self._read().credit_minor == before + signed

        @rule(deals=st.integers(min_value=1, max_value=15))
        def trade(self, deals: int) -> None:
            books_sim.activity(login=self.login, deals=deals)

        @invariant()
        def balance_is_the_sum_of_the_deals(self) -> None:
            account = self._read()
            deals = list(
                gateway.deals(
                    self.login,
                    since=account.registered_at,
                    until=account.registered_at.replace(year=2100),
                )
            )
            balance = sum(
                d.profit_minor + d.commission_minor + d.storage_minor
                for d in deals
                if d.action != base.DealAction.CREDIT
            )
            credit = sum(d.profit_minor for d in deals if d.action == base.DealAction.CREDIT)
            assert (account.balance_minor, account.credit_minor) == (balance, credit)

        @invariant()
        def the_servers_own_check_agrees(self) -> None:
            check = gateway.session.call("user/check_balance", {"login": self.login, "fixflag": 0})
            assert check["Balance"]["User"] == check["Balance"]["History"]
            assert check["Credit"]["User"] == check["Credit"]["History"]

    try:
        run_state_machine_as_test(
            Books,
            settings=settings(
                max_examples=4,
                stateful_step_count=10,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    finally:
        gateway.close()
