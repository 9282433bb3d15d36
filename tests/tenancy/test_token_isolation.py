"""An API token belongs to one broker: on another broker's host it is unknown (401)."""

from __future__ import annotations

from django.test import Client

from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.tokens import services
from brokerdesk.tenants import schemas


def test_a_token_works_on_its_own_tenant_only(committed, pair):
    alpha, beta = pair
    with schemas.tenant_context(alpha):
        owner = User.objects.get(email=alpha.owner_email)
        _, secret = services.api_token_create(actor=owner, name="Alpha", codes=["audit.view"])
    header = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    own = Client(HTTP_HOST=alpha.get_primary_domain().domain, **header).get("/api/v1/audit/")
    other = Client(HTTP_HOST=beta.get_primary_domain().domain, **header).get("/api/v1/audit/")

    assert own.status_code == 200
    assert other.status_code == 401
    assert alpha.name not in other.content.decode()
