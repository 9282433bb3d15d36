"""The Web API handshake: the official test vectors, against the client and the simulator."""

from __future__ import annotations

import http.client
import json

import pytest

from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.gateways.mt5 import auth, session

# webapi_rest_authentication: the official example, password "Password1".
PASSWORD = "Password1"
PASSWORD_HASH = "904ba8ecb16273d2f0ae9c3b8a023752"
SRV_RAND = "73007dc7184747ce0f7c98516ef1c851"
SRV_RAND_ANSWER = "77fe51827f7fa69dd80fbec9aa33f1bb"
CLI_RAND = "4db98fec17aab4dc5a240bdc659e8395"
CLI_RAND_ANSWER = "1732021b1b332f51660b2b315eed3a35"


def test_the_password_hash_is_the_official_one():
    assert auth.password_hash(PASSWORD).hex() == PASSWORD_HASH


def test_the_answers_to_both_challenges_are_the_official_ones():
    assert auth.rand_answer(PASSWORD, bytes.fromhex(SRV_RAND)) == SRV_RAND_ANSWER
    assert auth.rand_answer(PASSWORD, bytes.fromhex(CLI_RAND)) == CLI_RAND_ANSWER


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, dict]:
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def test_the_simulator_accepts_the_official_answer_and_gives_the_official_one(mt5_sim):
    mt5_sim.control("next-srv-rand", {"srv_rand": SRV_RAND})
    conn = http.client.HTTPConnection("127.0.0.1", mt5_sim.port, timeout=5)

    status, start = _get(conn, "/api/auth/start?version=4330&agent=test&login=1000&type=manager")
    status2, answer = _get(
        conn, f"/api/auth/answer?srv_rand_answer={SRV_RAND_ANSWER}&cli_rand={CLI_RAND}"
    )
    status3, total = _get(conn, "/api/user/total")
    conn.close()

    assert (status, start["retcode"], start["srv_rand"]) == (200, "0 Done", SRV_RAND)
    assert (status2, answer["retcode"], answer["cli_rand_answer"]) == (
        200,
        "0 Done",
        CLI_RAND_ANSWER,
    )
    assert (status3, total["retcode"]) == (200, "0 Done")


def test_the_client_sends_the_official_answer_and_checks_the_official_one(
    mt5_sim, gateway, monkeypatch
):
    mt5_sim.control("next-srv-rand", {"srv_rand": SRV_RAND})
    monkeypatch.setattr(session.auth, "rand_new", lambda: bytes.fromhex(CLI_RAND))

    gateway.ping()

    handshake = mt5_sim.control("handshakes")["handshakes"][-1]
    assert handshake == {
        "srv_rand": SRV_RAND,
        "srv_rand_answer": SRV_RAND_ANSWER,
        "cli_rand": CLI_RAND,
        "cli_rand_answer": CLI_RAND_ANSWER,
    }
    assert gateway.session.authenticated


def test_the_simulator_refuses_a_wrong_answer_and_keeps_the_connection_unauthenticated(mt5_sim):
    conn = http.client.HTTPConnection("127.0.0.1", mt5_sim.port, timeout=5)

    _get(conn, "/api/auth/start?version=4330&agent=test&login=1000&type=manager")
    _, answer = _get(conn, f"/api/auth/answer?srv_rand_answer={'0' * 32}&cli_rand={CLI_RAND}")
    status, refused = _get(conn, "/api/user/total")
    conn.close()

    assert answer["retcode"] == "3006 Invalid account password"
    assert "cli_rand_answer" not in answer
    assert (status, refused["retcode"]) == (403, "8 Not enough permissions")


@pytest.mark.parametrize(
    "query, retcode",
    [
        ("version=4330&agent=test&login=999&type=manager", "1001 Invalid account"),
        ("version=100&agent=test&login=1000&type=manager", "3 Invalid parameters"),
        ("version=4330&agent=two%20words&login=1000&type=manager", "3 Invalid parameters"),
        ("version=4330&agent=test&login=1000&type=client", "1024 Connection type not permitted"),
    ],
)
def test_the_simulator_checks_the_start_of_the_handshake(mt5_sim, query, retcode):
    conn = http.client.HTTPConnection("127.0.0.1", mt5_sim.port, timeout=5)

    _, start = _get(conn, f"/api/auth/start?{query}")
    conn.close()

    assert start["retcode"] == retcode and "srv_rand" not in start


def test_commands_on_a_connection_that_never_authenticated_are_refused(mt5_sim):
    conn = http.client.HTTPConnection("127.0.0.1", mt5_sim.port, timeout=5)

    status, answer = _get(conn, "/api/user/get?login=500000")
    conn.close()

    assert (status, answer["retcode"]) == (403, "8 Not enough permissions")


def test_the_client_refuses_a_server_that_fails_the_mutual_check(mt5_sim, gateway):
    mt5_sim.faults(impostor=1)
    before = mt5_sim.requests_count()

    with pytest.raises(base.PlatformAuthError) as caught:
        gateway.accounts_list()

    assert caught.value.code == 1008
    sent = [line.split("?")[0] for line in mt5_sim.requests_since(before)]
    assert sent == ["GET /api/auth/start", "GET /api/auth/answer"]  # no command went out
    assert not gateway.session.authenticated


def test_a_wrong_manager_password_is_an_authentication_error(mt5_sim, gateway_for):
    gateway = gateway_for(mt5_sim, password="Password2")

    with pytest.raises(base.PlatformAuthError) as caught:
        gateway.ping()

    assert caught.value.code == 3006


def test_an_unknown_manager_is_an_authentication_error(mt5_sim, gateway_for):
    gateway = gateway_for(mt5_sim, manager_login=999)

    with pytest.raises(base.PlatformAuthError) as caught:
        gateway.ping()

    assert caught.value.code == 1001
