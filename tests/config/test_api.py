"""/api/v1/config/: Super admin only, write-only secrets, field messages, 404 across tenants,
and an OpenAPI schema without warnings."""

from __future__ import annotations

import json

import pytest
from django.urls import include, path, reverse

from brokerdesk.tenants import schemas
from brokerdesk.tenants.config import services
from brokerdesk.tenants.config.models import Branding, PspCredential, TradingServer

SECRET = "Api-Manager-Pa55word!"
STRIPE = "sk_test_api_secret_9876543210"
SERVER = {
    "name": "MT5 Live",
    "platform": "mt5",
    "address": "live.mt5.example:443",
    "manager_login": "2002",
    "secret": SECRET,
    "environment": "live",
    "currency": "EUR",
    "time_zone": "Europe/Nicosia",
    "groups": {"standard": "real\\forex\\standard"},
}
LIST_URLS = [
    "config-api:branding",
    "config-api:legal-entities",
    "config-api:trading-servers",
    "config-api:psp-credentials",
]


def _post(client, name: str, body: dict, *args):
    return client.post(reverse(name, args=args), json.dumps(body), content_type="application/json")


def _patch(client, name: str, body: dict, *args):
    return client.patch(reverse(name, args=args), json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("who", [None, "staff", "trader"])
@pytest.mark.parametrize("name", LIST_URLS)
def test_only_super_admins_may_use_the_config_api(tenant_client, request, who, name, counts):
    if who:
        tenant_client.force_login(request.getfixturevalue(who))
    before = counts()

    read = tenant_client.get(reverse(name))
    write = _post(tenant_client, name, {"name": "x"})

    assert (read.status_code, write.status_code) == (403, 403)
    assert counts() == before


def test_a_trading_server_round_trip_never_returns_the_secret(admin_client):
    created = _post(admin_client, "config-api:trading-servers", SERVER)
    public_id = created.json()["public_id"]
    fetched = admin_client.get(reverse("config-api:trading-server", args=[public_id]))
    listed = admin_client.get(reverse("config-api:trading-servers"))
    updated = _patch(admin_client, "config-api:trading-server", {"address": "10.0.0.5"}, public_id)

    assert created.status_code == 201
    body = fetched.json()
    assert "secret" not in body and body["secret_set"] is True
    assert {k: body[k] for k in ("address", "currency", "environment", "groups")} == {
        "address": "live.mt5.example:443",
        "currency": "EUR",
        "environment": "live",
        "groups": {"standard": "real\\forex\\standard"},
    }
    for response in (created, fetched, listed, updated):
        assert SECRET not in response.content.decode()
    assert updated.json()["address"] == "10.0.0.5"
    assert TradingServer.objects.get().secret.reveal() == SECRET


def test_psp_secrets_are_write_only_in_the_api(admin_client):
    created = _post(
        admin_client,
        "config-api:psp-credentials",
        {
            "name": "Stripe",
            "provider": "stripe",
            "is_live": False,
            "settings": {"publishable_key": "pk_test_1"},
            "secrets": {"secret_key": STRIPE},
        },  # fmt: skip
    )

    body = created.json()
    assert created.status_code == 201 and STRIPE not in created.content.decode()
    assert body["secrets_set"] == {"secret_key": True, "webhook_secret": False}
    assert body["settings"] == {"publishable_key": "pk_test_1"} and "secrets" not in body
    assert services.psp_secrets_reveal(PspCredential.objects.get()) == {"secret_key": STRIPE}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({**SERVER, "address": "mt5.example.com/path"}, {"address"}),
        ({**SERVER, "address": 443}, {"address"}),
        ({**SERVER, "groups": ["standard"]}, {"groups"}),
        ({**SERVER, "groups": {"std": 5}}, set()),
        ({**SERVER, "currency": "EURO", "platform": "mt6"}, {"currency", "platform"}),
        ({**SERVER, "platform": None}, {"platform"}),
        ({k: v for k, v in SERVER.items() if k != "secret"}, {"secret"}),
    ],
    ids=["path", "number", "groups-list", "group-number", "two-fields", "null", "no-secret"],
)
def test_bad_trading_server_input_is_400_with_field_messages(admin_client, counts, body, errors):
    before = counts()

    response = _post(admin_client, "config-api:trading-servers", body)

    if errors:
        assert response.status_code == 400
        assert set(response.json()) == errors
        assert counts() == before
    else:  # DRF's CharField turns 5 into "5": a valid group name
        assert response.status_code == 201


