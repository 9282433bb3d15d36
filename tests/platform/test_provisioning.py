"""Provisioning: the status machine, idempotency, bad input, failure and retry, the worker."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from brokerdesk.modules.identity.models import SetPasswordLink, User
from brokerdesk.platform.models import TenantStatusChange
from brokerdesk.platform.provisioning import seeders, services
from brokerdesk.tenants import schemas
from brokerdesk.tenants.models import Domain, Tenant, TenantStatus
from support.tenants import tenant_destroy


def _slug() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"


def _counts() -> tuple[int, int, int, int]:
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace")
        namespaces = cursor.fetchone()[0]
    return (
        Tenant.objects.count(),
        Domain.objects.count(),
        TenantStatusChange.objects.count(),
        namespaces,
    )


@pytest.fixture
def cleanup(committed):
    created: list[str] = []
    yield created
    connection.set_schema_to_public()
    for tenant in Tenant.objects.filter(slug__in=created):
        tenant_destroy(tenant)


def test_a_requested_tenant_is_provisioned_by_a_real_worker(cleanup, celery_worker_process):
    slug = _slug()
    cleanup.append(slug)

    result = services.tenant_request(
        slug=slug,
        name="Worker FX",
        owner_email="Boss@Worker.Example",
        actor="tests",
        branding={"primary_color": "#123456"},
    )

    assert result.created and result.tenant.status == TenantStatus.REQUESTED
    tenant = _wait_until_settled(result.tenant)
    assert tenant.status == TenantStatus.ACTIVE, tenant.error
    assert tenant.attempts == 1 and tenant.activated_at is not None
    assert list(Domain.objects.filter(tenant=tenant).values_list("domain", flat=True)) == [
        f"{slug}.localhost"
    ]
    history = list(
        TenantStatusChange.objects.filter(tenant=tenant).values_list("from_status", "to_status")
    )
    assert history == [("", "requested"), ("requested", "provisioning"), ("provisioning", "active")]
    with schemas.tenant_context(tenant):
        owner = User.objects.get()
        assert (owner.email, owner.is_superuser, owner.has_usable_password()) == (
            "boss@worker.example",
            True,
            False,
        )
        assert SetPasswordLink.objects.filter(user=owner, used_at__isnull=True).count() == 1


def _wait_until_settled(tenant: Tenant, timeout_s: float = 30) -> Tenant:
    return services.tenant_wait_settled(tenant, timeout_s=timeout_s, poll_s=0.05)


def test_an_existing_slug_returns_its_state_and_creates_nothing(public_db, test_tenant):
    before = _counts()

    result = services.tenant_request(
        slug=test_tenant.slug, name="Another name", owner_email="x@y.example", actor="tests"
    )

    assert not result.created
    assert result.tenant.pk == test_tenant.pk and result.tenant.status == TenantStatus.ACTIVE
    assert result.tenant.name == "Test Broker"
    assert _counts() == before


@pytest.mark.parametrize(
    ("slug", "fragment"),
    [
        ("Acme", "upper-case"),
        ("a" * 41, "at most 40"),
        ("-acme", "not a DNS label"),
        ("acme-", "not a DNS label"),
        ("ac_me", "not a DNS label"),
        ("ac.me", "not a DNS label"),
        ("ac me", "not a DNS label"),
        ("", "empty"),
        *[
            (reserved, "reserved")
            for reserved in ("www", "api", "admin", "app", "public", "static", "mail")
        ],
    ],
)
def test_an_invalid_slug_is_refused_with_a_clear_message_and_creates_nothing(
    public_db, slug, fragment
):
    before = _counts()

    with pytest.raises(ValidationError) as excinfo:
        services.tenant_request(slug=slug, name="Bad", owner_email="o@bad.example", actor="tests")

    assert fragment in " ".join(excinfo.value.message_dict["slug"])
    assert _counts() == before


def test_a_slug_of_exactly_40_characters_is_accepted(public_db):
    result = services.tenant_request(
        slug="a" * 40, name="Long", owner_email="o@long.example", actor="tests", enqueue=False
    )
    assert result.created and result.tenant.schema_name == "t_" + "a" * 40


@pytest.mark.parametrize(
    ("field", "kwargs", "fragment"),
    [
        ("owner_email", {"owner_email": "not-an-email"}, "valid email"),
        ("name", {"name": "   "}, "empty"),
        ("plan", {"plan_code": "platinum"}, "Unknown plan"),
    ],
)
def test_other_bad_fields_are_refused_and_create_nothing(public_db, field, kwargs, fragment):
    before = _counts()
    arguments = {"slug": _slug(), "name": "Fine", "owner_email": "o@fine.example", **kwargs}

    with pytest.raises(ValidationError) as excinfo:
        services.tenant_request(actor="tests", **arguments)

    assert fragment in " ".join(excinfo.value.message_dict[field])
    assert _counts() == before


class _FailOnce:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, context: seeders.SeedContext) -> None:
        self.calls += 1
        User.objects.create(email=f"half-way-{self.calls}@{context.slug}.example")
        if self.calls == 1:
            raise RuntimeError("the KYC defaults could not be written")


def test_a_failure_half_way_leaves_the_tenant_failed_and_a_retry_finishes_it(cleanup):
    slug = _slug()
    cleanup.append(slug)
    flaky = _FailOnce()
    seeders.register("tests.flaky", order=500)(flaky)
    try:
        tenant = services.tenant_request(
            slug=slug, name="Flaky FX", owner_email="o@flaky.example", actor="tests", enqueue=False
        ).tenant

        with pytest.raises(RuntimeError):
            services.tenant_provision(tenant_id=tenant.pk)

        tenant.refresh_from_db()
        assert tenant.status == TenantStatus.FAILED
        assert tenant.error == "RuntimeError: the KYC defaults could not be written"
        with schemas.tenant_context(tenant):
            # The seeding transaction rolled back as a whole: not even the owner was kept.
            assert User.objects.count() == 0

        tenant = services.tenant_provision(tenant_id=tenant.pk)

        assert tenant.status == TenantStatus.ACTIVE and tenant.attempts == 2 and tenant.error == ""
        with schemas.tenant_context(tenant):
            assert sorted(User.objects.values_list("email", flat=True)) == [
                f"half-way-2@{slug}.example",
                "o@flaky.example",
            ]
    finally:
        seeders._registry.pop("tests.flaky")


def test_provisioning_an_active_tenant_again_changes_nothing(cleanup):
    slug = _slug()
    cleanup.append(slug)
    tenant = services.tenant_request(
        slug=slug, name="Twice FX", owner_email="o@twice.example", actor="tests", enqueue=False
    ).tenant
    services.tenant_provision(tenant_id=tenant.pk)
    changes = TenantStatusChange.objects.filter(tenant=tenant).count()

    again = services.tenant_provision(tenant_id=tenant.pk)

    assert again.status == TenantStatus.ACTIVE and again.attempts == 1
    assert TenantStatusChange.objects.filter(tenant=tenant).count() == changes


def test_every_transition_of_the_status_machine(public_db):
    """Walk every (from, to) pair: allowed ones move, all others are refused."""
    statuses = [choice for choice, _ in TenantStatus.choices]
    for old in statuses:
        for new in statuses:
            tenant = Tenant.objects.create(
                schema_name=f"t_sm_{uuid.uuid4().hex[:8]}",
                slug=f"sm-{uuid.uuid4().hex[:8]}",
                name="SM",
                owner_email="o@sm.example",
                status=old,
            )
            allowed = new in services.TRANSITIONS[old]
            if allowed:
                services._transition(tenant, new, actor="tests")
                assert Tenant.objects.get(pk=tenant.pk).status == new
            else:
                with pytest.raises(services.TransitionRefused):
                    services._transition(tenant, new, actor="tests")
                assert Tenant.objects.get(pk=tenant.pk).status == old
