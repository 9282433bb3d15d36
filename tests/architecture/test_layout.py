"""The layout rules that keep the project importable and tenancy out of business code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def test_the_standard_library_platform_module_wins_from_the_repo_root():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import uuid, platform; print(platform.system(), platform.__file__)",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    system, path = result.stdout.split()
    assert system == "Linux" and not path.startswith(str(REPO))


def test_platform_folder_has_no_init_so_it_can_never_shadow_the_standard_library():
    assert not (REPO / "platform" / "__init__.py").exists()


def test_the_brokerdesk_namespace_maps_to_the_repo_folders():
    import brokerdesk.modules
    import brokerdesk.platform.cli
    import brokerdesk.tenants

    assert Path(brokerdesk.platform.cli.__file__).parent == REPO / "platform"
    assert Path(brokerdesk.tenants.__file__).parent == REPO / "tenants"
    assert Path(brokerdesk.modules.__file__).parent == REPO / "modules"


def _ruff(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "ruff"), "check", "--no-cache", "--select", "TID251", *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def test_business_code_and_themes_do_not_touch_tenancy():
    result = _ruff("modules", "themes")

    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    "source",
    [
        "import django_tenants\n",
        "from django_tenants.utils import schema_context\n",
        "from django.db import connection\nprint(connection.schema_name)\n",
        "from django.db import connection\nconnection.set_tenant(None)\n",
    ],
)
def test_the_banned_api_rule_catches_tenancy_in_a_module(source):
    result = _ruff("--stdin-filename", "modules/crm/services.py", "-", stdin=source)

    assert result.returncode == 1 and "TID251" in result.stdout


def test_the_same_code_is_allowed_in_tenants():
    result = _ruff("--stdin-filename", "tenants/anything.py", "-", stdin="import django_tenants\n")

    assert result.returncode == 0, result.stdout


def test_every_tenant_module_has_its_app_with_a_frozen_label():
    from django.conf import settings

    expected = {
        "identity",
        "audit",
        "crm",
        "kyc",
        "policy",
        "trading",
        "ledger",
        "payments",
        "partners",
        "support",
        "notifications",
        "reporting",
        "portal",
        "backoffice",
        "partner_portal",
    }
    labels = {app.rsplit(".apps.", 1)[0].rsplit(".", 1)[-1] for app in settings.TENANT_APPS}
    assert expected <= labels
    assert {p.name for p in (REPO / "modules").iterdir() if (p / "apps.py").exists()} == expected


def test_models_and_migrations_agree(db):
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
