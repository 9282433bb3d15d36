"""Bad input is refused with a field-level message and saves nothing (issue 3, "Bad input")."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from support_config import image_bytes_of

from brokerdesk.tenants.config import services
from brokerdesk.tenants.config.models import Branding, LegalEntity, TradingServer

GOOD_SERVER = {
    "name": "MT5 Live",
    "platform": "mt5",
    "address": "mt5.example.com:443",
    "manager_login": "1001",
    "secret": "Password1",
    "currency": "USD",
}
GOOD_ENTITY = {
    "name": "Acme FX (CY) Ltd",
    "regulator": "CySEC",
    "licence_number": "123/45",
    "jurisdiction": "CY",
    "allowed_countries": ["CY", "GR"],
    "max_leverage": 30,
}


def _refused(call, counts) -> dict[str, list[str]]:
    before = counts()
    with pytest.raises(ValidationError) as caught:
        call()
    assert counts() == before
    return caught.value.message_dict


@pytest.fixture
def branding(db, admin):
    return services.branding_ensure(display_name="Test Broker", actor=admin)


# --- Branding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (b"GIF89a not really", "This file is not an image we can read; upload JPEG, PNG, WEBP"),
        (b"%PDF-1.7\n%%EOF", "This file is not an image we can read; upload JPEG, PNG, WEBP"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "This file is not an image we can read; upload JPEG, PNG, WEBP (SVG is not accepted).",
        ),
        (image_bytes_of("PNG")[:40], "This file is not an image we can read"),
        (image_bytes_of("GIF"), "GIF images are not accepted; upload JPEG, PNG, WEBP."),
        (image_bytes_of("PNG", (4000, 10)), "The image is 4000×10 pixels; at most 2048"),
        (b"\x89PNG" + b"0" * (1024 * 1024), "The image is larger than 1024 KB."),
    ],
    ids=["gif-header", "pdf", "svg", "truncated-png", "gif", "too-wide", "too-big"],
)
def test_a_logo_that_is_not_an_acceptable_image_is_refused(
    branding, admin, counts, upload, message
):
    errors = _refused(
        lambda: services.branding_update(changes={"logo": upload}, actor=admin), counts
    )

    assert list(errors) == ["logo"]
    assert errors["logo"][0].startswith(message)
    assert Branding.objects.get().logo_file == ""


@pytest.mark.parametrize("colour", ["red", "#12", "#1234", "#gggggg", "1f6feb", "#1f6feb ", ""])
def test_colours_that_are_not_colours_are_refused(branding, admin, counts, colour):
    errors = _refused(
        lambda: services.branding_update(
            changes={"primary_color": colour, "display_name": "Changed"}, actor=admin
        ),
        counts,
    )

    assert errors == {"primary_color": ["Enter a colour as #rgb or #rrggbb, e.g. #1f6feb."]}
    assert Branding.objects.get().display_name == "Test Broker"


@pytest.mark.parametrize(
    ("css", "message"),
    [
        ("body{background:url(https://evil.example/x.png)}", "url(https://evil.example/x.png) points outside this site"),
        ("body{background:url('//evil.example/x.png')}", "url(//evil.example/x.png) points outside this site"),
        ('body{background:url("data:image/svg+xml,<svg>")}', "Custom CSS cannot contain '<'"),
        ("body{background:url(data:image/png;base64,AAAA)}", "url(data:image/png;base64,AAAA) points outside"),
        ("body{background:u\\72l(https://evil.example/)}", "url(https://evil.example/) points outside"),
        ("body{width:expression(alert(1))}", "Custom CSS cannot use expression("),
        ("body{width:EXPRESSION (alert(1))}", "Custom CSS cannot use expression("),
        ("body{width:expr/**/ession(alert(1))}", "Custom CSS cannot use expression("),
        ("@import 'https://evil.example/a.css';", "Custom CSS cannot use @import"),
        ("@\\69mport 'x.css';", "Custom CSS cannot use @import"),
        ("a{background:javascript:alert(1)}", "Custom CSS cannot use javascript:"),
        ("</style><script>alert(1)</script>", "Custom CSS cannot contain '<'"),
        ("a{content:'\\3c/style>'}", "Custom CSS cannot contain '<', escaped or not."),
        ("body{behavior:url(/x.htc)}", "Custom CSS cannot use behavior:"),
        ("body{-moz-binding:url(/x.xml#x)}", "Custom CSS cannot use -moz-binding"),
        ("a{background:image-set('https://evil.example/a.png' 1x)}", "Custom CSS cannot use image-set("),
        ("a{background:url(https://evil.example/a.png", "url( that is never closed"),
    ],
)  # fmt: skip
def test_unsafe_custom_css_is_refused(branding, admin, counts, css, message):
    errors = _refused(
        lambda: services.branding_update(changes={"custom_css": css}, actor=admin), counts
    )

    assert list(errors) == ["custom_css"]
    assert message in errors["custom_css"][0]
    assert Branding.objects.get().custom_css == ""


def test_custom_css_may_use_paths_on_the_tenants_own_host(branding, admin):
    css = ".hero{background:url(/branding/logo) no-repeat;color:var(--brand-primary)}"

    services.branding_update(changes={"custom_css": css}, actor=admin)

    assert Branding.objects.get().custom_css == css


@pytest.mark.parametrize("zone", ["Mars/Olympus", "UTC+3", "", "europe/nicosia "])
def test_a_time_zone_that_does_not_exist_is_refused(branding, admin, counts, zone):
    errors = _refused(
        lambda: services.branding_update(changes={"time_zone": zone}, actor=admin), counts
    )

    assert list(errors) == ["time_zone"]
    assert "is not a time zone; use an IANA name such as Europe/Nicosia." in errors["time_zone"][0]


def test_every_bad_field_is_named_at_once_and_unknown_fields_are_refused(branding, admin, counts):
    errors = _refused(
        lambda: services.branding_update(
            changes={"primary_color": "blue", "base_theme": "neon", "owner": "me"}, actor=admin
        ),
        counts,
    )

    assert errors == {
        "primary_color": ["Enter a colour as #rgb or #rrggbb, e.g. #1f6feb."],
        "base_theme": ["Choose one of: classic, midnight."],
        "owner": ["Unknown field."],
    }


# --- Trading servers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "https://mt5.example.com",
        "mt5.example.com/api",
        "mt5.example.com:99999",
        "mt5.example.com:port",
        "mt5 example.com",
        "-bad-.example.com",
        "user@mt5.example.com",
        "10.0.0.999",
        "[2001:db8::1",
        "[mt5.example.com]:443",
        "",
    ],
)
def test_a_trading_server_address_that_is_not_a_host_is_refused(admin, counts, address):
    errors = _refused(
        lambda: services.trading_server_create(
            data={**GOOD_SERVER, "address": address}, actor=admin
        ),
        counts,
    )

    assert list(errors) == ["address"]
    assert (
        "is not a host: give a host name or IP address with an optional port"
        in (errors["address"][0])
    )


@pytest.mark.parametrize(
    "address",
    ["mt5.example.com", "mt5.example.com:443", "127.0.0.1:8443", "[2001:db8::1]:443", "::1",
     "localhost:8001"],
)  # fmt: skip
def test_trading_server_addresses_that_are_hosts_are_accepted(admin, address):
    server = services.trading_server_create(data={**GOOD_SERVER, "address": address}, actor=admin)

    assert TradingServer.objects.get(pk=server.pk).address == address


def test_bad_trading_server_fields_are_each_named(admin, counts):
    data = {
        **GOOD_SERVER,
        "platform": "mt6",
        "currency": "XXX",
        "time_zone": "Nowhere/City",
        "groups": {"Standard!": "real\\std"},
    }
    errors = _refused(lambda: services.trading_server_create(data=data, actor=admin), counts)

    assert sorted(errors) == ["currency", "groups", "platform", "time_zone"]
    assert errors["platform"] == ["Choose one of: mt5, mt4, ctrader, dxtrade."]
    assert errors["currency"][0].startswith("'XXX' is not a supported currency")
    assert errors["groups"] == [
        "'Standard!' is not an account type: use a-z, 0-9, _ and -, at most 40 characters."
    ]


def test_an_mt5_manager_login_must_be_a_number(admin, counts):
    errors = _refused(
        lambda: services.trading_server_create(
            data={**GOOD_SERVER, "manager_login": "admin"}, actor=admin
        ),
        counts,
    )

    assert errors == {"manager_login": ["An MT4/MT5 manager login is a number, e.g. 1001."]}


def test_a_new_trading_server_needs_its_secret(admin, counts):
    errors = _refused(
        lambda: services.trading_server_create(data={**GOOD_SERVER, "secret": ""}, actor=admin),
        counts,
    )

    assert errors == {"secret": ["Enter the manager's password."]}


# --- Legal entities ---------------------------------------------------------------------------


def test_an_entity_allowed_in_a_country_that_does_not_exist_is_refused(admin, counts):
    errors = _refused(
        lambda: services.legal_entity_create(
            data={**GOOD_ENTITY, "allowed_countries": ["CY", "XK", "ZZ", "GRC"]}, actor=admin
        ),
        counts,
    )

    assert errors == {
        "allowed_countries": ["Not ISO 3166-1 alpha-2 country codes: 'XK', 'ZZ', 'GRC'."]
    }


def test_an_update_with_a_bad_country_leaves_the_entity_as_it_was(admin, counts):
    entity = services.legal_entity_create(data=GOOD_ENTITY, actor=admin)

    errors = _refused(
        lambda: services.legal_entity_update(
            legal_entity=entity,
            changes={"jurisdiction": "QQ", "max_leverage": 500},
            actor=admin,
        ),
        counts,
    )

    assert errors == {"jurisdiction": ["'QQ' is not an ISO 3166-1 alpha-2 country code."]}
    fresh = LegalEntity.objects.get(pk=entity.pk)
    assert (fresh.jurisdiction, fresh.max_leverage) == ("CY", 30)


@pytest.mark.parametrize("leverage", [0, -1, 3001, "30", 1.5, True])
def test_leverage_out_of_range_or_not_a_number_is_refused(admin, counts, leverage):
    errors = _refused(
        lambda: services.legal_entity_create(
            data={**GOOD_ENTITY, "max_leverage": leverage}, actor=admin
        ),
        counts,
    )

    assert errors == {
        "max_leverage": ["Enter the leverage as a whole number from 1 to 3000 (30 means 1:30)."]
    }


def test_a_second_entity_with_the_same_name_is_refused(admin, counts):
    services.legal_entity_create(data=GOOD_ENTITY, actor=admin)

    errors = _refused(
        lambda: services.legal_entity_create(
            data={**GOOD_ENTITY, "name": "ACME FX (CY) LTD"}, actor=admin
        ),
        counts,
    )

    assert errors == {"name": ["'ACME FX (CY) LTD' is already used."]}


def test_a_legal_document_must_be_an_https_link_or_a_pdf(admin, counts):
    entity = services.legal_entity_create(data=GOOD_ENTITY, actor=admin)

    link = _refused(
        lambda: services.legal_document_add(
            legal_entity=entity, name="Terms", url="http://acme.example/terms", actor=admin
        ),
        counts,
    )
    file = _refused(
        lambda: services.legal_document_add(
            legal_entity=entity, name="Terms", file_data=b"<html>", actor=admin
        ),
        counts,
    )

    assert link == {"url": ["Enter a full https:// address."]}
    assert file == {"file": ["Upload the document as a PDF."]}


# --- PSP credentials --------------------------------------------------------------------------


def test_a_psp_secret_put_among_the_clear_settings_is_refused(admin, counts):
    errors = _refused(
        lambda: services.psp_credential_create(
            data={
                "name": "Stripe",
                "provider": "stripe",
                "settings": {"publishable_key": "pk_test_1", "secret_key": "sk_test_oops"},
            },
            actor=admin,
        ),
        counts,
    )

    assert errors == {
        "settings": [
            "Unknown settings: secret_key (secrets go in secrets); this provider takes "
            "publishable_key, api_url."
        ]
    }


def test_an_unknown_psp_provider_is_refused(admin, counts):
    errors = _refused(
        lambda: services.psp_credential_create(
            data={"name": "PayPal", "provider": "paypal"}, actor=admin
        ),
        counts,
    )

    assert errors == {"provider": ["Choose one of: stripe, sandbox, praxis, skrill, coinspaid."]}
