"""The policy over the API and on the pages: the same answers everywhere, bad input refused."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from brokerdesk.modules.crm.records import record_for
from brokerdesk.modules.identity.models import UserKind
from brokerdesk.modules.identity.rbac.models import Role
from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
from brokerdesk.modules.kyc.models import KycCase
from brokerdesk.modules.policy.engine import decide
from brokerdesk.tenants.config.models import LegalEntity
from support.rbac_actors import sign_in, user_make


@pytest.fixture
def trader(db):
    LegalEntity.objects.create(
        name="Api Markets Ltd", jurisdiction="CY", allowed_countries=["CY"], max_leverage=30
    )
    user = user_make("api-trader@policy.example", kind=UserKind.CLIENT)
    user.country = "CY"
    user.email_verified_at = timezone.now()
    user.save()
    configuration = configuration_defaults_ensure()
    KycCase.objects.create(
        client=user,
        configuration=configuration,
        state=configuration.states.get(key="pending_review"),
    )
    return user


def test_a_client_reads_its_own_decisions(tenant_client, trader) -> None:
    sign_in(tenant_client, trader)
    answer = tenant_client.get(reverse("policy-api:mine"))
    assert answer.status_code == 200
    by_action = {row["action"]: row for row in answer.json()}
    assert by_action["open_demo"]["allowed"] is True
    live = by_action["open_live"]
    assert (live["allowed"], live["code"]) == (False, "kyc_state")
    assert live["detail"] == {"state": "pending_review"}
    assert live["message"] == decide(trader, "open_live").message
    one = tenant_client.get(reverse("policy-api:mine"), {"action": "withdraw"}).json()
    assert [row["action"] for row in one] == ["withdraw"]


@pytest.mark.parametrize(
    "query",
    [
        {"action": "print_money"},
        {"leverage": "0"},
        {"leverage": "lots"},
        {"amount_minor": "-5"},
        {"amount_minor": "1.5"},
        {"currency": "usd$"},
    ],
)
def test_bad_questions_get_field_messages(tenant_client, trader, query) -> None:
    sign_in(tenant_client, trader)
    answer = tenant_client.get(reverse("policy-api:mine"), query)
    assert answer.status_code == 400
    assert set(answer.json()) == set(query)


def test_staff_read_a_clients_decisions_and_see_them_on_the_360(tenant_client, trader) -> None:
    record = record_for(trader)
    admin = user_make("admin@policy.example", roles=[Role.objects.get(key="super_admin")])
    sign_in(tenant_client, admin)
    answer = tenant_client.get(reverse("policy-api:client", args=[trader.public_id]))
    assert answer.status_code == 200
    assert {row["action"]: row["code"] for row in answer.json()}["deposit"] == "kyc_state"
    page = tenant_client.get(reverse("backoffice:crm:detail", args=[trader.public_id]))
    body = page.content.decode()
    assert 'data-testid="panel-policy"' in body
    assert 'data-action="open_live" data-allowed="no" data-code="kyc_state"' in body
    assert record.user_id == trader.pk
    # A client has no "clients/<id>" reading, even of itself.
    sign_in(tenant_client, trader)
    mine = tenant_client.get(reverse("policy-api:client", args=[trader.public_id]))
    assert mine.status_code == 403


def test_the_dashboard_shows_the_same_reasons(tenant_client, trader) -> None:
    sign_in(tenant_client, trader)
    body = tenant_client.get(reverse("portal:home")).content.decode()
    assert 'data-testid="card-policy"' in body
    assert 'data-action="open_demo" data-allowed="yes" data-code="ok"' in body
    assert 'data-action="withdraw" data-allowed="no" data-code="kyc_state"' in body
    assert "Pending review" in body
