"""Rate limits on registration, reset requests and verification re-sends (per source and per
e-mail address, in Redis through the cache), a clear 429 on pages and the API, and a reset
request that takes the same time whether or not the address has an account."""

from __future__ import annotations

import statistics
import time

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.notifications.models import OutboxEmail

JSON = "application/json"
PASSWORD = "correct horse battery"


def _limits(source: str, email: str) -> dict:
    return {
        action: {"source": source, "email": email}
        for action in ("register", "password_reset", "verification_resend")
    }


@pytest.fixture(autouse=True)
def _fresh_counters(db):
    """Counters live in Redis, which no transaction rolls back: start each test at zero
    (``clear`` empties only the test tenant's keys)."""
    cache.clear()
    yield
    cache.clear()


def _visitor(test_tenant, ip: str = "198.51.100.4") -> Client:
    return Client(HTTP_HOST=test_tenant.get_primary_domain().domain, REMOTE_ADDR=ip)


def _registration(email: str) -> dict:
    return {
        "email": email,
        "password": PASSWORD,
        "country": "DE",
        "language": "en",
        "phone": "+49 151 23456789",
    }


@override_settings(IDENTITY_RATE_LIMITS=_limits(source="100/h", email="2/h"))
def test_registration_is_limited_per_email_address_on_the_page(test_tenant):
    answers = [
        _visitor(test_tenant, ip=f"198.51.100.{n}").post(
            "/register/", _registration("Target@Example.com")
        )
        for n in range(3)
    ]

    assert [a.status_code for a in answers] == [302, 302, 429]
    limited = answers[-1]
    assert int(limited["Retry-After"]) > 0
    assert b"Too many attempts. Please wait" in limited.content
    assert b'data-testid="form-errors"' in limited.content
    # Only the first created the account; the second told its owner; the third did nothing.
    assert User.objects.filter(email="target@example.com").count() == 1
    assert OutboxEmail.objects.filter(to="target@example.com").count() == 2


@override_settings(IDENTITY_RATE_LIMITS=_limits(source="2/h", email="100/h"))
def test_registration_is_limited_per_source_address_on_the_api(test_tenant):
    visitor = _visitor(test_tenant)
    answers = [
        visitor.post(
            "/api/v1/auth/register/", _registration(f"c{n}@example.com"), content_type=JSON
        )
        for n in range(3)
    ]

    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[-1].json()["detail"].startswith("Too many attempts. Please wait")
    assert int(answers[-1]["Retry-After"]) > 0
    assert not User.objects.filter(email="c2@example.com").exists()
    # Another source address is not affected.
    other = _visitor(test_tenant, ip="198.51.100.99").post(
        "/api/v1/auth/register/", _registration("c3@example.com"), content_type=JSON
    )
    assert other.status_code == 202


@override_settings(IDENTITY_RATE_LIMITS=_limits(source="100/h", email="2/h"))
def test_the_email_limit_answers_alike_for_known_and_unknown_addresses(test_tenant):
    User.objects.create_user("known@example.com", PASSWORD, kind=UserKind.CLIENT)
    visitor = _visitor(test_tenant)

    def three(email):
        return [
            visitor.post("/api/v1/auth/password-reset/", {"email": email}, content_type=JSON)
            for _ in range(3)
        ]

    known, unknown = three("known@example.com"), three("unknown@example.com")

    assert [a.status_code for a in known] == [a.status_code for a in unknown] == [202, 202, 429]
    # The wait depends on the address's own counter window, never on whether it exists.
    assert [list(a.json()) for a in (known[-1], unknown[-1])] == [["detail"], ["detail"]]
    assert all(a.json()["detail"].endswith("and try again.") for a in (known[-1], unknown[-1]))
    assert OutboxEmail.objects.filter(template="password_reset").count() == 2


@override_settings(IDENTITY_RATE_LIMITS=_limits(source="2/h", email="100/h"))
def test_reset_requests_are_limited_per_source_on_the_page(test_tenant):
    visitor = _visitor(test_tenant)
    answers = [visitor.post("/password-reset/", {"email": f"r{n}@example.com"}) for n in range(3)]

    assert [a.status_code for a in answers] == [302, 302, 429]
    assert b"Too many attempts. Please wait" in answers[-1].content


@override_settings(IDENTITY_RATE_LIMITS=_limits(source="100/h", email="2/h"))
def test_verification_resends_are_limited_on_the_page_and_the_api(test_tenant):
    jane = User.objects.create_user("jane@example.com", PASSWORD, kind=UserKind.CLIENT)
    visitor = _visitor(test_tenant)
    visitor.force_login(jane)

    page = [visitor.post("/verify-email/resend/") for _ in range(2)]
    api = visitor.post("/api/v1/auth/verify-email/resend/", content_type=JSON)
    page_again = visitor.post("/verify-email/resend/")

    assert [a.status_code for a in page] == [302, 302]
    assert api.status_code == 429 and "Retry-After" in api
    assert page_again.status_code == 429
    assert b"Too many attempts. Please wait" in page_again.content
    assert b'data-testid="profile"' in page_again.content
    assert OutboxEmail.objects.filter(to="jane@example.com", template="verify_email").count() == 2


@override_settings(IDENTITY_RATE_LIMITS=_limits(source="1/h", email="100/h"))
def test_the_counters_are_kept_in_the_tenants_cache(test_tenant):
    visitor = _visitor(test_tenant)
    visitor.post("/password-reset/", {"email": "a@example.com"})
    assert visitor.post("/password-reset/", {"email": "b@example.com"}).status_code == 429

    cache.clear()  # the test tenant's keys only

    assert visitor.post("/password-reset/", {"email": "c@example.com"}).status_code == 302


@override_settings(PASSWORD_RESET_ANSWER_FLOOR_MS=250)
def test_a_reset_request_takes_the_same_time_for_known_and_unknown_addresses(test_tenant):
    User.objects.create_user("known@example.com", PASSWORD, kind=UserKind.CLIENT)
    visitor = _visitor(test_tenant)

    def timed(email: str) -> float:
        started = time.perf_counter()
        response = visitor.post("/api/v1/auth/password-reset/", {"email": email}, content_type=JSON)
        assert response.status_code == 202
        return time.perf_counter() - started

    known, unknown = [], []
    for _ in range(5):
        known.append(timed("known@example.com"))
        unknown.append(timed("nobody@example.com"))

    # Both never answer before the floor, and their medians differ by far less than the
    # work only a known address causes (token, e-mail, audit row) would otherwise show.
    assert min(known) >= 0.25 and min(unknown) >= 0.25
    assert abs(statistics.median(known) - statistics.median(unknown)) < 0.05
    assert OutboxEmail.objects.filter(template="password_reset").count() == 5


@override_settings(PASSWORD_RESET_ANSWER_FLOOR_MS=0)
def test_without_the_floor_the_known_address_does_measurably_more_work(test_tenant):
    """The floor is needed: the known path writes a token, an e-mail and an audit row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    User.objects.create_user("known@example.com", PASSWORD, kind=UserKind.CLIENT)
    visitor = _visitor(test_tenant)

    with CaptureQueriesContext(connection) as known:
        visitor.post(
            "/api/v1/auth/password-reset/", {"email": "known@example.com"}, content_type=JSON
        )
    with CaptureQueriesContext(connection) as unknown:
        visitor.post(
            "/api/v1/auth/password-reset/", {"email": "nobody@example.com"}, content_type=JSON
        )

    assert len(known) > len(unknown) + 3
