"""The isolation walker: every URL pattern, as every tenant's users, looking for the other
tenant's canaries. It grows by itself with the URLconf; a parameterised route without an
argument provider is a failure, not a skip."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from brokerdesk.tenants import schemas


@dataclass
class Canary:
    """A tenant seeded with strings that must never show anywhere else."""

    tenant: object
    host: str
    owner: object
    secrets: list[str]
    route_args: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    name: str | None
    route: str
    has_params: bool


@dataclass(frozen=True)
class Leak:
    host: str
    who: str
    url: str
    found: str


def routes(urlconf: str) -> Iterator[Route]:
    """Every concrete pattern of ``urlconf``, with its namespaced name and full route."""
    yield from _walk(get_resolver(urlconf).url_patterns, prefix="", namespace="")


def _walk(patterns: list, *, prefix: str, namespace: str) -> Iterator[Route]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix=route, namespace=inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield Route(name=name, route=route, has_params=bool(pattern.pattern.converters))


ArgumentProvider = Callable[[Canary], dict[str, str]]


def url_for(
    route: Route, canary: Canary, urlconf: str, providers: dict[str, ArgumentProvider]
) -> str:
    if not route.has_params:
        if route.name:
            return reverse(route.name, urlconf=urlconf)
        return "/" + route.route.lstrip("^").rstrip("$")
    if route.name not in providers:
        raise LookupError(
            f"route {route.route!r} (name {route.name!r}) has parameters but no argument provider"
        )
    return reverse(route.name, kwargs=providers[route.name](canary), urlconf=urlconf)


def _clients(canary: Canary) -> Iterator[tuple[str, Client]]:
    yield "anonymous", Client(HTTP_HOST=canary.host)
    owner_client = Client(HTTP_HOST=canary.host)
    with schemas.tenant_context(canary.tenant):
        owner_client.force_login(canary.owner)
    yield "owner", owner_client


def walk(
    canaries: list[Canary], *, urlconf: str, providers: dict[str, ArgumentProvider]
) -> list[Leak]:
    """Request every route on every canary's host as each of its users; report leaks."""
    leaks: list[Leak] = []
    for canary in canaries:
        others = [secret for other in canaries if other is not canary for secret in other.secrets]
        for who, client in _clients(canary):
            for route in routes(urlconf):
                url = url_for(route, canary, urlconf, providers)
                response = client.get(url)
                assert response.status_code < 500, (
                    f"{url} on {canary.host} as {who}: {response.status_code}"
                )
                text = response.content.decode(errors="replace") + str(response.headers)
                leaks += [Leak(canary.host, who, url, s) for s in others if s in text]
    return leaks
