"""Routing: each rule kind, evaluation order, round-robin fairness (also under concurrency),
the IB hook, the fallback, and rules that could never match refused with field messages."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.modules.crm import routing, rules
from brokerdesk.modules.crm.models import ClientRecord, RoutingRule, TimelineEntry
from brokerdesk.modules.crm.source import Source


def _rule(admin, **data):
    return rules.rule_create(actor=admin, data={"name": data.pop("name", "rule"), **data})


@pytest.fixture
def admin(make_staff):
    return make_staff("admin", "super_admin")


def test_a_country_rule_routes_leads_from_its_countries(admin, make_staff, make_client):
    german = make_staff("german")
    _rule(admin, name="DACH", countries=["DE", "AT", "CH"], target="owner", owner=german.public_id)

    inside = make_client(country="AT")
    outside = make_client(country="FR")

    assert inside.owner == german
    assert outside.owner is None
    assert inside.routed_by.name == "DACH"


def test_a_region_rule_routes_leads_from_the_region(admin, make_staff, make_client):
    gulf = make_staff("gulf")
    _rule(admin, name="Gulf", regions=["gcc"], target="owner", owner=gulf.public_id)

    assert make_client(country="AE").owner == gulf
    assert make_client(country="EG").owner is None


def test_a_language_rule_routes_by_the_lead_s_language(admin, make_staff, make_client):
    arabic = make_staff("arabic")
    _rule(admin, name="Arabic", languages=["ar"], target="owner", owner=arabic.public_id)

    assert make_client(language="ar", country="FR").owner == arabic
    assert make_client(language="de", country="FR").owner is None


def test_conditions_combine_country_and_language(admin, make_staff, make_client):
    owner = make_staff("owner")
    _rule(admin, countries=["DE"], languages=["de"], target="owner", owner=owner.public_id)

    assert make_client(country="DE", language="de").owner == owner
    assert make_client(country="DE", language="en").owner is None
    assert make_client(country="AT", language="de").owner is None


def test_rules_are_evaluated_in_order_and_the_first_match_wins(admin, make_staff, make_client):
    first, second = make_staff("first"), make_staff("second")
    narrow = _rule(admin, name="narrow", countries=["DE"], target="owner", owner=first.public_id)
    wide = _rule(admin, name="wide", regions=["eu"], target="owner", owner=second.public_id)

    assert make_client(country="DE").owner == first
    assert make_client(country="FR").owner == second

    rules.rule_move(actor=admin, rule=wide, position=1)
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["wide", "narrow"]
    assert make_client(country="DE").owner == second
    assert narrow.pk  # still there, evaluated second


def test_an_inactive_rule_is_skipped(admin, make_staff, make_client):
    owner = make_staff("owner")
    rule = _rule(admin, countries=["DE"], target="owner", owner=owner.public_id)
    rules.rule_update(actor=admin, rule=rule, data={"is_active": False})

    assert make_client(country="DE").owner is None


def test_round_robin_within_a_desk_takes_fair_turns(admin, make_staff, make_desk, make_client):
    a, b, c = make_staff("a"), make_staff("b"), make_staff("c")
    desk = make_desk("EU desk", a, b, c)
    _rule(admin, name="EU", regions=["eu"], target="desk", desk=desk.public_id)

    owners = [make_client(country="DE").owner for _ in range(9)]

    assert owners == [a, b, c] * 3
    assert {make_client(country="FR").desk for _ in range(2)} == {desk}


def test_round_robin_skips_members_who_left_and_welcomes_new_ones(
    admin, make_staff, make_desk, make_client
):
    a, b = make_staff("a"), make_staff("b")
    desk = make_desk("Desk", a, b)
    _rule(admin, target="desk", desk=desk.public_id)
    assert make_client().owner == a
    b.is_active = False
    b.save()
    c = make_staff("c", desk=desk)

    assert [make_client().owner for _ in range(4)] == [c, a, c, a]


def test_ib_referred_leads_go_to_the_ib_s_manager(admin, make_staff, make_client):
    manager = make_staff("manager", "ib_manager")
    fallback = make_staff("fallback")
    rules.crm_settings_update(actor=admin, data={"fallback_owner": fallback.public_id})
    _rule(admin, name="IBs", target="ib_manager")
    previous = routing.ib_manager_resolver_set(lambda code: manager if code == "IB-ACME" else None)
    try:
        referred = make_client(source=Source(referral_code="IB-ACME"))
        unknown_ib = make_client(source=Source(referral_code="IB-NOBODY"))
        direct = make_client()
    finally:
        routing.ib_manager_resolver_set(previous)

    assert referred.owner == manager
    assert referred.referral_code == "IB-ACME"
    assert unknown_ib.owner == fallback
    assert direct.owner == fallback


def test_without_the_partners_module_no_referral_resolves(admin, make_staff, make_client):
    _rule(admin, target="ib_manager")
    assert make_client(source=Source(referral_code="IB-ACME")).owner is None


def test_no_matching_rule_uses_the_fallback_owner_then_the_fallback_desk(
    admin, make_staff, make_desk, make_client
):
    x, y = make_staff("x"), make_staff("y")
    desk = make_desk("Queue", x, y)
    rules.crm_settings_update(actor=admin, data={"fallback_desk": desk.public_id})
    assert [make_client().owner for _ in range(3)] == [x, y, x]

    rules.crm_settings_update(actor=admin, data={"fallback_owner": y.public_id})
    record = make_client()
    assert (record.owner, record.desk) == (y, desk)


def test_routing_is_on_the_timeline_and_audited(admin, make_staff, make_client):
    owner = make_staff("owner")
    _rule(admin, name="All DE", countries=["DE"], target="owner", owner=owner.public_id)

    record = make_client(country="DE")

    entry = TimelineEntry.objects.get(record=record, event="crm.routed")
    assert entry.data["owner"] == owner.email and entry.data["rule"] == "All DE"
    audit = AuditEntry.objects.filter(action="crm.routed").first()
    assert audit.target_public_id == str(record.user.public_id)
    assert audit.after == {"owner": owner.email, "desk": None}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"countries": ["XX"], "target": "owner", "owner": "me"}, "countries"),
        ({"regions": ["atlantis"], "target": "owner", "owner": "me"}, "regions"),
        ({"languages": ["fr"], "target": "owner", "owner": "me"}, "languages"),
        ({"target": "owner", "owner": "00000000-0000-0000-0000-000000000000"}, "owner"),
        ({"target": "owner"}, "owner"),
        ({"target": "desk", "desk": "00000000-0000-0000-0000-000000000000"}, "desk"),
        ({"target": "desk", "desk": "empty"}, "desk"),
        ({"target": "nowhere"}, "target"),
        ({"name": "", "target": "owner", "owner": "me"}, "name"),
        ({"target": "owner", "owner": "finance-less"}, "owner"),
    ],
)
def test_a_rule_that_could_never_match_is_refused_and_nothing_changes(
    admin, make_staff, make_desk, roles, data, field
):
    me = make_staff("me")
    empty = make_desk("Empty desk")
    nobody_sees = make_staff("noclients", "ib_manager")
    nobody_sees.rbac_roles.set([])
    substitutions = {
        "me": me.public_id,
        "empty": empty.public_id,
        "finance-less": nobody_sees.public_id,
    }
    data = {
        "name": "rule",
        **{k: substitutions.get(v, v) if isinstance(v, str) else v for k, v in data.items()},
    }
    audit_before = AuditEntry.objects.count()

    with pytest.raises(ValidationError) as refused:
        rules.rule_create(actor=admin, data=data)

    assert field in refused.value.message_dict
    assert RoutingRule.objects.count() == 0
    assert AuditEntry.objects.count() == audit_before


def test_a_rule_behind_a_catch_all_is_refused(admin, make_staff):
    owner = make_staff("owner")
    _rule(admin, name="Everyone", target="owner", owner=owner.public_id)

    with pytest.raises(ValidationError) as refused:
        _rule(admin, name="Germans", countries=["DE"], target="owner", owner=owner.public_id)

    assert "Everyone" in refused.value.message_dict["position"][0]
    assert RoutingRule.objects.count() == 1


def test_rule_changes_are_audited(admin, make_staff):
    owner = make_staff("owner")
    rule = _rule(admin, name="DE", countries=["de"], target="owner", owner=owner.public_id)
    rules.rule_update(actor=admin, rule=rule, data={"countries": ["DE", "AT"]})
    rules.rule_delete(actor=admin, rule=rule)

    actions = list(
        AuditEntry.objects.filter(action__startswith="crm.routing_rule")
        .order_by("sequence")
        .values_list("action", "after__countries", "before__countries")
    )
    assert actions == [
        ("crm.routing_rule_created", ["DE"], None),
        ("crm.routing_rule_updated", ["AT", "DE"], ["DE"]),
        ("crm.routing_rule_deleted", None, ["AT", "DE"]),
    ]


@pytest.mark.committed
def test_concurrent_registrations_take_round_robin_turns_fairly(committed_tenant):
    """Real parallel transactions: 12 leads routed at once through one desk of 3."""
    from brokerdesk.modules.identity.rbac.models import Team
    from brokerdesk.modules.identity.rbac.services import default_roles_ensure
    from brokerdesk.tenants import schemas
    from support.crm import register_committed
    from support.rbac_actors import user_make

    with schemas.tenant_context(committed_tenant):
        roles = default_roles_ensure()
        admin = user_make("admin@rr.example", roles=[roles["super_admin"]])
        members = [user_make(f"m{i}@rr.example", roles=[roles["sales"]]) for i in range(3)]
        desk = Team.objects.create(name="RR desk")
        desk.members.add(*members)
        rules.rule_create(
            actor=admin, data={"name": "rr", "target": "desk", "desk": desk.public_id}
        )
    connection.set_schema_to_public()

    barrier = threading.Barrier(12)
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            with schemas.tenant_context(committed_tenant):
                barrier.wait(timeout=20)
                register_committed(f"rr{i}@clients.example")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with schemas.tenant_context(committed_tenant):
        counts = Counter(ClientRecord.objects.values_list("owner__email", flat=True))
    connection.set_schema_to_public()
    assert counts == {f"m{i}@rr.example": 4 for i in range(3)}
