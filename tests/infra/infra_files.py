"""Read infra/: the Dockerfile's instructions, compose.yaml, the rendered Helm chart, and every
process command they start, resolved the way the container would resolve it."""

from __future__ import annotations

import atexit
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import helmlite
import yaml
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
DOCKERFILE = INFRA / "Dockerfile"
ENTRYPOINT_SCRIPT = INFRA / "docker-entrypoint.sh"
COMPOSE = INFRA / "compose.yaml"
CHART = INFRA / "helm" / "brokerdesk"
VENV_BIN = Path(sys.executable).parent
PROJECT_IMAGE = "brokerdesk"

# Values a deployment must supply (the chart refuses to render without the required secrets).
HELM_TEST_VALUES: dict[str, Any] = {
    "platformDomain": "brokerdesk.example.com",
    "secret": {
        "SECRET_KEY": "helm-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": "postgresql://brokerdesk:pw@db.internal:5432/brokerdesk",
        "REDIS_URL": "redis://redis.internal:6379/0",
        "BROKERDESK_SECRET_KEYS": Fernet.generate_key().decode(),
        "extra": {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "EMAIL_HOST_USER": "mailer",
            "EMAIL_HOST_PASSWORD": "mail-password",
        },
    },
    "ingress": {"tlsSecretName": "brokerdesk-wildcard", "extraHosts": ["portal.acme-fx.example"]},
}


def registry_host(image: str) -> str | None:
    """The registry host an image reference names, if any (`host[:port]/path[:tag]`)."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


# --- Dockerfile -------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    arguments: str
    stage: int


def dockerfile_instructions() -> list[Instruction]:
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    assert not pending, "Dockerfile ends inside a continued line"
    instructions, stage = [], -1
    for line in lines:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, arguments.strip(), stage))
    return instructions


def dockerfile_args() -> dict[str, str]:
    out = {}
    for instruction in dockerfile_instructions():
        if instruction.keyword == "ARG" and "=" in instruction.arguments:
            name, _, value = instruction.arguments.partition("=")
            out[name.strip()] = value.strip()
    return out


def _substitute(text: str, variables: dict[str, str]) -> str:
    return re.sub(
        r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: variables.get(m.group(1), m.group(0)), text
    )


def dockerfile_base_images() -> list[str]:
    args = dockerfile_args()
    return [
        _substitute(i.arguments.split()[0], args)
        for i in dockerfile_instructions()
        if i.keyword == "FROM"
    ]


def final_stage() -> list[Instruction]:
    instructions = dockerfile_instructions()
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def image_environment() -> dict[str, str]:
    """ENV of the runtime stage, in the form the container sees it."""
    env: dict[str, str] = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
    for instruction in final_stage():
        if instruction.keyword == "ENV":
            for item in shlex.split(instruction.arguments):
                name, _, value = item.partition("=")
                env[name] = _substitute(value, env)
    return env


def exec_form(keyword: str) -> list[str]:
    values = [i.arguments for i in final_stage() if i.keyword == keyword]
    assert values, f"the runtime stage has no {keyword}"
    parsed = json.loads(values[-1])
    assert isinstance(parsed, list), f"{keyword} must be in exec (JSON) form"
    return parsed


@dataclass
class RunCommand:
    env: dict[str, str]
    argv: list[str]


def dockerfile_run_commands(program: str) -> list[RunCommand]:
    """`VAR=value … program args` segments of the runtime stage's RUN instructions."""
    found = []
    for instruction in final_stage():
        if instruction.keyword != "RUN":
            continue
        for segment in re.split(r"&&|;", instruction.arguments):
            words = shlex.split(segment)
            env = {}
            while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
                name, _, value = words.pop(0).partition("=")
                env[name] = value
            if words and words[0] == program:
                found.append(RunCommand(env, words))
    return found


# --- the entrypoint script, run for real with stub programs ------------------------------------


@cache
def _stub_bin() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="brokerdesk-infra-stubs-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    for program in ("brokerdesk", "gunicorn"):
        stub = directory / program
        stub.write_text(f"#!/bin/sh\nprintf '%s\\0' {program} \"$@\"\n")
        stub.chmod(0o755)
    return directory


def through_entrypoint(arguments: list[str]) -> list[str]:
    """The argv the image's entrypoint script ends up exec-ing for these arguments."""
    result = subprocess.run(
        ["/bin/sh", str(ENTRYPOINT_SCRIPT), *arguments],
        env={"PATH": f"{_stub_bin()}:/usr/bin:/bin"},
        capture_output=True,
        check=True,
    )
    return result.stdout.decode().split("\0")[:-1]


# --- compose ----------------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def compose_interpolate(text: str) -> str:
    """Compose turns `$$` into a literal `$`; no other interpolation is used in our file."""
    assert not re.search(r"(?<!\$)\$(?!\$)", text.replace("$$", "")), text
    return text.replace("$$", "$")


def project_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if service.get("image") == PROJECT_IMAGE
    }


def compose_environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {name: str(value) for name, value in environment.items()}


# --- Helm -------------------------------------------------------------------------------------


@cache
def _rendered(existing_secret: bool) -> tuple[dict[str, Any], ...]:
    values = helmlite.deep_merge(HELM_TEST_VALUES, {})
    if existing_secret:
        values["secret"] = {"existingSecret": "brokerdesk-managed-env"}
    return tuple(helmlite.manifests(helmlite.render_chart(CHART, values)))


def helm_manifests(existing_secret: bool = False) -> list[dict[str, Any]]:
    return list(_rendered(existing_secret))


def pod_specs(manifests: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{m['kind']}/{m['metadata']['name']}", m["spec"]["template"]["spec"])
        for m in manifests
        if m["kind"] in {"Deployment", "Job", "StatefulSet", "DaemonSet"}
    ]


def helm_environment() -> dict[str, str]:
    """Image ENV, then the chart's ConfigMap and Secret, as a pod of the chart sees them."""
    env = dict(image_environment())
    for manifest in helm_manifests():
        if manifest["kind"] == "ConfigMap":
            env.update(manifest["data"])
        elif manifest["kind"] == "Secret":
            env.update(manifest.get("stringData") or {})
    return env


# --- every process the files start -----------------------------------------------------------


@dataclass
class Invocation:
    where: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.where}: {' '.join(self.argv[:2])}"


def invocations() -> list[Invocation]:
    found: list[Invocation] = []
    entry = exec_form("ENTRYPOINT")
    assert entry == ["docker-entrypoint.sh"], entry
    default_cmd = exec_form("CMD")
    # `docker run brokerdesk`: the image's ENV plus the secrets any deployment has to supply.
    required = {k: v for k, v in HELM_TEST_VALUES["secret"].items() if isinstance(v, str)}
    found.append(
        Invocation(
            "Dockerfile CMD", through_entrypoint(default_cmd), {**image_environment(), **required}
        )
    )
    for run in dockerfile_run_commands("brokerdesk"):
        found.append(Invocation("Dockerfile RUN", run.argv, {**image_environment(), **run.env}))
    for name, service in project_services().items():
        command = service.get("command", default_cmd)
        if isinstance(command, str):
            command = shlex.split(command)
        env = {**image_environment(), **compose_environment(service)}
        found.append(Invocation(f"compose {name}", through_entrypoint(command), env))
    for where, spec in pod_specs(helm_manifests()):
        for container in spec.get("initContainers", []) + spec["containers"]:
            argv = list(container.get("command") or []) + list(container.get("args") or [])
            if not container.get("command"):
                argv = through_entrypoint(argv or default_cmd)
            found.append(Invocation(f"helm {where}", argv, helm_environment()))
    return found
