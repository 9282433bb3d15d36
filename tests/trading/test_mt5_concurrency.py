"""One manager session shared by many threads: commands are serialised, none is lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from support.mt5_simulator import deposit, new_account


def test_parallel_balance_operations_on_one_session_each_land_exactly_once(mt5_sim, gateway):
    account = gateway.account_create(new_account())
    operations = [deposit(account.login, 100 + n) for n in range(24)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        receipts = list(pool.map(gateway.balance_operation, operations))

    on_server = mt5_sim.account(account.login)["balance_deals"]
    assert sorted(r.ticket for r in receipts) == sorted(int(d["Deal"]) for d in on_server)
    assert sorted(d["Comment"] for d in on_server) == sorted(op.comment for op in operations)
    assert gateway.account_get(account.login).balance_minor == sum(100 + n for n in range(24))
    assert gateway.session.authentications == 1


def test_parallel_reads_survive_a_dropped_session(mt5_sim, gateway):
    account = gateway.account_create(new_account())

    def read(n: int) -> int:
        if n == 10:
            mt5_sim.control("drop-sessions")
        return gateway.account_get(account.login).login

    with ThreadPoolExecutor(max_workers=6) as pool:
        logins = list(pool.map(read, range(30)))

    assert logins == [account.login] * 30
    assert gateway.session.authentications == 2
