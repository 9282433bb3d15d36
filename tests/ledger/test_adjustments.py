"""Manual adjustments through the API and the Back Office; wallets in the Trader's Room; bad
input refused with nothing written (issue 7, S5)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.ledger import services
from brokerdesk.modules.ledger.adjustments import threshold_set
from brokerdesk.modules.ledger.models import Adjustment, AdjustmentThreshold
from support.ledger import client_make, deposit, ledger_snapshot, psp
from support.rbac_actors import sign_in, user_make

API = "/api/v1/ledger/adjustments/"


@pytest.fixture
def world(db, test_tenant, client):
    roles = default_roles_ensure()
    host = test_tenant.get_primary_domain().domain
    people = {
        "finance": user_make("finance@adj.example", roles=[roles["finance"]]),
        "finance2": user_make("finance2@adj.example", roles=[roles["finance"]]),
        "support": user_make("support@adj.example", roles=[roles["support"]]),
        "sales": user_make("sales@adj.example", roles=[roles["sales"]]),
    }
    trader = client_make("trader@adj.example")
    other = client_make("other@adj.example")
    wallet = services.wallet_ensure(client=trader, currency="USD")
    deposit(wallet, 100_000)  # 1,000.00
    psp("EUR")
    services.wallet_ensure(client=trader, currency="EUR")
    AdjustmentThreshold.objects.create(currency="USD", amount_minor=50_000)  # 500.00
    from django.test import Client

    def as_(who):
        return sign_in(Client(HTTP_HOST=host), people[who] if who in people else who)

    return {"as": as_, "trader": trader, "other": other, "wallet": wallet, **people}


def _create(http, world, key="k-1", **overrides):
    body = {"client": str(world["trader"].public_id), "currency": "USD", "direction": "credit",
            "amount": "25.00", "reason": "Goodwill: platform outage on 2026-11-20", **overrides}  # fmt: skip
    return http.post(API, data=json.dumps(body), content_type="application/json",
                     headers={"Idempotency-Key": key})  # fmt: skip


def test_finance_posts_a_small_adjustment_at_once_with_its_reason_and_audit(world):
    http = world["as"]("finance")

    response = _create(http, world)

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["amount"], body["requires_approval"]) == ("posted", "25.00", False)
    assert services.wallet_ensure(client=world["trader"], currency="USD").balance_minor == 102_500
    actions = list(AuditEntry.objects.order_by("-sequence").values_list("action", flat=True)[:2])
    assert actions == ["ledger.adjustment.post", "ledger.transfer.single"]


def test_above_the_threshold_a_second_finance_member_must_approve(world):
    maker, checker = world["as"]("finance"), world["as"]("finance2")
    created = _create(maker, world, direction="debit", amount="600.00").json()
    url = f"{API}{created['id']}/"
    wallet = services.wallet_ensure(client=world["trader"], currency="USD")
    assert (created["status"], wallet.balance_minor, wallet.available_minor) == (
        "pending_approval", 100_000, 40_000,
    )  # fmt: skip

    own = maker.post(f"{url}approve/", data={}, content_type="application/json")
    assert own.status_code == 400 and "second Finance member" in own.content.decode()

    approved = checker.post(f"{url}approve/", data={"note": "Checked the ticket"},
                            content_type="application/json")  # fmt: skip
    assert approved.status_code == 200 and approved.json()["status"] == "posted"
    wallet = services.wallet_ensure(client=world["trader"], currency="USD")
    assert (wallet.balance_minor, wallet.available_minor) == (40_000, 40_000)


def test_a_rejected_adjustment_releases_its_hold(world):
    created = _create(world["as"]("finance"), world, direction="debit", amount="600.00").json()
    checker = world["as"]("finance2")

    missing_note = checker.post(f"{API}{created['id']}/reject/", data={},
                                content_type="application/json")  # fmt: skip
    rejected = checker.post(f"{API}{created['id']}/reject/", data={"note": "Wrong client"},
                            content_type="application/json")  # fmt: skip

    assert missing_note.status_code == 400
    assert rejected.json()["status"] == "rejected"
    wallet = services.wallet_ensure(client=world["trader"], currency="USD")
    assert (wallet.balance_minor, wallet.available_minor) == (100_000, 100_000)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": 12.5}, "amount"),
        ({"currency": "XXX"}, "currency"),
        ({"reason": "   "}, "reason"),
        ({"reason": ""}, "reason"),
        ({"client": "00000000-0000-0000-0000-000000000000"}, "client"),
        ({"direction": "sideways"}, "direction"),
        ({"direction": "debit", "amount": "1000.01"}, "amount"),  # more than the wallet holds
    ],
)
def test_bad_input_is_refused_by_field_and_nothing_is_written(world, overrides, field):
    http = world["as"]("finance")
    before = ledger_snapshot()

    response = _create(http, world, **overrides)

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert ledger_snapshot() == before


def test_a_staff_member_cannot_adjust_a_user_who_is_not_a_client(world):
    before = ledger_snapshot()

    response = _create(world["as"]("finance"), world, client=str(world["support"].public_id))

    assert (response.status_code, list(response.json())) == (400, ["client"])
    assert ledger_snapshot() == before


def test_a_reused_key_replays_and_a_reused_key_with_another_body_is_refused(world):
    http = world["as"]("finance")
    first = _create(http, world)
    before = ledger_snapshot()

    again = _create(http, world)
    other = _create(http, world, amount="26.00")

    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert ledger_snapshot() == before
    # Another actor's identical key is another key.
    assert _create(world["as"]("finance2"), world).status_code == 201


def test_s5_support_reads_the_reason_and_every_edit_or_reversal_is_refused_and_logged(world):
    # Given Finance's adjustment with a reason
    created = _create(world["as"]("finance"), world).json()
    adjustment = Adjustment.objects.get(public_id=created["id"])
    support = world["as"]("support")
    page = reverse("backoffice:ledger:adjustment", kwargs={"public_id": adjustment.public_id})
    client_page = reverse(
        "backoffice:ledger:client", kwargs={"public_id": world["trader"].public_id}
    )
    api = f"{API}{adjustment.public_id}/"

    # Support sees it and its reason on the client record, page and API, but no balances
    record = support.get(client_page)
    assert record.status_code == 200
    assert "Goodwill: platform outage on 2026-11-20" in record.content.decode()
    assert 'data-testid="wallets"' not in record.content.decode()
    assert support.get(api).json()["reason"] == "Goodwill: platform outage on 2026-11-20"
    before = ledger_snapshot()
    audit_before = AuditEntry.objects.count()

    # Every attempt to edit or reverse it — page, API, direct URL — is refused
    attempts = [
        support.post(page, {"reason": "edited"}),
        support.post(f"{page}reverse/", {"reason": "undo"}),
        support.patch(api, data={"reason": "edited"}, content_type="application/json"),
        support.put(api, data={"reason": "edited"}, content_type="application/json"),
        support.delete(api),
        support.post(f"{api}reverse/", data={"reason": "undo"}, content_type="application/json"),
        support.post(f"{api}approve/", data={}, content_type="application/json"),
        support.get(reverse("backoffice:ledger:index")),
        support.get(f"/api/v1/ledger/clients/{world['trader'].public_id}/wallets/"),
    ]

    # Then each is a 403, nothing changed, and each write attempt is in the audit log
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    after = ledger_snapshot()
    assert {k: v for k, v in after.items() if k != "audit"} == {
        k: v for k, v in before.items() if k != "audit"
    }
    logged = list(AuditEntry.objects.filter(sequence__gt=audit_before).order_by("sequence")
                  .values_list("action", "actor_label", "target_public_id"))  # fmt: skip
    who, target = "support@adj.example", str(adjustment.public_id)
    assert logged == [
        ("ledger.adjustment.edit_refused", who, target),
        ("ledger.adjustment.reverse_refused", who, target),
        ("ledger.adjustment.edit_refused", who, target),
        ("ledger.adjustment.edit_refused", who, target),
        ("ledger.adjustment.edit_refused", who, target),
        ("ledger.adjustment.reverse_refused", who, target),
        ("ledger.adjustment.approve_refused", who, target),
    ]
    assert (
        Adjustment.objects.get(pk=adjustment.pk).reason == "Goodwill: platform outage on 2026-11-20"
    )


def test_finance_reverses_a_posted_adjustment_once_with_a_reason(world):
    http = world["as"]("finance")
    created = _create(http, world).json()
    url = f"{API}{created['id']}/reverse/"

    missing = http.post(url, data={}, content_type="application/json")
    done = http.post(
        url, data={"reason": "Posted to the wrong client"}, content_type="application/json"
    )
    again = http.post(url, data={"reason": "twice"}, content_type="application/json",
                      headers={"Idempotency-Key": "other"})  # fmt: skip

    assert missing.status_code == 400
    assert done.status_code == 200 and done.json()["status"] == "reversed"
    assert again.status_code == 400
    assert services.wallet_ensure(client=world["trader"], currency="USD").balance_minor == 100_000


def test_the_back_office_form_makes_one_adjustment_even_when_submitted_twice(world):
    http = world["as"]("finance")
    page = reverse("backoffice:ledger:client", kwargs={"public_id": world["trader"].public_id})
    form = http.get(page).context["form"]
    data = {"client": str(world["trader"].public_id), "currency": "USD", "direction": "credit",
            "amount": "10.00", "reason": "Bonus correction", "token": form.initial["token"]}  # fmt: skip
    url = reverse("backoffice:ledger:adjustment-create")

    first, second = http.post(url, data), http.post(url, data)

    assert (first.status_code, second.status_code) == (302, 302)
    assert first.url == second.url
    assert Adjustment.objects.count() == 1


def test_the_back_office_form_rerenders_bad_input_with_messages(world):
    http = world["as"]("finance")
    before = ledger_snapshot()
    data = {"client": str(world["trader"].public_id), "currency": "JPY", "direction": "credit",
            "amount": "10.5", "reason": "", "token": "t1"}  # fmt: skip

    response = http.post(reverse("backoffice:ledger:adjustment-create"), data)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"amount", "reason"}
    assert "JPY has 0 decimal place(s) at most." in errors["amount"]
    assert ledger_snapshot() == before


def test_the_trader_sees_balance_available_and_history_but_never_another_clients_wallet(world):
    trader = world["as"](world["trader"])
    other_wallet = services.wallet_ensure(client=world["other"], currency="USD")
    services.transfer_create(
        idempotency_key="w-1", code="withdrawal", description="Withdrawal W-000001",
        pending=True, actor="tests",
        postings=[services.Posting(debit=world["wallet"],
                                   credit=services.account_ensure(kind="pending_withdrawals", currency="USD"),
                                   amount_minor=30_000)],
    )  # fmt: skip

    page = trader.get(reverse("portal:wallet"))
    mine = trader.get(
        reverse("portal:wallet-detail", kwargs={"public_id": world["wallet"].public_id})
    )
    theirs = trader.get(
        reverse("portal:wallet-detail", kwargs={"public_id": other_wallet.public_id})
    )

    text = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="balance-USD">1000.00 USD' in text
    assert 'data-testid="available-USD">700.00 USD' in text
    assert "Withdrawal W-000001" in text and "On hold (not yet available)" in text
    assert mine.status_code == 200
    assert theirs.status_code == 404


def test_staff_cannot_open_the_trader_wallet_and_traders_cannot_open_the_back_office(world):
    assert world["as"]("finance").get(reverse("portal:wallet")).status_code == 302
    trader = world["as"](world["trader"])
    assert trader.get(reverse("backoffice:ledger:index")).status_code in {302, 403}
    assert (
        trader.get(f"/api/v1/ledger/clients/{world['trader'].public_id}/wallets/").status_code
        == 403
    )


def test_the_threshold_is_configured_per_currency_by_config_managers_only(world):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        threshold_set(actor=world["finance"], currency="USD", amount_minor=1)
    owner = user_make("owner@adj.example")
    owner.is_superuser = True
    owner.save()
    threshold_set(actor=owner, currency="EUR", amount_minor=10_000)
    assert AdjustmentThreshold.objects.get(currency="EUR").amount_minor == 10_000
