"""Marketing materials: banners and PDFs the broker uploads for its IBs (issue 10).

Uploads go through the KYC content checker (``kyc/files.py``: the type comes from the bytes,
images must decode, PDFs parse, polyglots and active PDFs are refused) and are stored in the
default storage, which is the tenant-prefixed S3 storage (``tenants/<schema>/marketing/…``,
ADR 0012). IBs see only active materials, and download them through links that live
``LINK_TTL_S`` seconds; every link minted is an audit row written before it is handed out.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from storages.backends.s3 import S3Storage

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.kyc.files import upload_check
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import MarketingMaterial, MaterialKind, Partner

MAX_BYTES = 20 * 1024 * 1024
# Long enough to start downloading a large PDF, too short to pass the link around usefully.
LINK_TTL_S = 300
FILE_TOKEN_SALT = "partners.material.file"


def _languages() -> set[str]:
    return {code for code, _name in settings.LANGUAGES}


def _fields_clean(title: Any, language: Any, campaign: Any) -> dict[str, str]:
    title, language, campaign = (str(v or "").strip() for v in (title, language, campaign))
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("Give the material a title.")]
    elif len(title) > 200:
        errors["title"] = [_("Keep the title under 200 characters.")]
    if language and language not in _languages():
        errors["language"] = [
            _("Choose one of the portal's languages (%(codes)s) or leave it empty for all.")
            % {"codes": ", ".join(sorted(_languages()))}
        ]
    if len(campaign) > 100:
        errors["campaign"] = [_("Keep the campaign under 100 characters.")]
    if errors:
        raise ValidationError(errors)
    return {"title": title, "language": language, "campaign": campaign}


def _require_manager(actor: Any) -> None:
    if not permission_check(actor, "partners.manage"):
        raise PartnerError(_("Only an IB manager manages marketing materials."), code="forbidden")


def _safe_name(name: str) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable())[:120]


def material_upload(*, title: str, language: str, campaign: str, data: bytes,
                    original_name: str, actor: Any) -> MarketingMaterial:  # fmt: skip
    """Check the file by its content, store it under the tenant's prefix and record it.
    Anything wrong: ``ValidationError`` with field messages, and nothing stored."""
    _require_manager(actor)
    fields = _fields_clean(title, language, campaign)
    try:
        checked = upload_check(data, max_bytes=MAX_BYTES)
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from None
    key = storages["default"].save(
        f"marketing/{uuid.uuid4().hex}.{checked.extension}", ContentFile(checked.data)
    )
    kind = (
        MaterialKind.DOCUMENT if checked.content_type == "application/pdf" else MaterialKind.BANNER
    )
    try:
        with transaction.atomic():
            material = MarketingMaterial.objects.create(
                **fields, kind=kind, file_key=key, content_type=checked.content_type,
                size_bytes=len(checked.data), sha256=checked.sha256, width_px=checked.width_px,
                height_px=checked.height_px, page_count=checked.page_count,
                original_name=_safe_name(original_name), uploaded_by=actor,
            )  # fmt: skip
            audit_record(actor=actor, action="partners.material_upload", target=material,
                         before=None, after={**fields, "kind": kind, "sha256": checked.sha256,
                                             "size_bytes": len(checked.data)})  # fmt: skip
    except BaseException:
        storages["default"].delete(key)  # the row was rolled back: leave no orphan file
        raise
    return material


def _snapshot(material: MarketingMaterial) -> dict[str, Any]:
    return {"title": material.title, "language": material.language,
            "campaign": material.campaign, "is_active": material.is_active}  # fmt: skip


def material_update(*, material: MarketingMaterial, actor: Any,
                    changes: dict[str, Any]) -> MarketingMaterial:  # fmt: skip
    """Change a material's title, language, campaign or whether IBs see it (``is_active``)."""
    _require_manager(actor)
    with transaction.atomic():
        material = MarketingMaterial.objects.select_for_update().get(pk=material.pk)
        before = _snapshot(material)
        merged = {**before, **{k: v for k, v in changes.items() if k in before}}
        fields = _fields_clean(merged["title"], merged["language"], merged["campaign"])
        for name, value in {**fields, "is_active": bool(merged["is_active"])}.items():
            setattr(material, name, value)
        if _snapshot(material) == before:
            return material
        material.updated_at = timezone.now()
        material.save(update_fields=[*before, "updated_at"])
        audit_record(actor=actor, action="partners.material_update", target=material,
                     before=before, after=_snapshot(material))  # fmt: skip
    return material


def materials_for_partner(partner: Partner, language: str = "") -> QuerySet[MarketingMaterial]:
    """What an IB sees: active materials, for its language (or every language) first."""
    rows = MarketingMaterial.objects.filter(is_active=True)
    if language:
        rows = rows.filter(Q(language="") | Q(language=language))
    return rows.order_by("campaign", "title", "id")


def material_get_for_actor(*, public_id: Any, actor: Any) -> MarketingMaterial:
    """Staff with ``partners.view`` load any material; an active IB only active ones. Anything
    else looks missing (``MarketingMaterial.DoesNotExist``)."""
    from brokerdesk.modules.partners.selectors import partner_of

    rows = MarketingMaterial.objects.all()
    if not permission_check(actor, "partners.view"):
        if partner_of(actor) is None:
            raise MarketingMaterial.DoesNotExist()
        rows = rows.filter(is_active=True)
    try:
        return rows.get(public_id=public_id)
    except (MarketingMaterial.DoesNotExist, ValueError, ValidationError):
        raise MarketingMaterial.DoesNotExist() from None


@dataclass(frozen=True)
class SignedLink:
    url: str
    expires_at: dt.datetime


def _filename(material: MarketingMaterial) -> str:
    return f"material-{material.public_id}.{material.file_key.rsplit('.', 1)[-1]}"


@transaction.atomic
def material_link_mint(*, material: MarketingMaterial, actor: Any) -> SignedLink:
    """A download link valid ``LINK_TTL_S`` seconds; audited before it exists."""
    expires_at = timezone.now() + dt.timedelta(seconds=LINK_TTL_S)
    audit_record(actor=actor, action="partners.material_download", target=material,
                 before=None, after={"expires_at": expires_at.isoformat()})  # fmt: skip
    storage = storages["default"]
    if isinstance(storage, S3Storage):
        url = storage.url(
            material.file_key,
            parameters={
                "ResponseContentType": material.content_type,
                "ResponseContentDisposition": f'attachment; filename="{_filename(material)}"',
            },
            expire=LINK_TTL_S,
        )
    else:
        # Without S3 (a developer's machine) the portal serves the file behind a token with
        # the same expiry, bound to the person it was minted for.
        token = signing.dumps({"m": str(material.public_id), "u": str(actor.public_id)},
                              salt=FILE_TOKEN_SALT)  # fmt: skip
        url = reverse("partner_portal:material-file", kwargs={"token": token})
    return SignedLink(url=url, expires_at=expires_at)


def file_token_read(token: str) -> tuple[str, str]:
    """(material public id, user public id) of a valid, unexpired file token."""
    try:
        payload = signing.loads(token, salt=FILE_TOKEN_SALT, max_age=LINK_TTL_S)
    except signing.BadSignature:
        raise MarketingMaterial.DoesNotExist() from None
    return str(payload["m"]), str(payload["u"])


def material_file_read(material: MarketingMaterial) -> bytes:
    with storages["default"].open(material.file_key, "rb") as handle:
        return handle.read()
