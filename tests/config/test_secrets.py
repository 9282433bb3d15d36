"""Secrets at rest: only ciphertext in the columns, keys outside the database, rotation,
and no plaintext in any representation (ADR 0013)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.tenants import schemas
from brokerdesk.tenants.config import crypto, services
from brokerdesk.tenants.config.models import PspCredential, TradingServer

SERVER_PASSWORD = "Mt5-Manager-Pa55!word"
STRIPE_KEY = "sk_live_51Hq8canaryStripeSecret"
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def _server(actor, *, name: str = "MT5 Live", secret: str = SERVER_PASSWORD) -> TradingServer:
    return services.trading_server_create(
        data={
            "name": name,
            "platform": "mt5",
            "address": "mt5.example.com:443",
            "manager_login": "1001",
            "secret": secret,
            "currency": "USD",
        },
        actor=actor,
    )


def _stripe(actor) -> PspCredential:
    return services.psp_credential_create(
        data={
            "name": "Stripe cards",
            "provider": "stripe",
            "settings": {"publishable_key": "pk_live_visible"},
            "secrets": {"secret_key": STRIPE_KEY, "webhook_secret": "whsec_canary0123456789"},
        },
        actor=actor,
    )


def _raw(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def _every_config_row_as_text() -> str:
    tables = [
        "tenant_config_tradingserver",
        "tenant_config_pspcredential",
        # The configuration history is the audit log: no secret may reach it either.
        "audit_auditentry",
    ]
    with connection.cursor() as cursor:
        text = []
        for table in tables:
            cursor.execute(f"SELECT row_to_json(t)::text FROM {table} t")
            text += [row[0] for row in cursor.fetchall()]
    return "\n".join(text)


def test_the_raw_secret_columns_hold_no_plaintext(admin):
    _server(admin)
    _stripe(admin)

    server_tokens = _raw("tenant_config_tradingserver", "secret")
    psp_tokens = _raw("tenant_config_pspcredential", "secrets")
    everything = _every_config_row_as_text()

    assert len(server_tokens) == 1 and len(psp_tokens) == 1
    for secret in (SERVER_PASSWORD, STRIPE_KEY, "whsec_canary0123456789", "Pa55"):
        assert secret not in everything
    assert all(token.startswith("gAAAAA") for token in server_tokens + psp_tokens)
    assert crypto.decrypt(server_tokens[0]) == SERVER_PASSWORD
    assert json.loads(crypto.decrypt(psp_tokens[0])) == {
        "secret_key": STRIPE_KEY,
        "webhook_secret": "whsec_canary0123456789",
    }
    assert "pk_live_visible" in everything  # settings are not secret


def test_two_encryptions_of_the_same_secret_differ(admin):
    _server(admin, name="Live A")
    _server(admin, name="Live B")

    first, second = _raw("tenant_config_tradingserver", "secret")

    assert first != second
    assert crypto.decrypt(first) == crypto.decrypt(second) == SERVER_PASSWORD


def test_secrets_never_print_and_changes_record_only_field_names(admin, caplog):
    server = _server(admin)
    loaded = TradingServer.objects.get(pk=server.pk)
    caplog.set_level(logging.DEBUG)

    logging.getLogger("test").info("server %r secret %s %r", loaded.__dict__, loaded.secret, loaded)
    services.trading_server_update(
        trading_server=loaded, changes={"secret": "n3w-Pa55word"}, actor=admin
    )

    assert repr(loaded.secret) == str(loaded.secret) == "Secret(set)"
    assert SERVER_PASSWORD not in caplog.text and "n3w-Pa55word" not in caplog.text
    changes = AuditEntry.objects.filter(target_public_id=str(server.public_id)).order_by("sequence")
    assert [(c.action, sorted(c.after), c.actor_label) for c in changes] == [
        (
            "config.trading_server.create",
            ["address", "currency", "manager_login", "name", "platform", "secret"],
            "root@test.example",
        ),
        ("config.trading_server.update", ["secret"], "root@test.example"),
    ]
    assert changes.last().after == {"secret": "[changed]"}
    assert TradingServer.objects.get(pk=server.pk).secret.reveal() == "n3w-Pa55word"


def test_an_empty_secret_on_update_keeps_the_stored_one(admin):
    server = _server(admin)
    token = _raw("tenant_config_tradingserver", "secret")[0]

    services.trading_server_update(
        trading_server=server, changes={"secret": "", "address": "mt5b.example.com"}, actor=admin
    )

    assert _raw("tenant_config_tradingserver", "secret") == [token]
    assert sorted(AuditEntry.objects.order_by("-sequence").first().after) == ["address"]


def test_psp_secrets_merge_keep_and_clear(admin):
    credential = _stripe(admin)

    services.psp_credential_update(
        psp_credential=credential,
        changes={"secrets": {"secret_key": "", "webhook_secret": None}},
        actor=admin,
    )
    fresh = PspCredential.objects.get(pk=credential.pk)

    assert services.psp_secrets_reveal(fresh) == {"secret_key": STRIPE_KEY}
    assert services.psp_secrets_status(fresh) == {"secret_key": True, "webhook_secret": False}


def test_a_key_rotation_re_encrypts_every_secret_with_the_first_key(admin, settings):
    settings.SECRET_ENCRYPTION_KEYS = [KEY_A]
    server = _server(admin)
    before = _raw("tenant_config_tradingserver", "secret")

    # Other schemas of this test database hold secrets under the development key.
    settings.SECRET_ENCRYPTION_KEYS = [KEY_B, KEY_A, crypto.DEV_KEY]
    call_command("config", "rotate-keys", stdout=_Sink())
    after = _raw("tenant_config_tradingserver", "secret")

    assert after != before
    settings.SECRET_ENCRYPTION_KEYS = [KEY_B]
    assert TradingServer.objects.get(pk=server.pk).secret.reveal() == SERVER_PASSWORD
    settings.SECRET_ENCRYPTION_KEYS = [KEY_A]
    with pytest.raises(crypto.SecretDecryptionError):
        TradingServer.objects.get(pk=server.pk).secret.reveal()


def test_rotation_names_the_secrets_no_key_opens_and_fails(admin, settings):
    settings.SECRET_ENCRYPTION_KEYS = [KEY_A]
    server = _server(admin)
    settings.SECRET_ENCRYPTION_KEYS = [KEY_B, crypto.DEV_KEY]

    with pytest.raises(CommandError) as caught:
        call_command("config", "rotate-keys", stdout=_Sink())

    assert f"tenant_config_tradingserver.secret#{server.pk}" in str(caught.value)
    assert "no key in BROKERDESK_SECRET_KEYS decrypts these secrets" in str(caught.value)


@pytest.mark.committed
def test_rotation_reaches_every_tenant_schema(committed_tenant, settings):
    """A committed second tenant: the command walks every tenant's schema."""
    with schemas.tenant_context(committed_tenant):
        server = _server("tests")
        before = _raw("tenant_config_tradingserver", "secret")
    settings.SECRET_ENCRYPTION_KEYS = [KEY_B, crypto.DEV_KEY]
    try:
        call_command("config", "rotate-keys", stdout=_Sink())
        with schemas.tenant_context(committed_tenant):
            after = _raw("tenant_config_tradingserver", "secret")
            settings.SECRET_ENCRYPTION_KEYS = [KEY_B]
            revealed = TradingServer.objects.get(pk=server.pk).secret.reveal()
    finally:
        # Put every other committed tenant's secrets back under the development key.
        settings.SECRET_ENCRYPTION_KEYS = [crypto.DEV_KEY, KEY_B]
        call_command("config", "rotate-keys", stdout=_Sink())

    assert after != before and revealed == SERVER_PASSWORD


