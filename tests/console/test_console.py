"""The operator console: password + TOTP, tenants, provision, suspend, reactivate."""

from __future__ import annotations

import time
import uuid

import pyotp
import pytest
from django.test import Client

from brokerdesk.modules.identity.models import User
from brokerdesk.platform.console.operators import totp_device, totp_verify
from brokerdesk.platform.models import TenantStatusChange
from brokerdesk.tenants.models import Tenant, TenantStatus
from support.tenants import tenant_destroy

from .conftest import PASSWORD, current_code


def test_anonymous_visitors_are_sent_to_sign_in(public_db, client):
    response = client.get("/console/", HTTP_HOST="localhost")

    assert response.status_code == 302 and response["Location"].startswith("/console/login/")


def test_a_password_alone_does_not_open_the_console(public_db, client, operator):
    client.defaults["HTTP_HOST"] = "localhost"
    client.post("/console/login/", {"username": operator.email, "password": PASSWORD})

    response = client.get("/console/")
    assert response.status_code == 302 and response["Location"] == "/console/otp/"
    enrol = client.get("/console/otp/")
    assert b"Set up your second factor" in enrol.content
    assert totp_device(operator).secret.reveal().encode() in enrol.content
    api = client.get("/api/platform/v1/tenants/")
    assert api.status_code == 403


def test_a_wrong_code_is_refused(public_db, client, operator):
    client.defaults["HTTP_HOST"] = "localhost"
    client.post("/console/login/", {"username": operator.email, "password": PASSWORD})

    response = client.post("/console/otp/", {"code": "000000"})

    assert response.status_code == 400 and b"not valid" in response.content
    assert client.get("/console/").status_code == 302


def test_a_replayed_code_is_refused(public_db, operator):
    code = current_code(operator)

    assert totp_verify(user=operator, code=code)
    assert not totp_verify(user=operator, code=code)


def test_a_code_from_an_older_step_after_a_newer_one_is_refused(public_db, operator):
    totp = pyotp.TOTP(totp_device(operator).secret.reveal())
    now = time.time()

    assert totp_verify(user=operator, code=totp.at(now), now=now)
    assert not totp_verify(user=operator, code=totp.at(now - 30), now=now)


def test_a_non_operator_gets_the_same_answer_as_a_wrong_password(public_db, client):
    User.objects.create_user(email="client@public.example", password=PASSWORD)

    response = client.post(
        "/console/login/",
        {"username": "client@public.example", "password": PASSWORD},
        HTTP_HOST="localhost",
    )
    wrong = client.post(
        "/console/login/",
        {"username": "nobody@public.example", "password": PASSWORD},
        HTTP_HOST="localhost",
    )

    assert response.status_code == wrong.status_code == 200
    assert (
        b"Please enter a correct" in response.content and b"Please enter a correct" in wrong.content
    )


def test_the_console_lists_tenants_with_status_plan_and_domains(console, test_tenant):
    response = console.get("/console/")

    assert response.status_code == 200
    assert b"Test Broker" in response.content and b"test.localhost" in response.content
    assert b'data-status="active"' in response.content and b"Starter" in response.content


def test_a_bad_provisioning_form_shows_field_errors_and_creates_nothing(console):
    before = Tenant.objects.count()

    response = console.post(
        "/console/tenants/new/",
        {
            "slug": "Admin",
            "name": "X",
            "owner_email": "x@y.example",
            "plan": "starter",
            "primary_color": "red",
            "accent_color": "#000",
        },
    )

    assert response.status_code == 400
    assert b"Use a colour like" in response.content
    assert Tenant.objects.count() == before
    response = console.post(
        "/console/tenants/new/",
        {
            "slug": "admin",
            "name": "X",
            "owner_email": "x@y.example",
            "plan": "starter",
            "primary_color": "#123",
            "accent_color": "#000",
        },
    )
    assert response.status_code == 400 and b"is reserved" in response.content
    assert Tenant.objects.count() == before


def test_suspending_needs_a_reason_and_changes_nothing_without_one(console, test_tenant):
    before = TenantStatusChange.objects.count()

    response = console.post("/console/tenants/test/suspend/", {"reason": " "})

    assert response.status_code == 400 and b"Say why" in response.content
    assert Tenant.objects.get(slug="test").status == TenantStatus.ACTIVE
    assert TenantStatusChange.objects.count() == before


@pytest.fixture
def provisioned_slugs(committed):
    slugs: list[str] = []
    yield slugs
    for tenant in Tenant.objects.filter(slug__in=slugs):
        tenant_destroy(tenant)
    # Deactivated, not deleted: the ORM's cascade from a public user would look for the
    # tenant-only tables that point at users (crm, ledger) in public; the product never
    # deletes users either.
    User.objects.filter(email__startswith="ops-e2e-").update(is_active=False)


def test_an_operator_provisions_suspends_and_reactivates_a_broker(
    provisioned_slugs, celery_worker_process
):
    from brokerdesk.platform.console.operators import operator_create

    email = f"ops-e2e-{uuid.uuid4().hex[:8]}@brokerdesk.example"
    operator = operator_create(email=email, password=PASSWORD)
    console = Client(HTTP_HOST="localhost")
    console.post("/console/login/", {"username": operator.email, "password": PASSWORD})
    console.post("/console/otp/", {"code": current_code(operator)})
    slug = f"ops-{uuid.uuid4().hex[:8]}"
    provisioned_slugs.append(slug)
    host = f"{slug}.localhost"

    response = console.post(
        "/console/tenants/new/",
        {
            "slug": slug,
            "name": "Console FX",
            "owner_email": "o@console.example",
            "plan": "growth",
            "primary_color": "#112233",
            "accent_color": "#445566",
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/console/tenants/{slug}/"
    _wait_for(lambda: Tenant.objects.get(slug=slug).status == TenantStatus.ACTIVE)
    assert Client().get("/", HTTP_HOST=host).status_code == 200

    console.post(f"/console/tenants/{slug}/suspend/", {"reason": "unpaid invoice"})
    suspended = Client().get("/backoffice/", HTTP_HOST=host)
    assert suspended.status_code == 503 and b"Console FX is suspended" in suspended.content

    console.post(f"/console/tenants/{slug}/reactivate/", {"reason": ""})
    # An anonymous visitor of the Back Office lands on its login page.
    assert Client().get("/backoffice/", HTTP_HOST=host, follow=True).status_code == 200
    detail = console.get(f"/console/tenants/{slug}/")
    assert b"unpaid invoice" in detail.content and email.encode() in detail.content
    history = list(
        TenantStatusChange.objects.filter(tenant__slug=slug)
        .order_by("id")
        .values_list("to_status", flat=True)
    )
    assert history == ["requested", "provisioning", "active", "suspended", "active"]


def _wait_for(condition, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_the_totp_secret_is_encrypted_at_rest(public_db, operator):
    from django.db import connection

    secret = totp_device(operator).secret.reveal()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret FROM platform_operatortotpdevice WHERE user_id = %s", [operator.pk]
        )
        raw = cursor.fetchone()[0]

    assert len(secret) == 32 and secret not in raw and raw.startswith("gAAAAA")
