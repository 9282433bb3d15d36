"""Every operation of the tenant API's OpenAPI document, fed generated input: never a 500.

Schemathesis turns each operation of ``/api/v1/schema/`` into Hypothesis strategies — valid
input (positive) and input the schema forbids (negative: wrong types, missing fields, bad
formats, junk bodies) — serialised as an HTTP client would (``requests`` prepares the body:
JSON, form or multipart). Each request goes through the whole Django stack as a signed-in
user and must answer below 500; an exception or a 500 is a failure, listed with its input.

Parameterised paths point at real objects of the tenant (``support.route_targets``, the
role matrix's), so the input reaches the services behind the 404 checks. Each operation is
called as the user it is for: an IB for ``/partner/``, a trader for a client's own routes,
the Super admin otherwise. Each request runs in a savepoint rolled back after it, so what one
writes cannot change the next answer, and signs in afresh (``/auth/logout/`` ends sessions).

Examples are derandomised (the same inputs on every run, so CI is repeatable); set
``FUZZ_EXAMPLES`` for a longer local run, e.g. ``FUZZ_EXAMPLES=200``.
"""

from __future__ import annotations

import os
import traceback
from collections import defaultdict
from typing import Any

import pytest
import requests
import schemathesis
from django.db import connection, transaction
from django.test import Client
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.tenants.models import Tenant
from support.rbac_actors import sign_in, user_make
from support.route_targets import TARGETS, route_targets

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
API = "/api/v1/"
# The operations a client (trader) or an IB calls for themselves; everything else is staff's.
# Payments: a client starts deposits, transfers and withdrawals; staff list and decide them.
CLIENT_PATHS = ("trading/mine/", "referrals/", "me/policy/", "auth/verify-email/")
CLIENT_POSTS = ("payments/deposits/", "payments/transfers/", "payments/withdrawals/")
IB_PATHS = ("partner/",)
# Headers the generator may add that would replace the signed-in session.
DROPPED_HEADERS = ("authorization", "cookie", "host", "content-length")
PLACEHOLDER = "00000000-0000-4000-8000-000000000000"


def _schema_document(admin: User, host: str) -> dict[str, Any]:
    """The OpenAPI document as the running app serves it (to active staff)."""
    response = sign_in(Client(HTTP_HOST=host), admin).get(
        f"{API}schema/", HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200, response.status_code
    return response.json()


def _host() -> str:
    return Tenant.objects.get(schema_name=connection.schema_name).get_primary_domain().domain


def _group(path: str) -> str:
    return path.removeprefix(API).split("/", 1)[0]


def _actor_key(method: str, path: str) -> str:
    rest = path.removeprefix(API)
    if rest.startswith(IB_PATHS):
        return "ib"
    if rest.startswith(CLIENT_PATHS) or (method.upper() == "POST" and rest in CLIENT_POSTS):
        return "trader"
    return "super_admin"


# The groups of operations, one test each (collected without a database: the list is fixed
# here and checked against the document in the first test).
GROUPS = (
    "audit", "auth", "clients", "config", "crm-settings", "crm", "duplicates", "kyc", "leads",
    "ledger", "me", "partner", "partners", "payments", "permissions", "referrals", "roles",
    "routing-rules", "schema", "segments", "staff", "teams", "tokens", "trading",
)  # fmt: skip


@pytest.fixture
def world(db) -> dict[str, Any]:
    """The document, the objects the paths point at and the users who call them."""
    targets = route_targets()
    users = {
        "super_admin": user_make(
            "fuzz@fuzz.example", roles=[default_roles_ensure()["super_admin"]]
        ),
        "trader": User.objects.get(email="trader@rbac.example"),
        "ib": User.objects.get(email="ib@test.example"),
    }
    host = _host()
    return {"doc": _schema_document(users["super_admin"], host), "targets": targets,
            "users": users, "host": host}  # fmt: skip


def _path_parameters(path: str, targets: dict[str, dict[str, str]]) -> dict[str, str] | None:
    """The real object a parameterised path points at, from the route's name; None when the
    path has no parameter or the route has no target (then the generator picks)."""
    if "{" not in path:
        return None
    probe = path
    for name in ("public_id", "key", "signal"):
        probe = probe.replace("{" + name + "}", PLACEHOLDER if name == "public_id" else "x")
    try:
        match = resolve(probe, urlconf="brokerdesk.platform.urls_tenant")
    except Resolver404:
        return None
    key = TARGETS.get(match.view_name)
    return dict(targets[key]) if key in targets else None


def _call(client: Any, case: Any) -> tuple[int | str, str]:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("cookies", None)
    kwargs["headers"] = {k: v for k, v in kwargs["headers"].items()
                         if k.lower() not in DROPPED_HEADERS}  # fmt: skip
    prepared = requests.Request(**kwargs).prepare()
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in prepared.headers.items()
               if k.lower() != "content-type"}  # fmt: skip
    try:
        with transaction.atomic():
            response = client.generic(case.method, prepared.path_url, body,
                                      content_type=prepared.headers.get("Content-Type", ""),
                                      **headers)  # fmt: skip
            transaction.set_rollback(True)
    except Exception as error:  # the test client re-raises what the view raised
        return f"{type(error).__name__}: {error}"[:300], traceback.format_exc()[-2000:]
    return response.status_code, response.content[:300].decode(errors="replace")


