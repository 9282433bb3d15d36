"""The seeder registry: each module adds the defaults a new tenant starts with.

A module registers seeders in its ``seeds.py``; they run inside the new tenant's schema, in
one transaction, in ``order``. Seeders must be idempotent (a retry runs them again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.module_loading import autodiscover_modules


@dataclass(frozen=True)
class SeedContext:
    """Plain values about the tenant being seeded; seeders never see the tenant model."""

    slug: str
    name: str
    owner_email: str
    base_url: str
    branding: dict[str, Any] = field(default_factory=dict)


Seeder = Callable[[SeedContext], None]


@dataclass(frozen=True)
class _Entry:
    name: str
    order: int
    func: Seeder


_registry: dict[str, _Entry] = {}


def register(name: str, *, order: int = 100) -> Callable[[Seeder], Seeder]:
    """Decorator: register ``func`` under ``name`` (re-registering a name replaces it)."""

    def decorate(func: Seeder) -> Seeder:
        _registry[name] = _Entry(name=name, order=order, func=func)
        return func

    return decorate


def registered() -> list[_Entry]:
    return sorted(_registry.values(), key=lambda entry: (entry.order, entry.name))


def run_all(context: SeedContext) -> list[str]:
    """Run every seeder in order; returns their names."""
    names = []
    for entry in registered():
        entry.func(context)
        names.append(entry.name)
    return names


def autodiscover() -> None:
    autodiscover_modules("seeds")
