"""Schema-level operations: names, the template, clones, and which migrations each schema has."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django_tenants.clone import CLONE_SCHEMA_FUNCTION, CloneSchema
from django_tenants.utils import schema_context, schema_exists, tenant_context

Migration = tuple[str, str]
CLONE_LOCK_KEY = 0x62726B64  # "brkd": one lock for every clone in this database

__all__ = ["schema_context", "tenant_context", "schema_exists"]


def schema_for_slug(slug: str) -> str:
    """Tenant schemas are prefixed so no slug can name `public` or the template."""
    return settings.TENANT_SCHEMA_PREFIX + slug.replace("-", "_")


@lru_cache(maxsize=1)
def _code_migrations() -> tuple[frozenset[Migration], frozenset[Migration]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    replaced = frozenset(name for names in loader.replacements.values() for name in names.replaces)
    return frozenset(loader.graph.nodes), replaced


def code_migrations() -> frozenset[Migration]:
    """Every migration the code defines (what a fully migrated public schema has applied)."""
    return _code_migrations()[0]


@lru_cache(maxsize=1)
def _tenant_app_labels() -> frozenset[str]:
    from django.apps import apps

    wanted = set(settings.TENANT_APPS)
    return frozenset(
        config.label
        for config in apps.get_app_configs()
        if config.name in wanted or f"{type(config).__module__}.{type(config).__name__}" in wanted
    )


def tenant_code_migrations() -> frozenset[Migration]:
    """The migrations of the tenant apps: what a tenant schema must have applied.

    A migration of a shared-only app changes nothing in a tenant schema (the router skips its
    operations), so it does not make every tenant stale; the next real tenant migration records
    it there in passing.
    """
    labels = _tenant_app_labels()
    return frozenset(m for m in code_migrations() if m[0] in labels)


def applied_migrations(schemas: Iterable[str]) -> dict[str, set[Migration]]:
    """Applied migrations per schema, read in a few round trips (no per-schema Django work)."""
    schemas = list(schemas)
    result: dict[str, set[Migration]] = {name: set() for name in schemas}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'django_migrations' AND table_schema = ANY(%s)",
            [schemas],
        )
        present = [row[0] for row in cursor.fetchall()]
        for chunk in _chunks(present, 100):
            query = " UNION ALL ".join(
                f"SELECT %s, app, name FROM {connection.ops.quote_name(name)}.django_migrations"
                for name in chunk
            )
            cursor.execute(query, chunk)
            for schema, app, name in cursor.fetchall():
                result[schema].add((app, name))
    return result


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class Drift:
    missing: frozenset[Migration]
    unknown: frozenset[Migration]

    @property
    def is_current(self) -> bool:
        return not self.missing and not self.unknown

    def describe(self) -> str:
        parts = []
        if self.missing:
            parts.append("missing " + ", ".join(f"{a}.{n}" for a, n in sorted(self.missing)[:5]))
        if self.unknown:
            parts.append("unknown " + ", ".join(f"{a}.{n}" for a, n in sorted(self.unknown)[:5]))
        return "; ".join(parts) or "current"


def schema_drift(schema: str) -> Drift:
    """How tenant (or template) ``schema``'s applied migrations differ from the code's."""
    everything, replaced = _code_migrations()
    applied = applied_migrations([schema])[schema]
    return Drift(
        missing=frozenset(tenant_code_migrations() - applied),
        unknown=frozenset(applied - everything - replaced),
    )


def stale_schemas(schemas: Iterable[str]) -> list[str]:
    """The tenant schemas that lack at least one of the tenant apps' migrations."""
    expected = tenant_code_migrations()
    applied = applied_migrations(schemas)
    return [name for name, done in applied.items() if not expected <= done]


def schema_create(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {connection.ops.quote_name(name)}")


def schema_drop(name: str) -> None:
    if name in {settings.PUBLIC_SCHEMA_NAME, "information_schema"} or name.startswith("pg_"):
        raise ValueError(f"refusing to drop schema {name!r}")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(name)} CASCADE")