def test_bad_legal_entity_and_branding_input_is_400(admin_client, counts):
    before = counts()

    entity = _post(
        admin_client,
        "config-api:legal-entities",
        {"name": "Acme", "jurisdiction": "CY", "allowed_countries": ["CY", "XY"]},
    )
    branding = _patch(
        admin_client,
        "config-api:branding",
        {"primary_color": "rgb(1,2,3)", "custom_css": "@import 'x';"},
    )

    assert (entity.status_code, branding.status_code) == (400, 400)
    assert entity.json() == {"allowed_countries": ["Not ISO 3166-1 alpha-2 country codes: 'XY'."]}
    assert branding.json() == {
        "primary_color": ["Enter a colour as #rgb or #rrggbb, e.g. #1f6feb."],
        "custom_css": ["Custom CSS cannot use @import: @import loads other style sheets."],
    }
    assert counts() == before


def test_branding_is_read_and_patched_with_a_logo_upload(admin_client, png):
    response = admin_client.patch(
        reverse("config-api:branding"),
        data=_multipart({"display_name": "Zenith", "logo": ("z.png", png)}),
        content_type="multipart/form-data; boundary=BoUnDaRy",
    )
    body = admin_client.get(reverse("config-api:branding")).json()

    assert response.status_code == 200
    assert body["display_name"] == "Zenith"
    assert body["logo_url"].startswith("/branding/logo?v=")
    assert admin_client.get(body["logo_url"]).content == png
    assert Branding.objects.get().updated_by == "root@test.example"


def _multipart(fields: dict) -> bytes:
    parts = []
    for name, value in fields.items():
        if isinstance(value, tuple):
            filename, data = value
            head = (f'--BoUnDaRy\r\nContent-Disposition: form-data; name="{name}"; '
                    f'filename="{filename}"\r\nContent-Type: image/png\r\n\r\n')  # fmt: skip
            parts.append(head.encode() + data + b"\r\n")
        else:
            head = f'--BoUnDaRy\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            parts.append(head.encode() + value.encode() + b"\r\n")
    return b"".join(parts) + b"--BoUnDaRy--\r\n"


def test_a_malformed_public_id_or_json_body_is_never_a_500(admin_client):
    bad_json = admin_client.post(
        reverse("config-api:trading-servers"), "{not json", content_type="application/json"
    )
    not_object = _post(admin_client, "config-api:psp-credentials", ["x"])  # type: ignore[arg-type]

    assert bad_json.status_code == 400 and not_object.status_code == 400
    assert admin_client.get("/api/v1/config/trading-servers/not-a-uuid/").status_code == 404


@pytest.mark.committed
def test_another_tenants_object_is_404(committed_tenant, client):
    """A server that exists only in the other tenant is not found on this tenant's host."""
    from brokerdesk.modules.identity.services import super_admin_ensure

    with schemas.tenant_context(committed_tenant):
        server = services.trading_server_create(data=SERVER, actor="tests")
    from brokerdesk.tenants.models import Tenant

    test_tenant = Tenant.objects.get(slug="test")
    with schemas.tenant_context(test_tenant):
        admin = super_admin_ensure(email="owner@test.example")
        client.force_login(admin)
    host = test_tenant.get_primary_domain().domain
    url = reverse("config-api:trading-server", args=[server.public_id])

    response = client.get(url, HTTP_HOST=host)
    patched = client.patch(url, "{}", content_type="application/json", HTTP_HOST=host)

    assert (response.status_code, patched.status_code) == (404, 404)
    assert SECRET not in response.content.decode()


def test_the_openapi_schema_for_the_config_api_has_no_warnings(db):
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    from brokerdesk.tenants.config import api_urls

    GENERATOR_STATS.reset()
    patterns = [path("api/v1/config/", include(api_urls))]
    schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)

    assert (GENERATOR_STATS._warn_cache, GENERATOR_STATS._error_cache) == ({}, {})
    paths = schema["paths"]
    assert set(paths) == {
        "/api/v1/config/branding/",
        "/api/v1/config/legal-entities/",
        "/api/v1/config/legal-entities/{public_id}/",
        "/api/v1/config/trading-servers/",
        "/api/v1/config/trading-servers/{public_id}/",
        "/api/v1/config/psp-credentials/",
        "/api/v1/config/psp-credentials/{public_id}/",
    }
    server = schema["components"]["schemas"]["TradingServer"]["properties"]
    assert server["secret"]["writeOnly"] is True
