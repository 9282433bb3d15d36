"""The Web API is HTTPS-only on real servers: the client over TLS, against the simulator."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from brokerdesk.modules.trading.gateways import base
from support.mt5_simulator import deposit, mt5_simulator, new_account


def _self_signed(folder) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mt5-sim.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def tls_sim(tmp_path_factory):
    cert, key = _self_signed(tmp_path_factory.mktemp("tls"))
    with mt5_simulator(tls=(cert, key)) as sim:
        yield sim


def test_the_client_works_over_tls_and_reauthenticates_on_a_new_tls_connection(
    tls_sim, gateway_for
):
    gateway = gateway_for(tls_sim, scheme="https", verify_tls=tls_sim.cafile)
    account = gateway.account_create(new_account())
    gateway.balance_operation(deposit(account.login, 5_000))

    tls_sim.control("drop-sessions")
    read = gateway.account_get(account.login)

    assert read.balance_minor == 5_000
    assert gateway.session.authentications == 2


def test_commit_then_drop_over_tls_ends_with_exactly_one_effect(tls_sim, gateway_for):
    gateway = gateway_for(tls_sim, scheme="https", verify_tls=tls_sim.cafile)
    account = gateway.account_create(new_account())
    op = deposit(account.login, 7_000)
    tls_sim.faults(commit_then_drop=1)

    receipt = gateway.balance_operation(op)

    assert receipt.found_by_lookup
    assert len(tls_sim.account(account.login)["balance_deals"]) == 1
    assert gateway.account_get(account.login).balance_minor == 7_000


def test_an_untrusted_certificate_is_refused_before_any_password_proof_is_sent(
    tls_sim, gateway_for
):
    gateway = gateway_for(tls_sim, scheme="https", verify_tls=True)
    before = tls_sim.requests_count()

    with pytest.raises(base.PlatformAuthError) as caught:
        gateway.ping()

    assert "certificate" in str(caught.value)
    assert tls_sim.requests_since(before) == []
