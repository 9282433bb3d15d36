"""Accounts and groups through the MT5 client, against the simulator process."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokerdesk.modules.trading.gateways import base
from support.mt5_simulator import GROUP, deposit, mt5_simulator, new_account


def test_an_account_is_created_with_what_was_asked_and_reads_back_the_same(mt5_sim, gateway):
    created = gateway.account_create(
        new_account(name="Ada Lovelace", leverage=200, email="ada@example.com", country="GB")
    )

    read = gateway.account_get(created.login)
    on_server = mt5_sim.account(created.login)["user"]
    assert created == read
    assert (read.group, read.name, read.leverage, read.currency) == (
        GROUP,
        "Ada Lovelace",
        200,
        "USD",
    )
    assert (read.balance_minor, read.equity_minor, read.margin_minor) == (0, 0, 0)
    assert read.enabled and read.trading_enabled
    assert (on_server["Email"], on_server["Country"], on_server["Leverage"]) == (
        "ada@example.com",
        "GB",
        "200",
    )


def test_the_server_allocates_logins_and_refuses_a_taken_one(mt5_sim, gateway):
    first = gateway.account_create(new_account())
    accounts_before = mt5_sim.stats()["accounts"]

    with pytest.raises(base.PlatformAccountExists) as caught:
        gateway.account_create(new_account(login=first.login))

    assert (caught.value.code, caught.value.field) == (3004, "login")
    assert mt5_sim.stats()["accounts"] == accounts_before


def test_a_group_that_does_not_exist_is_named_and_nothing_is_created(mt5_sim, gateway):
    accounts_before = mt5_sim.stats()["accounts"]

    with pytest.raises(base.PlatformGroupNotFound) as caught:
        gateway.account_create(new_account(group="real\\nothing-here"))

    assert caught.value.field == "group" and "real\\nothing-here" in str(caught.value)
    assert mt5_sim.stats()["accounts"] == accounts_before


@pytest.mark.parametrize(
    "password", ["Sh0rt!a", "alllowercase1!", "NoDigits!!x", "NoSymbol123", "Waytoolong-Pass123"]
)
def test_a_password_the_server_rejects_is_a_clear_error_and_nothing_is_created(
    mt5_sim, gateway, password
):
    accounts_before = mt5_sim.stats()["accounts"]

    with pytest.raises(base.PlatformPasswordRejected) as caught:
        gateway.account_create(new_account(password_main=password))

    assert (caught.value.code, caught.value.field) == (3006, "password_main")
    assert mt5_sim.stats()["accounts"] == accounts_before


def test_an_account_without_a_name_is_refused_before_anything_is_sent(mt5_sim, gateway):
    gateway.ping()
    before = mt5_sim.requests_count()

    with pytest.raises(base.PlatformInvalidRequest) as caught:
        gateway.account_create(new_account(name="  "))

    assert caught.value.field == "name"
    assert mt5_sim.requests_since(before) == []


@pytest.mark.parametrize("leverage", [0, 501])
def test_a_leverage_outside_the_servers_range_is_refused(mt5_sim, gateway, leverage):
    accounts_before = mt5_sim.stats()["accounts"]

    with pytest.raises(base.PlatformInvalidRequest) as caught:
        gateway.account_create(new_account(leverage=leverage))

    assert (caught.value.code, caught.value.field) == (3, "leverage")
    assert mt5_sim.stats()["accounts"] == accounts_before


def test_an_update_changes_only_the_fields_given(mt5_sim, gateway):
    account = gateway.account_create(new_account(name="Before", email="before@example.com"))

    updated = gateway.account_update(
        account.login, base.AccountChanges(name="After", leverage=50, group="real\\ecn-usd")
    )

    assert (updated.name, updated.leverage, updated.group) == ("After", 50, "real\\ecn-usd")
    assert updated.email == "before@example.com"
    assert gateway.account_get(account.login) == updated


def test_an_update_the_server_ignores_is_reported_not_swallowed(mt5_sim, gateway):
    account = gateway.account_create(new_account(leverage=100))

    with pytest.raises(base.PlatformInvalidRequest) as caught:
        gateway.account_update(account.login, base.AccountChanges(leverage=1000))

    assert caught.value.field == "leverage"
    assert gateway.account_get(account.login).leverage == 100


def test_moving_an_account_to_a_group_that_does_not_exist_changes_nothing(mt5_sim, gateway):
    account = gateway.account_create(new_account())

    with pytest.raises(base.PlatformGroupNotFound):
        gateway.account_update(account.login, base.AccountChanges(group="real\\missing", name="X"))

    assert gateway.account_get(account.login) == account


def test_an_unknown_login_is_not_found(gateway):
    with pytest.raises(base.PlatformNotFound) as caught:
        gateway.account_get(499_999)

    assert caught.value.code == 13


def test_trading_is_disabled_and_enabled_on_the_server(mt5_sim, gateway):
    account = gateway.account_create(new_account())

    disabled = gateway.trading_set(account.login, enabled=False)
    rights_disabled = int(mt5_sim.account(account.login)["user"]["Rights"])
    enabled = gateway.trading_set(account.login, enabled=True)
    rights_enabled = int(mt5_sim.account(account.login)["user"]["Rights"])

    assert not disabled.trading_enabled and rights_disabled & 0x4
    assert enabled.trading_enabled and not rights_enabled & 0x4
    assert enabled.enabled and rights_enabled & 0x1


def test_a_disabled_account_does_not_trade_in_the_simulated_activity(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    gateway.balance_operation(deposit(account.login, 1_000_000))
    gateway.trading_set(account.login, enabled=False)

    assert mt5_sim.activity(login=account.login, deals=5) == 0
    gateway.trading_set(account.login, enabled=True)
    assert mt5_sim.activity(login=account.login, deals=5) == 5


def test_an_account_login_is_disabled_and_enabled(mt5_sim, gateway):
    account = gateway.account_create(new_account())

    assert not gateway.login_set(account.login, enabled=False).enabled
    assert gateway.login_set(account.login, enabled=True).enabled


def test_passwords_change_and_check_on_the_server(gateway):
    account = gateway.account_create(new_account(password_main="Main-Pass1"))

    gateway.password_change(account.login, base.PasswordKind.MAIN, "Fresh-Pass2")

    assert gateway.password_check(account.login, base.PasswordKind.MAIN, "Fresh-Pass2")
    assert not gateway.password_check(account.login, base.PasswordKind.MAIN, "Main-Pass1")
    assert gateway.password_check(account.login, base.PasswordKind.INVESTOR, "Invest-Pass1")
    with pytest.raises(base.PlatformPasswordRejected):
        gateway.password_change(account.login, base.PasswordKind.MAIN, "weak")


def test_passwords_never_appear_in_a_request_line(mt5_sim, gateway):
    before = mt5_sim.requests_count()
    account = gateway.account_create(
        new_account(password_main="Secret-Main9", password_investor="Secret-Inv9")
    )
    gateway.password_change(account.login, base.PasswordKind.MAIN, "Secret-New9")
    gateway.password_check(account.login, base.PasswordKind.MAIN, "Secret-New9")

    lines = mt5_sim.requests_since(before)
    assert [line.split("?")[0] for line in lines if "password" in line or "add" in line] == [
        "POST /api/user/add",
        "POST /api/user/change_password",
        "POST /api/user/check_password",
    ]
    assert not [line for line in lines if "Secret" in line or "pass_" in line.lower()]


def test_an_account_without_open_trades_can_be_deleted(mt5_sim, gateway):
    account = gateway.account_create(new_account())

    gateway.account_delete(account.login)

    with pytest.raises(base.PlatformNotFound):
        gateway.account_get(account.login)


def test_groups_are_listed_with_their_currency_and_looked_up_by_name(gateway):
    groups = {group.name: group for group in gateway.groups()}

    assert groups["real\\standard-eur"].currency == "EUR"
    assert groups["real\\standard-usd"].currency_digits == 2
    assert gateway.group("real\\ecn-usd") == groups["real\\ecn-usd"]
    with pytest.raises(base.PlatformGroupNotFound):
        gateway.group("real\\nope")


def test_more_than_a_hundred_groups_are_paged(gateway_for):
    config = {"groups": [{"name": f"real\\g{n:03d}", "currency": "USD"} for n in range(230)]}
    with mt5_simulator(config=config) as sim:
        gateway = gateway_for(sim)

        names = [group.name for group in gateway.groups()]

    assert names == [f"real\\g{n:03d}" for n in range(230)]


def test_accounts_are_listed_by_group_mask(gateway):
    usd = gateway.account_create(new_account(group="real\\micro-usd"))
    eur = gateway.account_create(new_account(group="real\\standard-eur"))

    micro = gateway.accounts_list("real\\micro-*")
    all_but_micro = gateway.accounts_list("real\\*,!real\\micro-*")

    assert usd.login in micro and eur.login not in micro
    assert eur.login in all_but_micro and usd.login not in all_but_micro


def test_a_manager_without_the_rights_is_refused_with_a_clear_error(gateway_for):
    config = {
        "managers": [
            {"login": 1000, "password": "Password1"},
            {
                "login": 1001,
                "password": "Password1",
                "permissions": ["trades"],
                "groups": "*,!real\\ecn-*",
            },
        ]
    }
    with mt5_simulator(config=config) as sim:
        admin, clerk = gateway_for(sim), gateway_for(sim, manager_login=1001)
        account = admin.account_create(new_account())
        hidden = admin.account_create(new_account(group="real\\ecn-usd"))

        with pytest.raises(base.PlatformPermissionDenied) as caught:
            clerk.account_create(new_account(group="demo\\standard-usd"))
        with pytest.raises(base.PlatformPermissionDenied):
            clerk.balance_operation(deposit(account.login, 100))
        with pytest.raises(base.PlatformNotFound):
            clerk.account_get(hidden.login)  # outside the clerk's group masks

        assert caught.value.code == 8
        assert clerk.account_get(account.login).balance_minor == 0
        assert sim.stats()["accounts"] == 2
        assert sim.account(account.login)["balance_deals"] == []


def test_an_eur_account_reports_money_in_its_own_currency(gateway):
    account = gateway.account_create(new_account(group="real\\standard-eur"))

    gateway.balance_operation(deposit(account.login, 123_456))

    read = gateway.account_get(account.login)
    assert (read.currency, read.balance_minor, read.equity_minor) == ("EUR", 123_456, 123_456)
    assert read.margin_level_percent is None and Decimal(0) == read.margin_minor
