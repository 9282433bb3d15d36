"""API tokens for integrators: each limited to chosen codes, never beyond its owner's.

The secret is shown once and only its hash is stored; creation and revocation are audited;
a request with a token acts as its owner with the codes both hold, decided in rbac.checks;
revoked, expired, unknown tokens and tokens of deactivated owners get 401; tokens never open
Back Office pages; token requests skip the staff second factor, sessions do not.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.authentication import SessionAuthentication
from rest_framework.views import APIView

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.rbac.checks import codes_for, grants_limit, permission_check
from brokerdesk.modules.identity.rbac.models import Role
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.identity.tokens import services
from brokerdesk.modules.identity.tokens.authentication import ApiTokenAuthentication
from brokerdesk.modules.identity.tokens.models import ApiToken
from support.rbac_actors import sign_in, user_make
from support.second_factor import force_login_unverified

JSON = "application/json"
TOKENS = "/api/v1/tokens/"
AUDIT = "/api/v1/audit/"
CONFIG = "/api/v1/config/branding/"
STAFF = "/api/v1/staff/"


@pytest.fixture
def roles(db) -> dict[str, Role]:
    return default_roles_ensure()


@pytest.fixture
def admin(roles) -> User:
    return user_make("admin@tokens.example", roles=[roles["super_admin"]])


@pytest.fixture
def auditor_role(db) -> Role:
    return Role.objects.create(
        name="Token auditors", codes=["audit.view", "tokens.manage", "clients.view"]
    )


@pytest.fixture
def auditor(auditor_role) -> User:
    """A staff member who holds audit.view and tokens.manage, nothing of configuration."""
    return user_make("auditor@tokens.example", roles=[auditor_role])


def _bearer(client, secret: str):
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def _create(client, **body):
    return client.post(TOKENS, data=body, content_type=JSON)


def test_a_token_is_created_with_its_secret_shown_once_and_only_a_hash_stored(tenant_client, admin):
    audit_before = AuditEntry.objects.count()
    client = sign_in(tenant_client, admin)

    response = _create(client, name="Accounting export", codes=["audit.view", "clients.view"])

    assert response.status_code == 201
    body = response.json()
    secret = body["secret"]
    token = ApiToken.objects.get(public_id=body["id"])
    assert secret.startswith(token.prefix + "_") and token.prefix.startswith("bdt_")
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert (body["name"], body["codes"], body["status"], body["owner"]["email"]) == (
        "Accounting export",
        ["audit.view", "clients.view"],
        "active",
        "admin@tokens.example",
    )
    assert response["Cache-Control"] == "no-store"
    # Never again: neither the list nor the detail carries the secret.
    listed = client.get(TOKENS).json()
    assert [row["id"] for row in listed] == [body["id"]]
    assert "secret" not in listed[0] and secret not in client.get(TOKENS).content.decode()
    assert "secret" not in client.get(f"{TOKENS}{token.public_id}/").json()
    (row,) = AuditEntry.objects.order_by("-sequence")[:1]
    assert AuditEntry.objects.count() == audit_before + 1
    assert (row.action, row.actor_label, row.target_type, row.target_public_id) == (
        "identity.api_token_created",
        "admin@tokens.example",
        "api_token",
        str(token.public_id),
    )
    assert row.after["codes"] == ["audit.view", "clients.view"] and secret not in str(row.after)


def test_a_token_cannot_hold_codes_its_creator_does_not_hold(tenant_client, auditor):
    client = sign_in(tenant_client, auditor)
    audit_before = AuditEntry.objects.count()

    response = _create(client, name="Sneaky", codes=["audit.view", "config.manage"])

    assert response.status_code == 400
    assert response.json() == {
        "codes": ["You can't give a token permissions you don't hold: config.manage."]
    }
    assert ApiToken.objects.count() == 0 and AuditEntry.objects.count() == audit_before


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"name": "", "codes": []}, {"name", "codes"}),
        ({"name": "x" * 101, "codes": ["audit.view"]}, {"name"}),
        ({"name": "ok", "codes": ["no.such"]}, {"codes"}),
        ({"name": "ok", "codes": "audit.view"}, {"codes"}),
        ({"name": "ok", "codes": ["audit.view"], "expires_at": "2001-01-01T00:00:00Z"}, {"expires_at"}),
        ({"name": "ok", "codes": ["audit.view"], "expires_at": "tomorrow"}, {"expires_at"}),
        ({"codes": [["audit.view"]]}, {"name", "codes"}),
    ],
)  # fmt: skip
def test_bad_token_input_is_a_field_level_400_and_creates_nothing(
    tenant_client, admin, body, errors
):
    response = _create(sign_in(tenant_client, admin), **body)

    assert response.status_code == 400
    assert set(response.json()) == errors
    assert ApiToken.objects.count() == 0


def _token_for(user: User, codes: list[str], **extra) -> str:
    _, secret = services.api_token_create(actor=user, name="Integration", codes=codes, **extra)
    return secret


def test_a_token_limited_to_audit_view_reads_the_audit_log_and_nothing_else(tenant_client, admin):
    secret = _token_for(admin, ["audit.view"])
    client = _bearer(tenant_client, secret)

    assert client.get(AUDIT).status_code == 200
    assert client.get(CONFIG).status_code == 403
    assert client.patch(CONFIG, data={"name": "x"}, content_type=JSON).status_code == 403
    assert client.get(STAFF).status_code == 403
    assert client.get(TOKENS).status_code == 403
    # Any active staff reads the API description; the token's owner is staff.
    assert client.get("/api/v1/schema/").status_code == 200


def test_the_owner_losing_a_code_takes_it_from_the_token_at_once(
    tenant_client, auditor, auditor_role
):
    secret = _token_for(auditor, ["audit.view"])
    client = _bearer(tenant_client, secret)
    assert client.get(AUDIT).status_code == 200

    auditor_role.codes = ["clients.view", "tokens.manage"]
    auditor_role.save()

    assert client.get(AUDIT).status_code == 403


def test_a_token_never_holds_more_than_its_owner_even_a_superuser(db, admin):
    admin.is_superuser = True
    admin.save()
    grants_limit(admin, ["audit.view", "no.such.code"])

    assert codes_for(admin) == frozenset({"audit.view"})
    assert permission_check(admin, "audit.view") and not permission_check(admin, "config.manage")


def test_revoking_a_token_ends_it_and_is_audited(tenant_client, admin):
    token, secret = services.api_token_create(actor=admin, name="Old", codes=["audit.view"])
    client = sign_in(tenant_client, admin)

    response = client.post(f"{TOKENS}{token.public_id}/revoke/", content_type=JSON)

    assert response.status_code == 200 and response.json()["status"] == "revoked"
    row = AuditEntry.objects.order_by("-sequence").first()
    assert (row.action, row.before["status"], row.after) == (
        "identity.api_token_revoked",
        "active",
        {"status": "revoked"},
    )
    again = client.post(f"{TOKENS}{token.public_id}/revoke/", content_type=JSON)
    assert again.status_code == 400
    assert again.json() == {"non_field_errors": ["This token is already revoked."]}
    from django.test import Client

    bearer = Client(HTTP_HOST=tenant_client.defaults["HTTP_HOST"])
    refused = _bearer(bearer, secret).get(AUDIT)
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("case", ["expired", "deactivated", "unknown", "malformed", "revoked"])
def test_dead_tokens_get_401_and_never_fall_back_to_the_session(tenant_client, admin, case):
    token, secret = services.api_token_create(actor=admin, name="T", codes=["audit.view"])
    if case == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    elif case == "deactivated":
        User.objects.filter(pk=admin.pk).update(is_active=False)
    elif case == "unknown":
        secret = secret[:-4] + "AAAA"
    elif case == "revoked":
        services.api_token_revoke(actor=admin, token=token)
    client = sign_in(tenant_client, user_make("other@tokens.example", roles=[]))
    header = f"Bearer {secret}" if case != "malformed" else f"Bearer {secret} extra"
    client.defaults["HTTP_AUTHORIZATION"] = header

    response = client.get(AUDIT)

    assert response.status_code == 401
    assert "detail" in response.json()


def test_an_expiry_in_the_future_lets_the_token_work_until_then(tenant_client, admin):
    secret = _token_for(admin, ["audit.view"], expires_at=timezone.now() + timedelta(hours=1))

    assert _bearer(tenant_client, secret).get(AUDIT).status_code == 200


def test_a_token_records_when_it_was_last_used(tenant_client, admin):
    token, secret = services.api_token_create(actor=admin, name="T", codes=["audit.view"])
    assert token.last_used_at is None

    _bearer(tenant_client, secret).get(AUDIT)

    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < timedelta(seconds=30)


def test_a_token_never_opens_back_office_pages(tenant_client, admin):
    secret = _token_for(admin, ["audit.view", "config.manage"])
    client = _bearer(tenant_client, secret)

    for page in ("/backoffice/", "/backoffice/audit/", "/backoffice/settings/"):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/backoffice/login/"), page


def test_token_requests_skip_the_second_factor_but_sessions_do_not(tenant_client, admin):
    from django.test import Client

    secret = _token_for(admin, ["audit.view"])
    unverified = Client(HTTP_HOST=tenant_client.defaults["HTTP_HOST"])
    force_login_unverified(unverified, admin)

    assert unverified.get(AUDIT).status_code == 403
    # The same unverified browser session with a token: the token alone decides.
    assert _bearer(unverified, secret).get(AUDIT).status_code == 200
    assert (
        _bearer(Client(HTTP_HOST=tenant_client.defaults["HTTP_HOST"]), secret)
        .get(AUDIT)
        .status_code
        == 200
    )


def test_a_token_cannot_create_tokens(tenant_client, admin):
    secret = _token_for(admin, ["tokens.manage", "audit.view"])
    client = _bearer(tenant_client, secret)

    assert client.get(TOKENS).status_code == 200
    response = _create(client, name="Copy", codes=["audit.view"])

    assert response.status_code == 403
    assert ApiToken.objects.count() == 1


def test_staff_with_own_scope_see_and_revoke_only_their_own_tokens(tenant_client, admin, db):
    own_role = Role.objects.create(
        name="Own token keepers", codes=["tokens.manage", "audit.view"], scope="own"
    )
    keeper = user_make("keeper@tokens.example", roles=[own_role])
    mine, _ = services.api_token_create(actor=keeper, name="Mine", codes=["audit.view"])
    theirs, _ = services.api_token_create(actor=admin, name="Theirs", codes=["audit.view"])
    client = sign_in(tenant_client, keeper)

    assert [row["name"] for row in client.get(TOKENS).json()] == ["Mine"]
    assert client.get(f"{TOKENS}{theirs.public_id}/").status_code == 404
    assert client.post(f"{TOKENS}{theirs.public_id}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None
    assert client.post(f"{TOKENS}{mine.public_id}/revoke/").status_code == 200


def test_the_back_office_page_creates_shows_the_secret_once_and_revokes(tenant_client, admin):
    client = sign_in(tenant_client, admin)

    page = client.get("/backoffice/tokens/")
    assert page.status_code == 200 and b'data-testid="token-form"' in page.content
    created = client.post(
        "/backoffice/tokens/", {"name": "CRM sync", "codes": ["audit.view", "clients.view"]}
    )

    assert created.status_code == 200 and created["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(name="CRM sync")
    secret = created.context["secret"]
    assert secret.encode() in created.content
    assert hashlib.sha256(secret.encode()).hexdigest() == token.token_hash
    listing = client.get("/backoffice/tokens/")
    assert token.prefix.encode() in listing.content and secret.encode() not in listing.content

    revoked = client.post(f"/backoffice/tokens/{token.public_id}/revoke/")

    assert revoked.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == admin


def test_the_back_office_form_offers_only_held_codes_and_refuses_bad_input(tenant_client, auditor):
    client = sign_in(tenant_client, auditor)

    page = client.get("/backoffice/tokens/")
    offered = {
        value for _, group in page.context["form"].fields["codes"].choices for value, _ in group
    }
    assert offered == {"audit.view", "tokens.manage", "clients.view"}
    refused = client.post("/backoffice/tokens/", {"name": "", "codes": ["config.manage"]})

    assert refused.status_code == 400
    assert set(refused.context["form"].errors) == {"name", "codes"}
    assert ApiToken.objects.count() == 0


def _tenant_api_views():
    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
                yield route, getattr(pattern.callback, "cls", None)

    return list(walk(get_resolver("brokerdesk.platform.urls_tenant").url_patterns, ""))


# The sign-in flows are about sessions: a token has nothing to do there.
SESSION_ONLY = ("api/v1/auth/",)


def test_every_tenant_api_view_accepts_tokens_first():
    """A new endpoint that sets its own authentication must keep the token (and first, so
    that a bad token is a 401, not a fall back to the session)."""
    views = _tenant_api_views()
    assert len(views) > 20
    wrong = []
    for route, view in views:
        assert view is not None and issubclass(view, APIView), route
        classes = list(view.authentication_classes)
        if route.startswith(SESSION_ONLY):
            if classes != [SessionAuthentication]:
                wrong.append(route)
        elif classes[:1] != [ApiTokenAuthentication]:
            wrong.append(route)
    assert wrong == []


def test_the_token_and_identity_views_generate_their_schema_without_warnings(db, capsys):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(urlconf="brokerdesk.platform.urls_tenant").get_schema(
        request=None, public=True
    )

    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "tokens" in line or "auth_api" in line] == []
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"


def test_token_lists_take_the_same_queries_for_one_token_or_many(tenant_client, admin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = sign_in(tenant_client, admin)
    services.api_token_create(actor=admin, name="First", codes=["audit.view"])

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    one = (queries(TOKENS), queries("/backoffice/tokens/"))
    for n in range(5):
        token, _ = services.api_token_create(actor=admin, name=f"T{n}", codes=["audit.view"])
        if n % 2:
            services.api_token_revoke(actor=admin, token=token)
    many = (queries(TOKENS), queries("/backoffice/tokens/"))

    assert many == one
