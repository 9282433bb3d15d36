"""Provisioning: request a tenant, then bring it to active by cloning the template schema.

Status machine: requested → provisioning → active | failed; failed → provisioning (retry).
Every transition is a compare-and-swap update plus a TenantStatusChange row.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from brokerdesk.platform.models import Plan, TenantStatusChange
from brokerdesk.platform.provisioning import seeders
from brokerdesk.platform.provisioning.validation import validate_slug
from brokerdesk.tenants import schemas
from brokerdesk.tenants.models import Domain, Tenant, TenantStatus

logger = logging.getLogger(__name__)

S = TenantStatus
TRANSITIONS: dict[str, set[str]] = {
    S.REQUESTED: {S.PROVISIONING},
    S.PROVISIONING: {S.ACTIVE, S.FAILED, S.PROVISIONING},
    S.FAILED: {S.PROVISIONING},
    S.ACTIVE: {S.SUSPENDED},
    S.SUSPENDED: {S.ACTIVE},
}
DEFAULT_PLAN = "starter"


class TemplateStale(RuntimeError):
    """The template schema's migrations differ from the code's: cloning it would be wrong."""


class TransitionRefused(RuntimeError):
    pass


@dataclass(frozen=True)
class TenantRequest:
    tenant: Tenant
    created: bool


def tenant_url(tenant: Tenant) -> str:
    port = f":{settings.PUBLIC_URL_PORT}" if settings.PUBLIC_URL_PORT else ""
    return f"{settings.PUBLIC_URL_SCHEME}://{tenant_primary_domain(tenant)}{port}/"


def tenant_primary_domain(tenant: Tenant) -> str:
    return f"{tenant.slug}.{settings.PLATFORM_DOMAIN}"


def _validate_request(*, slug: str, name: str, owner_email: str) -> None:
    errors: dict[str, list[str]] = {}
    for field, check in (
        ("slug", lambda: validate_slug(slug)),
        ("owner_email", lambda: validate_email(owner_email)),
    ):
        try:
            check()
        except ValidationError as exc:
            errors[field] = [str(message) for message in exc.messages]
    if field_error := _name_error(name):
        errors["name"] = [field_error]
    if errors:
        raise ValidationError(errors)


def _name_error(name: str) -> str | None:
    if not name.strip():
        return "The display name is empty."
    if len(name) > 120:
        return f"The display name is {len(name)} characters long; at most 120 are allowed."
    return None


def _plan(plan_code: str | None) -> Plan:
    code = plan_code or DEFAULT_PLAN
    plan = Plan.objects.filter(code=code).first()
    if plan is None:
        known = ", ".join(Plan.objects.values_list("code", flat=True))
        raise ValidationError({"plan": [f"Unknown plan {code!r}; known plans: {known}."]})
    return plan


def tenant_request(
    *,
    slug: str,
    name: str,
    owner_email: str,
    actor: str,
    plan_code: str | None = None,
    branding: dict[str, Any] | None = None,
    enqueue: bool = True,
) -> TenantRequest:
    """Record a new tenant as `requested` and queue its provisioning.

    A slug that already exists returns that tenant as it is and creates nothing.
    """
    existing = Tenant.objects.filter(slug=slug).first()
    if existing is not None:
        return TenantRequest(tenant=existing, created=False)
    _validate_request(slug=slug, name=name, owner_email=owner_email)
    plan = _plan(plan_code)
    try:
        with transaction.atomic():
            tenant = Tenant(
                schema_name=schemas.schema_for_slug(slug),
                slug=slug,
                name=name.strip(),
                owner_email=owner_email.lower(),
                plan=plan,
                branding=branding or {},
            )
            tenant.save()
            Domain.objects.create(
                domain=tenant_primary_domain(tenant), tenant=tenant, is_primary=True
            )
            _record(tenant, "", S.REQUESTED, actor=actor, reason="requested")
            if enqueue:
                transaction.on_commit(lambda: _enqueue(tenant.pk))
    except IntegrityError:
        # A concurrent request for the same slug won: return that one.
        return TenantRequest(tenant=Tenant.objects.get(slug=slug), created=False)
    return TenantRequest(tenant=tenant, created=True)


def _operable(slug: str) -> Tenant:
    tenant = (
        Tenant.objects.filter(slug=slug).exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).first()
    )
    if tenant is None:
        raise ValidationError({"slug": [f"No tenant {slug!r}."]})
    return tenant


def tenant_suspend(*, slug: str, reason: str, actor: str) -> Tenant:
    """Suspend an active tenant: its faces answer with a suspended page; data is kept."""
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the tenant is suspended."]})
    tenant = _operable(slug)
    if tenant.status != S.ACTIVE:
        raise ValidationError(
            {"slug": [f"Only an active tenant can be suspended; {slug} is {tenant.status}."]}
        )
    _transition(tenant, S.SUSPENDED, actor=actor, reason=reason.strip())
    return tenant


def tenant_reactivate(*, slug: str, actor: str, reason: str = "") -> Tenant:
    """Bring a suspended tenant back to active."""
    tenant = _operable(slug)
    if tenant.status != S.SUSPENDED:
        raise ValidationError(
            {"slug": [f"Only a suspended tenant can be reactivated; {slug} is {tenant.status}."]}
        )
    _transition(tenant, S.ACTIVE, actor=actor, reason=reason.strip() or "reactivated")
    return tenant


def tenant_retry(*, slug: str, actor: str) -> Tenant:
    """Queue provisioning again for a tenant that is not active (failed, or stuck because its
    task was lost); a run already in progress holds the tenant's lock, so a second is a no-op."""
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise ValidationError({"slug": [f"No tenant {slug!r}."]})
    if tenant.status != S.ACTIVE:
        _enqueue(tenant.pk)
    return tenant