def test_keys_are_checked_naming_the_variable():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="BROKERDESK_SECRET_KEYS is required"):
        crypto.keys_check([])
    with pytest.raises(ImproperlyConfigured, match="BROKERDESK_SECRET_KEYS: key 2 is not a Fernet"):
        crypto.keys_check([KEY_A, "not-a-key"])
    with pytest.raises(ImproperlyConfigured, match="key 1 is the public development key"):
        crypto.keys_check([crypto.DEV_KEY], allow_dev_key=False)
    assert crypto.keys_check([KEY_A, KEY_B]) == [KEY_A, KEY_B]


class _Sink:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def _brokerdesk(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    environment.pop("PYTEST_XDIST_WORKER", None)
    environment.pop("BROKERDESK_SECRET_KEYS", None)
    environment.update(env)
    return subprocess.run(
        [str(Path(sys.executable).parent / "brokerdesk"), *args],
        env=environment, capture_output=True, text=True, cwd="/", check=False,
    )  # fmt: skip


def test_production_refuses_to_start_without_keys_and_with_the_dev_key():
    production = {
        "DJANGO_SETTINGS_MODULE": "brokerdesk.platform.settings.production",
        "SECRET_KEY": "x" * 60,
    }

    missing = _brokerdesk("check", **production)
    dev_key = _brokerdesk("check", **production, BROKERDESK_SECRET_KEYS=crypto.DEV_KEY)
    bad = _brokerdesk("check", **production, BROKERDESK_SECRET_KEYS=f"{KEY_A},secret")

    assert missing.returncode != 0
    assert "BROKERDESK_SECRET_KEYS is required but not set" in missing.stderr
    assert "BROKERDESK_SECRET_KEYS: key 1 is the public development key" in dev_key.stderr
    assert "BROKERDESK_SECRET_KEYS: key 2 is not a Fernet key" in bad.stderr


def test_generate_key_prints_a_usable_key():
    result = _brokerdesk("config", "generate-key")

    key = result.stdout.strip()
    assert result.returncode == 0 and crypto.keys_check([key]) == [key]


def test_an_error_report_of_a_failed_save_shows_no_secret(admin, monkeypatch, rf, settings):
    """Django's error reports (mails to ADMINS) list every frame's local variables."""
    from django.views.debug import ExceptionReporter

    from brokerdesk.tenants.config.services import servers

    def explode(server: TradingServer) -> None:
        raise RuntimeError("database went away")

    settings.DEBUG = False  # reports are cleansed outside DEBUG, as in production
    monkeypatch.setattr(servers, "_save", explode)
    with pytest.raises(RuntimeError) as caught:
        services.trading_server_create(
            data={"name": "MT5", "platform": "mt5", "address": "mt5.example", "manager_login": "1",
                  "secret": SERVER_PASSWORD, "currency": "USD"},
            actor=admin,
        )  # fmt: skip
    report = ExceptionReporter(
        rf.post("/x"), RuntimeError, caught.value, caught.value.__traceback__
    ).get_traceback_html()

    assert "database went away" in report and "trading_server_create" in report
    assert "********" in report
    assert SERVER_PASSWORD not in report
