"""infra/Dockerfile and its entrypoint, checked without a Docker engine: the instructions, the
package it installs (built here as a wheel from the same files), and the build-time collectstatic."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

from infra_files import (
    INFRA,
    REPO,
    VENV_BIN,
    compose,
    dockerfile_base_images,
    dockerfile_instructions,
    dockerfile_run_commands,
    exec_form,
    final_stage,
    helm_manifests,
    image_environment,
    pod_specs,
    registry_host,
    through_entrypoint,
)

# What the Dockerfile copies from the build context (the repository root).
PACKAGE_FOLDERS = ("platform", "tenants", "modules", "themes")


def _copied_sources() -> list[str]:
    sources = []
    for instruction in dockerfile_instructions():
        if instruction.keyword == "COPY" and not instruction.arguments.startswith("--from"):
            *paths, _destination = instruction.arguments.split()
            sources += paths
    return sources


def test_image_is_python_311_slim_and_installs_the_project_non_editable_with_constraints():
    assert dockerfile_base_images() == ["python:3.11-slim", "python:3.11-slim"]
    runs = " ".join(i.arguments for i in dockerfile_instructions() if i.keyword == "RUN")
    assert "pip install -c constraints.txt ." in runs
    assert not re.search(r"pip install[^&]*\s(-e|--editable)\b", runs)


def test_every_copied_path_exists_and_the_ignore_file_lets_it_through():
    sources = _copied_sources()
    ignore = (INFRA / "Dockerfile.dockerignore").read_text().splitlines()

    for source in sources:
        assert (REPO / source).exists(), source
        assert f"!{source.rstrip('/')}" in {line.rstrip("/") for line in ignore}, source
    assert set(PACKAGE_FOLDERS) <= {s.rstrip("/").removeprefix("./") for s in sources}


def test_runs_as_a_non_root_user_with_production_settings_and_gunicorn_by_default():
    users = [i.arguments for i in final_stage() if i.keyword == "USER"]
    env = image_environment()

    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert env["DJANGO_SETTINGS_MODULE"] == "brokerdesk.platform.settings.production"
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert exec_form("CMD")[0] == "gunicorn"


def test_entrypoint_runs_gunicorn_or_else_a_brokerdesk_subcommand():
    assert through_entrypoint(["gunicorn", "app:x", "--workers", "2"]) == [
        "gunicorn",
        "app:x",
        "--workers",
        "2",
    ]
    assert through_entrypoint(["migrate"]) == ["brokerdesk", "migrate"]
    assert through_entrypoint(["worker", "-Q", "money"]) == ["brokerdesk", "worker", "-Q", "money"]
    assert through_entrypoint(["tenant", "create", "--name", "Acme FX"]) == [
        "brokerdesk",
        "tenant",
        "create",
        "--name",
        "Acme FX",
    ]
    assert through_entrypoint([]) == ["brokerdesk", "help"]


def test_the_installed_package_carries_every_template_static_file_and_migration(tmp_path):
    # The same files the Dockerfile copies, built the way `pip install .` builds them.
    source = tmp_path / "src"
    source.mkdir()
    for name in _copied_sources():
        if name.startswith("infra/"):
            continue
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(origin, source / name)
    subprocess.run(
        [
            str(VENV_BIN / "python"),
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("brokerdesk-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())

    expected = set()
    for folder in PACKAGE_FOLDERS:
        for path in (REPO / folder).rglob("*"):
            relative = path.relative_to(REPO)
            if path.is_dir() or "__pycache__" in relative.parts or path.name.startswith("."):
                continue
            if path.suffix == ".md":  # notes for developers (the vendor manifest), not served
                continue
            if path.suffix == ".py" or "templates" in relative.parts or "static" in relative.parts:
                expected.add(f"brokerdesk/{relative.as_posix()}")
    missing = sorted(expected - shipped)
    assert not missing, f"not in the installed package (setup.py package_data?): {missing}"
    assert "brokerdesk/platform/__init__.py" not in shipped  # ADR 0002


def test_build_time_collectstatic_needs_nothing_but_its_own_variables(tmp_path):
    (run,) = dockerfile_run_commands("brokerdesk")
    assert run.argv == ["brokerdesk", "collectstatic", "--noinput"]
    env = {**image_environment(), **run.env, "PATH": f"{VENV_BIN}:/usr/bin:/bin"}
    env["BROKERDESK_DATA_DIR"] = str(tmp_path)

    result = subprocess.run(
        [str(VENV_BIN / "brokerdesk"), *run.argv[1:]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    assert manifest["paths"], "WhiteNoise's manifest is empty"


def test_images_are_plain_names_and_no_registry_host_is_named():
    images = list(dockerfile_base_images())
    images += [service["image"] for service in compose()["services"].values()]
    images += [
        container["image"]
        for _, spec in pod_specs(helm_manifests())
        for container in spec["containers"]
    ]
    for image in images:
        assert registry_host(image) is None, image
    known_hosts = re.compile(r"docker\.io|ghcr\.io|quay\.io|gcr\.io|ecr\.|azurecr|registry\.")
    for path in [*INFRA.rglob("*"), REPO / "docs" / "scale-out.md"]:
        if path.is_file():
            assert not known_hosts.search(path.read_text()), path.relative_to(REPO)


def test_entrypoint_script_is_executable_and_posix_sh():
    script = INFRA / "docker-entrypoint.sh"
    assert script.stat().st_mode & 0o111
    assert script.read_text().startswith("#!/bin/sh\n")
    assert Path("/bin/sh").exists()
