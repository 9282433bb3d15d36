"""KYC documents in S3 across tenants: no signed link can be minted for another tenant's
document (or another client's), and a link always names the asking tenant's own prefix."""

from __future__ import annotations

import datetime as dt
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from django.conf import settings
from django.test import Client
from django.utils import timezone

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.services import default_roles_ensure
from brokerdesk.modules.kyc.configuration import configuration_defaults_ensure
from brokerdesk.modules.kyc.documents import (
    Upload,
    document_get_for_actor,
    document_link_mint,
    document_upload,
)
from brokerdesk.modules.kyc.models import KycDocument
from brokerdesk.tenants.schemas import tenant_context

CORPUS = Path(__file__).resolve().parents[1] / "kyc" / "corpus" / "valid"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.rbac_actors import sign_in  # noqa: E402


def _s3():
    config = Config(s3={"addressing_style": "path"}, signature_version="s3v4")
    return boto3.client("s3", endpoint_url=settings.S3_ENDPOINT_URL, config=config)


def _world(tenant, slug: str) -> dict:
    """A client with an uploaded passport and a Compliance reviewer, in ``tenant``."""
    with tenant_context(tenant):
        configuration_defaults_ensure()
        roles = default_roles_ensure()
        reviewer, created = User.objects.get_or_create(
            email=f"compliance@{slug}.example", defaults={"kind": "staff", "is_staff": True}
        )
        if created:
            reviewer.rbac_roles.set([roles["compliance"]])
        client, _ = User.objects.get_or_create(
            email=f"trader@{slug}.example", defaults={"kind": UserKind.CLIENT}
        )
        document = KycDocument.objects.filter(case__client=client).first() or document_upload(
            client=client,
            upload=Upload(
                kind="identity", document_type="passport",
                data=(CORPUS / "passport-photo.jpg").read_bytes(),
                expires_on=timezone.localdate() + dt.timedelta(days=900),
            ),
            actor=client,
        )  # fmt: skip
    return {"tenant": tenant, "reviewer": reviewer, "client": client, "document": document,
            "host": tenant.get_primary_domain().domain}  # fmt: skip


@pytest.fixture(scope="module")
def worlds(pair, django_db_blocker):
    if not settings.S3_ENDPOINT_URL:
        pytest.fail("S3 tests need S3_ENDPOINT_URL (`brokerdesk test` starts moto's server)")
    alpha, beta = pair
    with django_db_blocker.unblock():
        made = (_world(alpha, "kyc-alpha"), _world(beta, "kyc-beta"))
    yield made
    for world in made:
        prefix = f"tenants/{world['tenant'].schema_name}/kyc/"
        for item in (
            _s3().list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=prefix).get("Contents", ())
        ):
            _s3().delete_object(Bucket=settings.S3_BUCKET, Key=item["Key"])


def test_each_tenant_mints_links_only_into_its_own_prefix(committed, worlds):
    for world in worlds:
        with tenant_context(world["tenant"]):
            link = document_link_mint(document=world["document"], actor=world["reviewer"])
        path = urlsplit(link.url).path
        assert path.startswith(f"/{settings.S3_BUCKET}/tenants/{world['tenant'].schema_name}/kyc/")
        with urllib.request.urlopen(link.url, timeout=10) as response:  # noqa: S310 (moto)
            assert response.read() == (CORPUS / "passport-photo.jpg").read_bytes()


def test_another_tenants_document_cannot_be_loaded_or_linked(committed, worlds):
    alpha, beta = worlds
    with tenant_context(beta["tenant"]):
        with pytest.raises(KycDocument.DoesNotExist):
            document_get_for_actor(public_id=alpha["document"].public_id, actor=beta["reviewer"])

    with tenant_context(beta["tenant"]):
        http = sign_in(Client(HTTP_HOST=beta["host"]), beta["reviewer"])
    response = http.post(f"/api/v1/kyc/documents/{alpha['document'].public_id}/link/")
    page = http.post(f"/backoffice/kyc/documents/{alpha['document'].public_id}/view/")

    assert (response.status_code, page.status_code) == (404, 404)
    assert str(alpha["document"].public_id) not in response.content.decode()


def test_a_row_naming_another_tenants_key_still_links_into_its_own_prefix(committed, worlds):
    alpha, beta = worlds
    with tenant_context(beta["tenant"]):
        forged = KycDocument.objects.get(pk=beta["document"].pk)
        forged.file_key = alpha["document"].file_key  # as if a row were tampered with
        link = document_link_mint(document=forged, actor=beta["reviewer"])

    path = urlsplit(link.url).path
    assert path == (
        f"/{settings.S3_BUCKET}/tenants/{beta['tenant'].schema_name}/{alpha['document'].file_key}"
    )
    # Beta's prefix holds no such object: S3 refuses (moto says 403, as S3 does without
    # list permission); alpha's bytes are never served.
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(link.url, timeout=10)  # noqa: S310 (moto)
    assert missing.value.code in {403, 404}
    assert (CORPUS / "passport-photo.jpg").read_bytes() not in missing.value.read()


def test_a_client_of_the_tenant_cannot_mint_or_load_another_clients_document(committed, worlds):
    alpha, _ = worlds
    with tenant_context(alpha["tenant"]):
        other, _ = User.objects.get_or_create(
            email="other-trader@kyc-alpha.example", defaults={"kind": UserKind.CLIENT}
        )
        with pytest.raises(KycDocument.DoesNotExist):
            document_get_for_actor(public_id=alpha["document"].public_id, actor=other)
        http = Client(HTTP_HOST=alpha["host"])
        http.force_login(other)
    response = http.post(f"/api/v1/kyc/documents/{alpha['document'].public_id}/link/")
    assert response.status_code == 403
