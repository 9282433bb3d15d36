"""Settings fail fast naming the variable; production settings pass `check --deploy`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

BROKERDESK = str(Path(sys.executable).parent / "brokerdesk")


def _brokerdesk(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    environment.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run(
        [BROKERDESK, *args], env=environment, capture_output=True, text=True, cwd="/", check=False
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DB_CONN_MAX_AGE", "ten", "DB_CONN_MAX_AGE must be an integer, got 'ten'"),
        ("DB_CONN_MAX_AGE", "-1", "DB_CONN_MAX_AGE must be at least 0"),
        ("DEBUG", "maybe", "DEBUG must be a boolean"),
        ("DATABASE_URL", "mysql://u@h/db", "DATABASE_URL must be a postgresql:// URL"),
        ("DATABASE_URL", "postgresql://u@h:99999/db", "DATABASE_URL has an invalid port"),
        ("DATABASE_URL", "postgresql://u@h:5432/", "DATABASE_URL must name a database"),
        ("REDIS_URL", "http://localhost", "REDIS_URL must be a redis:// URL"),
        ("MIGRATE_PROCESSES", "0", "MIGRATE_PROCESSES must be at least 1"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("PUBLIC_URL_SCHEME", "ftp", "PUBLIC_URL_SCHEME must be one of http, https"),
    ],
)
def test_a_bad_environment_value_stops_start_up_naming_the_variable(variable, value, message):
    result = _brokerdesk("check", **{variable: value})

    assert result.returncode != 0
    assert message in result.stderr


def test_a_missing_required_variable_is_named():
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [BROKERDESK, "check"], env=environment, capture_output=True, text=True, cwd="/", check=False
    )

    assert result.returncode != 0 and "DATABASE_URL is required but not set" in result.stderr


def test_production_settings_pass_check_deploy_without_warnings():
    result = _brokerdesk(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="brokerdesk.platform.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        BROKERDESK_SECRET_KEYS=Fernet.generate_key().decode(),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    environment = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    environment["DJANGO_SETTINGS_MODULE"] = "brokerdesk.platform.settings.production"
    result = subprocess.run(
        [BROKERDESK, "check"], env=environment, capture_output=True, text=True, cwd="/", check=False
    )

    assert result.returncode != 0 and "SECRET_KEY is required but not set" in result.stderr
