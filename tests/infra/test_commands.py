"""Every process that the Dockerfile, compose.yaml and the Helm chart start is a real `brokerdesk`
subcommand, with options its parser accepts, or gunicorn serving an importable WSGI app."""

from __future__ import annotations

import subprocess
from pathlib import Path

import click
import pytest
from django.core.management import get_commands, load_command_class
from django.core.management.base import CommandError
from infra_files import VENV_BIN, Invocation, invocations

from brokerdesk.platform import cli

# `brokerdesk` handles these itself (platform/cli.py); everything else is a management command.
CLI_COMMANDS = {"demo", "test", "worker", "beat"}
WSGI_TARGET = "brokerdesk.platform.wsgi:application"
INVOCATIONS = invocations()


def test_the_files_start_the_processes_a_deployment_needs():
    started = {tuple(i.argv[:2]) for i in INVOCATIONS}

    assert ("brokerdesk", "migrate") in started
    assert ("brokerdesk", "worker") in started
    assert ("brokerdesk", "beat") in started
    assert ("brokerdesk", "collectstatic") in started
    assert ("gunicorn", WSGI_TARGET) in started
    assert {i.argv[0] for i in INVOCATIONS} == {"brokerdesk", "gunicorn"}


def test_the_cli_still_handles_the_commands_it_is_said_to():
    source = Path(cli.__file__).read_text()
    for command in CLI_COMMANDS:
        assert f'"{command}"' in source, command
    assert cli.ALIASES["migrate"] == "migrate_all"


@pytest.mark.parametrize(
    "invocation", [i for i in INVOCATIONS if i.argv[0] == "brokerdesk"], ids=lambda i: i.id
)
def test_brokerdesk_subcommand_is_real_and_its_options_parse(invocation: Invocation):
    subcommand, options = invocation.argv[1], invocation.argv[2:]

    if subcommand in {"worker", "beat"}:
        _parse_celery(subcommand, options)
        return
    assert subcommand not in {"demo", "test"}, (
        "demo/test start their own services: not for a deployment"
    )
    name = cli.ALIASES.get(subcommand, subcommand)
    commands = get_commands()
    assert name in commands, f"`brokerdesk {subcommand}` is not a command ({invocation.where})"
    command = load_command_class(commands[name], name)
    try:
        command.create_parser("brokerdesk", name).parse_args(options)
    except CommandError as exc:
        pytest.fail(f"{invocation.where}: brokerdesk {subcommand} {options}: {exc}")


def _parse_celery(subcommand: str, options: list[str]) -> None:
    """`brokerdesk worker|beat …` passes the options to Celery's own command: parse them there."""
    from celery.bin.base import CLIContext
    from celery.bin.beat import beat
    from celery.bin.worker import worker

    from brokerdesk.platform.celery import app

    command = {"worker": worker, "beat": beat}[subcommand]
    context = CLIContext(app=app, no_color=True, workdir=None, quiet=True)
    try:
        command.make_context(subcommand, list(options), obj=context)
    except click.UsageError as exc:
        pytest.fail(f"brokerdesk {subcommand} {options}: {exc}")


@pytest.mark.parametrize(
    "invocation", [i for i in INVOCATIONS if i.argv[0] == "gunicorn"], ids=lambda i: i.id
)
def test_gunicorn_options_are_valid_and_the_wsgi_app_loads_with_that_environment(
    invocation, tmp_path
):
    assert invocation.argv[1] == WSGI_TARGET
    assert invocation.argv[invocation.argv.index("--worker-class") + 1] == "gthread"  # ADR 0007
    # Out of the repo root, with only the container's environment: gunicorn parses every
    # option and imports the application (settings included), then exits.
    env = {**invocation.env, "PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(tmp_path)}
    env["BROKERDESK_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [str(VENV_BIN / "gunicorn"), "--check-config", *invocation.argv[1:]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_command_check_refuses_a_made_up_subcommand_and_a_bad_option():
    with pytest.raises(AssertionError):
        test_brokerdesk_subcommand_is_real_and_its_options_parse(
            Invocation("made up", ["brokerdesk", "migrate_everything"])
        )
    with pytest.raises(pytest.fail.Exception):
        test_brokerdesk_subcommand_is_real_and_its_options_parse(
            Invocation("made up", ["brokerdesk", "worker", "--queus", "money"])
        )
    with pytest.raises(pytest.fail.Exception):
        test_brokerdesk_subcommand_is_real_and_its_options_parse(
            Invocation("made up", ["brokerdesk", "migrate", "--executor", "threads"])
        )
