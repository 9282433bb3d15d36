"""Every environment variable the image, compose.yaml and the Helm chart set is one the settings
read — a typo'd name fails — and that environment is enough for the settings to load."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from infra_files import (
    REPO,
    VENV_BIN,
    compose_environment,
    dockerfile_run_commands,
    helm_environment,
    image_environment,
    project_services,
)

# Read by something other than our settings: the interpreter, boto3 (README lists the AWS ones).
READ_ELSEWHERE = {
    "PATH",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
}
_LITERAL = re.compile(
    r"""(?:env_[a-z_]+\(|os\.environ\.get\(|os\.environ\.setdefault\(|os\.environ\[|os\.getenv\()\s*["']([A-Z][A-Z0-9_]*)["']"""
)

# Load the settings and every app with os.environ replaced by a mapping that records reads.
_RECORD = """
import json, os, sys
class Recording(dict):
    read = set()
    def __getitem__(self, key):
        self.read.add(key); return super().__getitem__(key)
    def get(self, key, default=None):
        self.read.add(key); return super().get(key, default)
    def __contains__(self, key):
        self.read.add(key); return super().__contains__(key)
    def setdefault(self, key, default=None):
        self.read.add(key); return super().setdefault(key, default)
os.environ = Recording(os.environ)
import django
django.setup()
from django.conf import settings
settings.INSTALLED_APPS
print(json.dumps(sorted(os.environ.read)))
"""


def _literal_reads() -> set[str]:
    """Names spelled out in platform/settings and platform/devstack (the README's table)."""
    names: set[str] = set()
    for folder in ("platform/settings", "platform/devstack"):
        for path in (REPO / folder).glob("*.py"):
            names |= set(_LITERAL.findall(path.read_text()))
    return names


def _settings_read(env: dict[str, str], tmp_path: Path) -> set[str]:
    env = {**env, "PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(tmp_path)}
    env["BROKERDESK_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-P", "-c", _RECORD],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"the settings do not load with this environment:\n{result.stderr}"
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def unread_names(env: dict[str, str], tmp_path: Path) -> set[str]:
    read = _settings_read(env, tmp_path) | _literal_reads() | READ_ELSEWHERE
    return set(env) - read


def _compose_env(name: str) -> dict[str, str]:
    return {**image_environment(), **compose_environment(project_services()[name])}


@pytest.mark.parametrize("service", sorted(project_services()))
def test_compose_service_sets_only_variables_the_settings_read(service, tmp_path):
    env = _compose_env(service)

    assert env["DJANGO_SETTINGS_MODULE"] == "brokerdesk.platform.settings.dev"
    assert unread_names(env, tmp_path) == set()


def test_helm_chart_sets_only_variables_the_production_settings_read(tmp_path):
    env = helm_environment()

    assert env["DJANGO_SETTINGS_MODULE"] == "brokerdesk.platform.settings.production"
    assert unread_names(env, tmp_path) == set()


def test_image_build_step_variables_are_read_and_enough_for_collectstatic_settings(tmp_path):
    (run,) = dockerfile_run_commands("brokerdesk")
    env = {**image_environment(), **run.env}

    assert unread_names(env, tmp_path) == set()


def test_a_typo_in_a_variable_name_is_caught(tmp_path):
    env = {**_compose_env("web"), "DATABSE_URL": "postgresql://x@y/z", "LOGLEVEL": "DEBUG"}

    assert unread_names(env, tmp_path) == {"DATABSE_URL", "LOGLEVEL"}