def _checker(world: dict[str, Any], user: User, label: str, failures: list[str],
             answers: dict[str, int]) -> Any:  # fmt: skip
    """One generated case: sent as ``user``; a 500 or an exception is listed once per
    operation, mode and answer."""
    seen: set[str] = set()

    def check(case: Any) -> None:
        client = sign_in(Client(HTTP_HOST=world["host"]), user)
        status, detail = _call(client, case)
        answers[str(status)[:3]] += 1
        if isinstance(status, int) and status < 500:
            return
        found = f"{case.method} {label} -> {status}"
        if found not in seen:
            seen.add(found)
            failures.append(f"{found}\n  path {case.formatted_path} query {case.query} "
                            f"body {str(case.body)[:300]}\n  {detail}")  # fmt: skip

    return check


def _fuzz(world: dict[str, Any], group: str) -> tuple[list[str], dict[str, int]]:
    schema = schemathesis.openapi.from_dict(world["doc"])
    failures: list[str] = []
    answers: dict[str, int] = defaultdict(int)
    for result in schema.get_all_operations():
        operation = result.ok()
        if _group(operation.path) != group:
            continue
        user = world["users"][_actor_key(operation.method, operation.path)]
        parameters = _path_parameters(operation.path, world["targets"])
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=parameters)
            check = _checker(world, user, f"{operation.path} ({mode.value})", failures, answers)
            run = settings(max_examples=EXAMPLES, database=None, deadline=None,
                           derandomize=True, suppress_health_check=list(HealthCheck),
                           )(given(case=strategy)(check))  # fmt: skip
            try:
                run()
            except Unsatisfiable:
                pass  # e.g. no negative input exists for an operation without parameters
    return failures, dict(answers)


def test_the_groups_cover_every_operation_of_the_document(world):
    groups = {_group(path) for path in world["doc"]["paths"]}
    assert groups == set(GROUPS)


# The largest groups (partners, trading) take ~2 s per example per mode here: a longer run
# gets the time it needs instead of the suite's 300 s.
@pytest.mark.timeout(max(300, EXAMPLES * 5))
@pytest.mark.parametrize("group", GROUPS)
def test_no_generated_input_gets_a_500(world, group):
    failures, answers = _fuzz(world, group)
    assert sum(answers.values()) > 0, f"no request was made for {group}"
    print(group, answers)
    assert not failures, "\n\n".join(failures)