SETTLED = frozenset({TenantStatus.ACTIVE, TenantStatus.FAILED})


def tenant_wait_settled(tenant: Tenant, *, timeout_s: float, poll_s: float = 0.02) -> Tenant:
    """Poll until the worker has made ``tenant`` active or failed; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout_s
    while True:
        tenant.refresh_from_db()
        if tenant.status in SETTLED:
            return tenant
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"tenant {tenant.slug} is still {tenant.status} after {timeout_s:.0f} s"
            )
        time.sleep(poll_s)


def _enqueue(tenant_id: int) -> None:
    from brokerdesk.platform.tasks import provision_tenant

    provision_tenant.delay(tenant_id)


def _record(tenant: Tenant, old: str, new: str, *, actor: str, reason: str = "") -> None:
    TenantStatusChange.objects.create(
        tenant=tenant, from_status=old, to_status=new, changed_by=actor, reason=reason
    )


def _transition(tenant: Tenant, new: str, *, actor: str, reason: str = "", **fields: Any) -> None:
    """Compare-and-swap ``tenant`` from its current status to ``new``, with a history row."""
    old = tenant.status
    if new not in TRANSITIONS.get(old, set()):
        raise TransitionRefused(f"tenant {tenant.slug}: {old} → {new} is not allowed")
    now = timezone.now()
    with transaction.atomic():
        changed = Tenant.objects.filter(pk=tenant.pk, status=old).update(
            status=new, status_changed_at=now, **fields
        )
        if changed != 1:
            raise TransitionRefused(f"tenant {tenant.slug} is no longer {old}")
        _record(tenant, old, new, actor=actor, reason=reason)
    tenant.status = new
    tenant.status_changed_at = now
    for key, value in fields.items():
        setattr(tenant, key, value)


def template_check() -> None:
    """Refuse to clone a template whose applied migrations differ from the code's."""
    drift = schemas.schema_drift(settings.TENANT_TEMPLATE_SCHEMA)
    if not drift.is_current:
        raise TemplateStale(
            f"template schema {settings.TENANT_TEMPLATE_SCHEMA!r} is not current "
            f"({drift.describe()}); run `brokerdesk migrate` first"
        )


def _advisory_key(tenant: Tenant) -> int:
    return 0x7E4A47 * 1_000_000 + tenant.pk


def tenant_provision(*, tenant_id: int, actor: str = "provisioning-worker") -> Tenant:
    """Bring a requested (or failed) tenant to active: clone, migrate check, seed.

    Idempotent and resumable: an active tenant is returned untouched; a schema left by an
    earlier attempt is reused; seeders are idempotent. Concurrent runs for one tenant
    serialise on an advisory lock.
    """
    connection.set_schema_to_public()
    tenant = Tenant.objects.get(pk=tenant_id)
    if tenant.status == S.ACTIVE:
        return tenant
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_advisory_key(tenant)])
        if not cursor.fetchone()[0]:
            return tenant
    try:
        tenant.refresh_from_db()
        if tenant.status == S.ACTIVE:
            return tenant
        _transition(tenant, S.PROVISIONING, actor=actor, attempts=tenant.attempts + 1, error="")
        try:
            _build(tenant)
        except Exception as exc:
            connection.set_schema_to_public()
            error = f"{type(exc).__name__}: {exc}"
            logger.error(
                "provisioning %s failed: %s\n%s", tenant.slug, error, traceback.format_exc()
            )
            _transition(tenant, S.FAILED, actor=actor, reason=error[:500], error=error)
            raise
        _transition(tenant, S.ACTIVE, actor=actor, activated_at=timezone.now())
        return tenant
    finally:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_advisory_key(tenant)])


def _build(tenant: Tenant) -> None:
    if not schemas.schema_exists(tenant.schema_name):
        template_check()
        schemas.schema_clone(source=settings.TENANT_TEMPLATE_SCHEMA, target=tenant.schema_name)
    else:
        drift = schemas.schema_drift(tenant.schema_name)
        if drift.missing:
            from brokerdesk.tenants.migrating import migrate_schema

            migrate_schema(tenant.schema_name)
    context = seeders.SeedContext(
        slug=tenant.slug,
        name=tenant.name,
        owner_email=tenant.owner_email,
        base_url=tenant_url(tenant),
        branding=dict(tenant.branding),
    )
    with schemas.tenant_context(tenant), transaction.atomic():
        seeders.run_all(context)


_HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _domain_error(domain: str) -> str | None:
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_HOSTNAME_LABEL.match(x) for x in labels):
        return f"{domain!r} is not a valid host name."
    if domain.startswith("www."):
        return f"{domain!r} starts with 'www.', which requests lose before the lookup; add {domain[4:]!r}."
    if domain == settings.PLATFORM_DOMAIN or domain.endswith("." + settings.PLATFORM_DOMAIN):
        return f"{domain!r} is under the platform's own domain; use the tenant's slug instead."
    if Domain.objects.filter(domain=domain).exists():
        return f"{domain!r} is already in use."
    return None


def tenant_domain_add(*, slug: str, domain: str, actor: str) -> Domain:
    """Attach a custom domain (e.g. portal.acme-fx.com) to a tenant; stored lower-case."""
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise ValidationError({"slug": [f"No tenant {slug!r}."]})
    normalised = domain.strip().rstrip(".").lower()
    if error := _domain_error(normalised):
        raise ValidationError({"domain": [error]})
    with transaction.atomic():
        added = Domain.objects.create(domain=normalised, tenant=tenant, is_primary=False)
        _record(
            tenant, tenant.status, tenant.status, actor=actor, reason=f"domain added: {normalised}"
        )
    return added
