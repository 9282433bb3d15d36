"""Zero cross-tenant leaks across every URL pattern, proven with two canary tenants."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings

from brokerdesk.modules.audit.services import AuditTarget, audit_record
from brokerdesk.modules.identity.models import User
from brokerdesk.modules.identity.services import set_password_link_issue
from brokerdesk.tenants import schemas
from support.config_canary import config_canary, config_providers
from support.crm_canary import crm_canary, crm_providers
from support.kyc_canary import kyc_canary, kyc_providers
from support.ledger_canary import ledger_canary, ledger_providers
from support.partners_canary import partners_providers, partners_targets
from support.payments_canary import payments_canary, payments_providers
from support.rbac_canary import rbac_providers
from support.tenants import tenant_ensure
from support.token_canary import token_providers
from support.trading_canary import trading_canary, trading_providers
from support.walker import Canary, routes, url_for, walk

TENANT_URLCONF = "brokerdesk.platform.urls_tenant"
PUBLIC_URLCONF = "brokerdesk.platform.urls_public"

# One argument provider per parameterised route, by name. A new parameterised route
# without an entry here makes the walker fail: add a provider that returns *this*
# canary's own object, so a leak of the other tenant's data is visible.
PROVIDERS = {
    "identity:set-password": lambda canary: {"token": canary.route_args["set-password"]["token"]},
    # One-time links: an unknown token shows the "link not valid" page, which must not leak
    # either; the client-devices page gets this canary's own owner (not a client: 404/403).
    "portal:verify-email": lambda canary: {"token": "unknown-token"},
    "portal:password-reset-confirm": lambda canary: {"token": "unknown-token"},
    "identity:client-devices": lambda canary: {"public_id": canary.owner.public_id},
    # The policy engine's answers for a client (issue 6): this canary's own trader.
    "policy-api:client": lambda canary: canary.route_args["ledger-client"],
    **config_providers(),
    **rbac_providers(),
    **token_providers(),
    **kyc_providers(),
    **crm_providers(),
    **ledger_providers(),
    **trading_providers(),
    **payments_providers(),
    **partners_providers(),
}


def _canary(slug: str, name: str, colour: str) -> Canary:
    tenant = tenant_ensure(
        slug, name=name, branding={"primary_color": colour, "tagline": f"{name} tagline"}
    )
    marker = f"CANARY-{slug.upper()}-7f3a"
    with schemas.tenant_context(tenant):
        owner = User.objects.get(email=f"owner@{slug}.example")
        staff, _ = User.objects.get_or_create(
            email=f"staff@{slug}.example", defaults={"full_name": marker, "kind": "staff"}
        )
        token = set_password_link_issue(user=staff)
        config_secrets, config_args = config_canary(slug, marker)
        kyc_secrets, kyc_args = kyc_canary(slug, marker)
        crm_secrets, crm_args = crm_canary(slug, marker, owner)
        ledger_args = ledger_canary(slug, marker)  # issue 7: wallet, adjustment with the marker
        trading_args = trading_canary(slug, marker)  # issue 8: account, type, request
        payments_secrets, payments_args = payments_canary(slug, marker)  # issue 9: deposit
        partners_args = partners_targets(slug, marker, staff)  # issue 10: IB objects
        # An audit row carrying the marker: the audit viewer and API would show a leak.
        audit_record(
            actor="tests",
            action="canary.audit",
            target=AuditTarget(type="canary", public_id=slug),
            before=None,
            after={"marker": marker},
            reason=f"{marker} audit reason",
        )
    connection.set_schema_to_public()
    host = tenant.get_primary_domain().domain
    return Canary(
        tenant=tenant,
        host=host,
        owner=owner,
        secrets=[
            name,
            marker,
            owner.email,
            staff.email,
            host,
            colour,
            *config_secrets,
            *kyc_secrets,
            *crm_secrets,
            *payments_secrets,
        ],  # fmt: skip
        route_args={
            "set-password": {"token": token},
            **config_args,
            **kyc_args,
            **crm_args,
            **ledger_args,
            **trading_args,
            **payments_args,
            **partners_args,
        },
    )


@pytest.fixture(scope="session")
def canaries(django_db_setup, django_db_blocker) -> list[Canary]:
    with django_db_blocker.unblock():
        return [
            _canary("canary-a", "Canary Alpha Markets", "#a1b2c3"),
            _canary("canary-b", "Canary Beta Trading", "#c3b2a1"),
        ]


def test_every_tenant_route_shows_nothing_of_the_other_tenant(db, canaries):
    leaks = walk(canaries, urlconf=TENANT_URLCONF, providers=PROVIDERS)

    assert leaks == []
    assert len(list(routes(TENANT_URLCONF))) >= 5


def test_the_walker_fails_on_a_deliberately_leaking_view(db, canaries):
    with override_settings(ROOT_URLCONF="support.leaky_urls"):
        leaks = walk(canaries, urlconf="support.leaky_urls", providers=PROVIDERS)

    assert {leak.url for leak in leaks} == {"/leak/"}
    assert {leak.host for leak in leaks} == {c.host for c in canaries}
    assert any("CANARY-CANARY-B-7f3a" in leak.found for leak in leaks)


def test_a_parameterised_route_without_a_provider_fails_the_walker(db, canaries):
    with pytest.raises(LookupError, match="no argument provider"):
        walk(canaries, urlconf=TENANT_URLCONF, providers={})


PUBLIC_PROVIDERS = {
    "console:tenant": lambda canary: {"slug": canary.tenant.slug},
    "console:tenant-action": lambda canary: {"slug": canary.tenant.slug, "action": "suspend"},
    "platform-api:tenant": lambda canary: {"slug": canary.tenant.slug},
    **{
        f"platform-api:tenant-{action}": (lambda canary: {"slug": canary.tenant.slug})
        for action in ("suspend", "reactivate", "retry")
    },
}


def test_the_platform_host_shows_no_tenant_data_to_anonymous_visitors(db, canaries, client):
    """Operators see every tenant by design; nobody else sees any on the platform host."""
    for route in routes(PUBLIC_URLCONF):
        url = url_for(route, canaries[0], PUBLIC_URLCONF, PUBLIC_PROVIDERS)
        response = client.get(url, HTTP_HOST="localhost")
        assert response.status_code in {200, 302, 401, 403, 405}, (url, response.status_code)
        text = response.content.decode()
        secrets = [s for c in canaries for s in c.secrets]
        assert not [s for s in secrets if s in text], url