def schema_clone(*, source: str, target: str) -> None:
    """Copy ``source`` (tables, sequences, constraints and rows) into a new schema ``target``.

    The rows copied include ``django_migrations``, so the clone is born fully migrated.
    """
    # clone_schema() creates and drops helper types in `public` on every call (and its
    # functions are installed on first use), so two clones at once collide: clones take one
    # shared lock. A transaction-scoped lock also makes each clone all-or-nothing.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CLONE_LOCK_KEY])
        _CloneOnce().clone_schema(source, target, clone_mode="DATA", set_connection=True)
        _constraint_names_restore(cursor, source=source, target=target)


# clone_schema() re-creates unique constraints from their definitions, and PostgreSQL names
# them itself (`<table>_<columns>_key`): the clone is as strict, but a later migration that
# removes or alters a constraint by its Django name would fail in every cloned tenant. Each
# one gets its source's name back: same table, same kind, same definition.
_MISNAMED_CONSTRAINTS = """
SELECT DISTINCT ON (t.relname, sc.conname) t.relname, tc.conname, sc.conname
FROM pg_constraint sc
JOIN pg_class s ON s.oid = sc.conrelid
JOIN pg_namespace sn ON sn.oid = s.relnamespace AND sn.nspname = %(source)s
JOIN pg_namespace tn ON tn.nspname = %(target)s
JOIN pg_class t ON t.relnamespace = tn.oid AND t.relname = s.relname
JOIN pg_constraint tc ON tc.conrelid = t.oid AND tc.contype = sc.contype
    AND pg_get_constraintdef(tc.oid) = pg_get_constraintdef(sc.oid)
WHERE sc.contype IN ('u', 'p', 'x') AND tc.conname <> sc.conname
  AND NOT EXISTS (
      SELECT 1 FROM pg_constraint same WHERE same.conrelid = t.oid AND same.conname = sc.conname
  )
  AND NOT EXISTS (
      SELECT 1 FROM pg_constraint twin
      WHERE twin.conrelid = s.oid AND twin.conname = tc.conname
  )
ORDER BY t.relname, sc.conname, tc.conname
"""


def _constraint_names_restore(cursor, *, source: str, target: str) -> None:
    cursor.execute(_MISNAMED_CONSTRAINTS, {"source": source, "target": target})
    quote = connection.ops.quote_name
    for table, wrong, right in cursor.fetchall():
        cursor.execute(
            f"ALTER TABLE {quote(target)}.{quote(table)} "
            f"RENAME CONSTRAINT {quote(wrong)} TO {quote(right)}"
        )


class _CloneOnce(CloneSchema):
    """CloneSchema that installs its plpgsql functions only when they are missing or stale.

    django-tenants re-creates them before every clone; in a long-lived DB session (a Celery
    worker's) each re-creation grew the backend by ~11 MB and made later clones slower
    (0.28 s → 0.73 s over 40 clones; docs/benchmarks.md). A comment on clone_schema() holds
    a hash of the SQL that created it; re-creating drops the function, and so the comment.
    """

    def _create_clone_schema_function(self) -> None:
        db_user = settings.DATABASES["default"].get("USER", None) or "postgres"
        digest = hashlib.sha256(CLONE_SCHEMA_FUNCTION.format(db_user=db_user).encode())
        marker = f"django-tenants clone function {digest.hexdigest()[:32]}"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = 'public' AND p.proname = 'clone_schema' "
                "AND obj_description(p.oid, 'pg_proc') = %s",
                [marker],
            )
            if cursor.fetchone():
                return
            super()._create_clone_schema_function()
            cursor.execute(
                f"COMMENT ON FUNCTION public.clone_schema(text, text, public.cloneparms[]) "
                f"IS '{marker}'"
            )


def tenant_schemas() -> list[str]:
    """Schemas of every tenant that has one (public and the template excluded)."""
    prefix = settings.TENANT_SCHEMA_PREFIX
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s) ORDER BY nspname",
            [prefix],
        )
        return [row[0] for row in cursor.fetchall()]


@contextmanager
def public_schema() -> Iterator[None]:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        yield
