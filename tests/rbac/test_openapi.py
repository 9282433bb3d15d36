"""The OpenAPI document is generated from the code and browsable without any CDN."""

from __future__ import annotations

import pytest
import yaml
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture
def staff_client(actors):
    return actors.client("sales")


def test_the_schema_lists_the_config_staff_and_roles_endpoints(staff_client):
    response = staff_client.get(reverse("api-schema"))
    assert response.status_code == 200
    paths = set(yaml.safe_load(response.content)["paths"])
    expected = {
        "/api/v1/config/branding/",
        "/api/v1/config/legal-entities/",
        "/api/v1/config/legal-entities/{public_id}/",
        "/api/v1/config/trading-servers/",
        "/api/v1/config/psp-credentials/",
        "/api/v1/staff/",
        "/api/v1/staff/{public_id}/",
        "/api/v1/staff/{public_id}/deactivate/",
        "/api/v1/roles/",
        "/api/v1/roles/{public_id}/",
        "/api/v1/permissions/",
        # Teams and the second factor reset (issue 4: sec).
        "/api/v1/teams/",
        "/api/v1/teams/{public_id}/",
        "/api/v1/staff/{public_id}/reset-second-factor/",
    }
    assert expected - paths == set()


def test_the_rbac_views_generate_without_warnings(db, capsys):
    SchemaGenerator(urlconf="brokerdesk.platform.urls_tenant").get_schema(request=None, public=True)
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "rbac" in line] == []


def test_the_docs_page_loads_swagger_ui_from_our_own_static_files(staff_client):
    response = staff_client.get(reverse("api-docs"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert reverse("api-schema") in html


def test_anonymous_visitors_and_clients_get_no_api_description(actors):
    for actor in ("anonymous", "client"):
        assert actors.client(actor).get(reverse("api-schema")).status_code == 403
