"""The role × endpoint matrix (matrix.py, hand-written) against the running URLconf."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.views import APIView

from support.rbac_actors import ACTORS
from support.route_targets import TARGETS, route_targets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from matrix import COLUMNS, ROWS  # noqa: E402

TENANT_URLCONF = "brokerdesk.platform.urls_tenant"
PREFIXES = ("backoffice/", "api/v1/")
API_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class _Route:
    name: str | None
    route: str
    callback: Callable[..., Any]


def _walk(patterns: list, prefix: str, namespace: str) -> Iterator[_Route]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield _Route(name=name, route=route, callback=pattern.callback)


def _covered_routes() -> list[_Route]:
    """Every route under /backoffice/ and /api/v1/, straight from the resolvers."""
    every = _walk(get_resolver(TENANT_URLCONF).url_patterns, "", "")
    return [route for route in every if route.route.startswith(PREFIXES)]


def _view_methods(callback: Callable[..., Any]) -> set[str] | None:
    """The HTTP methods a DRF view implements, or None for Django views (rows decide)."""
    view_class = getattr(callback, "cls", None)  # set by APIView.as_view()
    if view_class is None or not issubclass(view_class, APIView):
        return None
    return {m.upper() for m in API_METHODS if hasattr(view_class, m)}


def test_the_matrix_has_one_column_per_actor():
    assert COLUMNS == ACTORS
    assert all(len(expected) == len(COLUMNS) for _, _, expected in ROWS)
    assert len({(m, n) for m, n, _ in ROWS}) == len(ROWS), "a row appears twice"


def test_every_route_and_api_method_is_in_the_matrix_and_nothing_else():
    rows = {(method, name) for method, name, _ in ROWS}
    names_in_rows = {name for _, name in rows}
    missing: list[str] = []
    for route in _covered_routes():
        if route.name is None:
            missing.append(f"unnamed route {route.route!r}")
            continue
        methods = _view_methods(route.callback)
        if methods is None:
            if route.name not in names_in_rows:
                missing.append(f"{route.name} ({route.route})")
        else:
            missing += [f"{m} {route.name}" for m in sorted(methods) if (m, route.name) not in rows]
    assert missing == [], "routes missing from tests/rbac/matrix.py"
    existing = {route.name for route in _covered_routes()}
    assert sorted(names_in_rows - existing) == [], "matrix rows for routes that do not exist"


@pytest.fixture
def targets(db) -> dict[str, dict[str, str]]:
    """The objects parameterised routes point at, on the test tenant."""
    return route_targets()


# One test per row (all actors in it): the objects are set up once per row, not per actor.
CASES = [
    pytest.param(method, name, expected, id=f"{method} {name}") for method, name, expected in ROWS
]


@pytest.mark.parametrize(("method", "name", "expected"), CASES)
def test_each_actor_gets_the_status_the_matrix_says(actors, targets, method, name, expected):
    kwargs = targets[TARGETS[name]] if name in TARGETS else None
    url = reverse(name, kwargs=kwargs, urlconf=TENANT_URLCONF)
    is_api = url.startswith("/api/")
    answers = []
    for actor in COLUMNS:
        client = actors.client(actor)
        # A savepoint per actor: one actor's permitted write must not change the next answer.
        with transaction.atomic():
            if method == "GET":
                response = client.get(url)
            elif is_api:
                call = getattr(client, method.lower())
                response = call(url, data={}, content_type="application/json")
            else:
                response = getattr(client, method.lower())(url, data={})
            transaction.set_rollback(True)
        answers.append(response.status_code)
    assert dict(zip(COLUMNS, answers, strict=True)) == dict(zip(COLUMNS, expected, strict=True)), (
        f"{method} {url}"
    )
