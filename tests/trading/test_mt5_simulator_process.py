"""The simulator as a command: its options, its configuration file and its control surface."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brokerdesk.modules.trading.gateways import base
from support.mt5_simulator import deposit, mt5_simulator, new_account

VENV_BIN = Path(sys.executable).parent


def _far() -> dict[str, datetime]:
    now = datetime.now(UTC)
    return {"since": now - timedelta(days=1), "until": now + timedelta(days=1)}


def test_the_command_describes_itself_without_any_crm_configuration():
    result = subprocess.run(
        [str(VENV_BIN / "brokerdesk"), "mt5-sim", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},  # no DATABASE_URL, no settings: it stands outside
        cwd="/",
    )

    assert result.returncode == 0, result.stderr
    assert "--commit-then-drop" in result.stdout and "--protocol" in result.stdout


def test_a_configuration_file_seeds_groups_managers_and_funded_accounts(gateway_for):
    config = {
        "logins": [700000, 700001],
        "groups": [{"name": "real\\jpy", "currency": "JPY", "digits": 0}],
        "accounts": [
            {"login": 700000, "group": "real\\jpy", "name": "Seeded", "balance": "150000"}
        ],
    }
    with mt5_simulator(config=config) as sim:
        gateway = gateway_for(sim)

        seeded = gateway.account_get(700000)
        second = gateway.account_create(new_account(group="real\\jpy"))
        with pytest.raises(base.PlatformLimitExceeded) as exhausted:
            gateway.account_create(new_account(group="real\\jpy"))
        traded = sim.activity(login=700000, deals=20)
        after = gateway.account_get(700000)

    assert (seeded.name, seeded.currency, seeded.currency_digits) == ("Seeded", "JPY", 0)
    assert seeded.balance_minor == 150_000
    assert second.login == 700001 and exhausted.value.code == 3002
    assert traded == 20 and after.balance_minor != 150_000


def test_background_activity_trades_on_its_own(gateway_for):
    config = {"accounts": [{"group": "real\\standard-usd", "name": "Active", "balance": "50000"}]}
    with mt5_simulator(
        "--activity-interval-s", "0.2", "--activity-deals", "3", config=config
    ) as sim:
        time.sleep(2.0)

        stats = sim.stats()

    assert stats["deals"] > 1 + 6  # the seed deposit, then at least a few ticks of trading


def test_the_control_surface_requires_its_token(mt5_sim):
    request = urllib.request.Request(
        f"http://{mt5_sim.address}/_sim/stats", data=b"{}", method="POST"
    )

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)

    assert refused.value.code == 403


def test_an_unknown_fault_switch_is_refused_and_nothing_changes(mt5_sim):
    before = mt5_sim.faults()

    with pytest.raises(urllib.error.HTTPError) as refused:
        mt5_sim.faults(no_such_switch=1)

    assert refused.value.code == 400
    assert mt5_sim.faults() == before


def test_an_unknown_command_is_not_found(mt5_sim, gateway):
    gateway.ping()

    with pytest.raises(base.PlatformError) as caught:
        gateway.session.call("dealer/send_request", body={"Action": 200})

    assert "HTTP 404" in str(caught.value)


def test_the_eur_account_profits_are_converted_exactly(mt5_sim, gateway):
    account = gateway.account_create(new_account(group="real\\standard-eur"))
    gateway.balance_operation(deposit(account.login, 1_000_000))
    mt5_sim.activity(login=account.login, deals=40)

    deals = list(
        gateway.deals(
            account.login,
            since=account.registered_at,
            until=account.registered_at.replace(year=2100),
        )
    )

    settled = sum(d.profit_minor + d.commission_minor + d.storage_minor for d in deals)
    assert settled == gateway.account_get(account.login).balance_minor
    assert all(isinstance(d.profit_minor, int) for d in deals)


def test_a_state_file_keeps_the_books_across_a_restart(tmp_path, gateway_for):
    state_file = str(tmp_path / "sim-state.json")
    with mt5_simulator("--state-file", state_file) as sim:
        gateway = gateway_for(sim)
        account = gateway.account_create(new_account(name="Survivor", password_main="Keep-Me-1"))
        gateway.balance_operation(deposit(account.login, 250_000))
        sim.activity(login=account.login, deals=30)
        before = gateway.account_get(account.login)
        deals_before = [d.ticket for d in gateway.deals(account.login, **_far())]
        positions_before = [p.ticket for p in gateway.positions(account.login)]

    with mt5_simulator("--state-file", state_file) as sim:
        gateway = gateway_for(sim)
        after = gateway.account_get(account.login)
        deals_after = [d.ticket for d in gateway.deals(account.login, **_far())]
        positions_after = [p.ticket for p in gateway.positions(account.login)]
        newcomer = gateway.account_create(new_account())
        receipt = gateway.balance_operation(deposit(newcomer.login, 100))
        password_kept = gateway.password_check(account.login, base.PasswordKind.MAIN, "Keep-Me-1")

    assert after == before and after.name == "Survivor"
    assert deals_after == deals_before and positions_after == positions_before
    assert newcomer.login > account.login and receipt.ticket > max(deals_before)
    assert password_kept
