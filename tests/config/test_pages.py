"""Back Office settings pages: Super admin only, field messages on bad input, secrets
write-only (never in any page)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.tenants.config import services
from brokerdesk.tenants.config.models import (
    Branding,
    LegalEntity,
    PspCredential,
    TradingServer,
)
from brokerdesk.tenants.config.views import login_url

SERVER_PASSWORD = "Pages-Secret-Pa55word"
PSP_SECRET = "pages-psp-signing-secret-0123"
SERVER_FORM = {
    "name": "MT5 Demo",
    "platform": "mt5",
    "address": "demo.mt5.example:443",
    "manager_login": "1001",
    "secret": SERVER_PASSWORD,
    "environment": "demo",
    "currency": "USD",
    "time_zone": "Europe/Nicosia",
    "groups": "standard = demo\\forex\\standard\npro = demo\\forex\\pro",
}
INDEX_URL = "backoffice:settings:index"
PAGES = [
    "backoffice:settings:index",
    "backoffice:settings:branding",
    "backoffice:settings:entities",
    "backoffice:settings:entity-create",
    "backoffice:settings:servers",
    "backoffice:settings:server-create",
    "backoffice:settings:psps",
    "backoffice:settings:psp-create",
]


def _server(actor) -> TradingServer:
    data = {**SERVER_FORM, "groups": {"standard": "demo\\forex\\standard"}}
    return services.trading_server_create(data=data, actor=actor)


def _psp(actor) -> PspCredential:
    return services.psp_credential_create(
        data={"name": "Sandbox", "provider": "sandbox", "secrets": {"signing_secret": PSP_SECRET}},
        actor=actor,
    )


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(tenant_client, name):
    url = reverse(name)

    response = tenant_client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{login_url()}?next={url.replace('/', '%2F')}"


@pytest.mark.parametrize("who", ["staff", "trader"])
@pytest.mark.parametrize("name", PAGES)
def test_users_who_are_not_super_admins_get_403(tenant_client, request, who, name):
    tenant_client.force_login(request.getfixturevalue(who))

    assert tenant_client.get(reverse(name)).status_code == 403


def test_a_staff_user_cannot_post_a_change(tenant_client, staff, counts):
    tenant_client.force_login(staff)
    before = counts()

    response = tenant_client.post(reverse("backoffice:settings:server-create"), SERVER_FORM)

    assert response.status_code == 403 and counts() == before


@pytest.mark.parametrize("name", PAGES)
def test_super_admins_see_every_settings_page(admin_client, name):
    response = admin_client.get(reverse(name))

    assert response.status_code == 200
    assert b'data-testid="settings"' in response.content


def test_the_login_url_is_the_back_office_login_when_it_exists():
    from django.urls import NoReverseMatch

    try:
        expected = reverse("backoffice:login")
    except NoReverseMatch:
        from django.conf import settings

        expected = settings.LOGIN_URL
    assert login_url() == expected


def test_a_trading_server_is_created_from_the_form_with_its_groups(admin_client, admin):
    response = admin_client.post(reverse("backoffice:settings:server-create"), SERVER_FORM)

    assert response.status_code == 302
    server = TradingServer.objects.get()
    assert (server.address, server.time_zone, server.updated_by) == (
        "demo.mt5.example:443",
        "Europe/Nicosia",
        admin.email,
    )
    assert server.groups == {"standard": "demo\\forex\\standard", "pro": "demo\\forex\\pro"}
    assert server.secret.reveal() == SERVER_PASSWORD


def test_a_bad_address_is_shown_on_its_field_and_nothing_is_saved(admin_client, counts):
    before = counts()

    response = admin_client.post(
        reverse("backoffice:settings:server-create"),
        {**SERVER_FORM, "address": "https://mt5.example.com/manager"},
    )

    assert response.status_code == 400
    assert (
        response.context["form"]
        .errors["address"][0]
        .startswith("'https://mt5.example.com/manager' is not a host")
    )
    assert counts() == before
    assert SERVER_PASSWORD.encode() not in response.content  # not even echoed back


def test_malformed_group_lines_are_a_field_message(admin_client, counts):
    before = counts()

    response = admin_client.post(
        reverse("backoffice:settings:server-create"), {**SERVER_FORM, "groups": "standard"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["groups"] == [
        "Line 1: write it as account_type = group name."
    ]
    assert counts() == before


def test_the_secret_is_write_only_and_blank_keeps_it(admin_client, admin):
    server = _server(admin)
    url = reverse("backoffice:settings:server-edit", args=[server.public_id])

    page = admin_client.get(url)
    response = admin_client.post(url, {**SERVER_FORM, "secret": "", "name": "MT5 Demo 2"})

    assert b'data-testid="secret-status">set<' in page.content
    assert b"leave blank to keep" in page.content
    assert response.status_code == 302
    fresh = TradingServer.objects.get(pk=server.pk)
    assert (fresh.name, fresh.secret.reveal()) == ("MT5 Demo 2", SERVER_PASSWORD)


def test_no_page_ever_shows_a_secret(admin_client, admin):
    server = _server(admin)
    psp = _psp(admin)
    entity = services.legal_entity_create(
        data={"name": "Acme CY", "jurisdiction": "CY"}, actor=admin
    )
    urls = [reverse(name) for name in PAGES] + [
        reverse("backoffice:settings:server-edit", args=[server.public_id]),
        reverse("backoffice:settings:psp-edit", args=[psp.public_id]),
        reverse("backoffice:settings:entity-edit", args=[entity.public_id]),
        reverse("backoffice:settings:psp-create") + "?provider=stripe",
    ]

    pages = {url: admin_client.get(url) for url in urls}

    assert {url: page.status_code for url, page in pages.items()} == {url: 200 for url in urls}
    for url, page in pages.items():
        text = page.content.decode()
        assert SERVER_PASSWORD not in text and PSP_SECRET not in text, url
        assert server.secret.token not in text and psp.secrets.token not in text, url
    assert "signing_secret <strong>set</strong>" in pages[urls[-3]].content.decode()


def test_a_psp_credential_is_created_with_the_providers_fields(admin_client):
    response = admin_client.post(
        reverse("backoffice:settings:psp-create"),
        {
            "provider": "praxis",
            "name": "Praxis EU",
            "setting_merchant_id": "M-1",
            "setting_application_key": "App",
            "secret_merchant_secret": "praxis-secret-value",
        },
    )

    assert response.status_code == 302
    credential = PspCredential.objects.get()
    assert (credential.provider, credential.settings) == (
        "praxis",
        {"merchant_id": "M-1", "application_key": "App"},
    )
    assert services.psp_secrets_reveal(credential) == {"merchant_secret": "praxis-secret-value"}


def test_htmx_swaps_the_provider_fields(admin_client):
    response = admin_client.get(
        reverse("backoffice:settings:psp-create") + "?provider=coinspaid", HTTP_HX_REQUEST="true"
    )

    text = response.content.decode()
    assert text.lstrip().startswith('<div id="psp-fields">')
    assert 'name="secret_api_secret"' in text and 'name="setting_public_key"' in text


def test_branding_form_uploads_a_logo_and_refuses_a_bad_colour(admin_client, png, counts):
    url = reverse("backoffice:settings:branding")
    form = {"display_name": "Acme FX", "primary_color": "#e4572e", "accent_color": "#1b1b3a",
            "base_theme": "midnight", "time_zone": "Asia/Dubai"}  # fmt: skip
    before = counts()

    bad = admin_client.post(url, {**form, "accent_color": "navy"})
    assert bad.status_code == 400
    assert bad.context["form"].errors["accent_color"] == [
        "Enter a colour as #rgb or #rrggbb, e.g. #1f6feb."
    ]
    assert counts() == before

    good = admin_client.post(url, {**form, "logo": SimpleUploadedFile("a.png", png, "image/png")})
    assert good.status_code == 302
    branding = Branding.objects.get()
    assert (branding.display_name, branding.base_theme, branding.time_zone) == (
        "Acme FX",
        "midnight",
        "Asia/Dubai",
    )
    assert branding.logo_content_type == "image/png"
    change = (
        AuditEntry.objects.filter(action="config.branding.update").order_by("-sequence").first()
    )
    assert sorted(change.after) == [
        "accent_color",
        "base_theme",
        "display_name",
        "logo",
        "primary_color",
        "time_zone",
    ]


def test_a_logo_that_is_not_an_image_is_a_field_message(admin_client, counts):
    before = counts()
    response = admin_client.post(
        reverse("backoffice:settings:branding"),
        {
            "display_name": "Acme",
            "primary_color": "#123",
            "accent_color": "#456",
            "base_theme": "classic",
            "time_zone": "UTC",
            "logo": SimpleUploadedFile("logo.png", b"<?php echo 1; ?>", "image/png"),
        },  # fmt: skip
    )

    assert response.status_code == 400
    assert response.context["form"].errors["logo"] == [
        "This file is not an image we can read; upload JPEG, PNG, WEBP (SVG is not accepted)."
    ]
    assert counts() == before


def test_a_legal_entity_with_an_unknown_country_is_refused_on_the_form(admin_client, counts):
    before = counts()

    response = admin_client.post(
        reverse("backoffice:settings:entity-create"),
        {
            "name": "Acme CY",
            "jurisdiction": "CY",
            "allowed_countries": "CY, XX",
            "max_leverage": "30",
        },  # fmt: skip
    )

    assert response.status_code == 400
    assert response.context["form"].errors["allowed_countries"] == [
        "Not ISO 3166-1 alpha-2 country codes: 'XX'."
    ]
    assert counts() == before


def test_a_legal_document_pdf_is_served_from_the_tenants_own_host(admin_client, admin):
    entity = services.legal_entity_create(
        data={"name": "Acme CY", "jurisdiction": "CY"}, actor=admin
    )
    pdf = b"%PDF-1.4\n%%EOF\n"

    added = admin_client.post(
        reverse("backoffice:settings:document-add", args=[entity.public_id]),
        {"name": "Client agreement", "file": SimpleUploadedFile("t.pdf", pdf, "application/pdf")},
    )
    document = LegalEntity.objects.get().documents.get()
    served = admin_client.get(reverse("config-files:legal-document", args=[document.public_id]))

    assert added.status_code == 302
    assert (served.status_code, served["Content-Type"], served.content) == (
        200,
        "application/pdf",
        pdf,
    )


def test_an_unknown_public_id_is_404(admin_client):
    url = reverse("backoffice:settings:server-edit", args=["6f1c2a4e-0000-4000-8000-000000000000"])

    assert admin_client.get(url).status_code == 404
