"""KYC documents: uploads (checked by content, stored under the tenant's prefix), reviews of
single documents, and the short-lived signed links staff view them through.

Files live in the default storage, which is the tenant-prefixed S3 storage in production
(``tenants/<schema>/kyc/<case>/<random>.<ext>``, ADR 0012): the key a document row holds is
resolved against the schema of the request that asks, so no link can point into another
tenant's prefix. Every link minted is an audit row, written before the link is handed out.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from storages.backends.s3 import S3Storage

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.rbac.checks import NotInScope, require_permission
from brokerdesk.modules.kyc.cases import CaseConflict, case_open, case_submit_if_complete
from brokerdesk.modules.kyc.files import upload_check
from brokerdesk.modules.kyc.models import (
    DOCUMENT_TRANSITIONS,
    ClientAction,
    DocumentStatus,
    DocumentType,
    KycCase,
    KycDocument,
)
from brokerdesk.modules.kyc.providers.registry import provider_for
from brokerdesk.modules.kyc.selectors import case_scope

ActorLike = Any
# Signed links live one minute: long enough to open, too short to share usefully.
LINK_TTL_S = 60
FILE_TOKEN_SALT = "kyc.document.file"
ORIGINAL_NAME_MAX = 120


@dataclass(frozen=True)
class Upload:
    """What a client sends for one document (form or API), not yet checked."""

    kind: str
    document_type: str
    data: bytes
    original_name: str = ""
    issued_on: dt.date | None = None
    expires_on: dt.date | None = None
    # Read off an identity document by the client (compared with the profile by kyc.risk).
    printed_name: str = ""
    printed_date_of_birth: dt.date | None = None
    document_number: str = ""


def _label(actor: ActorLike) -> str:
    return actor if isinstance(actor, str) else actor.email


def document_upload(*, client: Any, upload: Upload, actor: ActorLike) -> KycDocument:
    """Check ``upload`` completely, store the file, record it, and submit the case for review
    once everything it needs is in. Anything wrong: ``ValidationError`` and nothing stored."""
    case = case_open(client=client, actor=actor)
    if not provider_for(case.configuration).uses_uploads:
        raise ValidationError(
            {"file": [_("Your documents are checked by our verification partner: use the "
                        "verification step on this page.")]}
        )  # fmt: skip
    kind = _upload_fields_check(case, upload)
    try:
        checked = upload_check(upload.data, max_bytes=case.configuration.max_upload_bytes)
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from None
    key = storages["default"].save(
        f"kyc/{case.public_id}/{uuid.uuid4().hex}.{checked.extension}", ContentFile(checked.data)
    )
    try:
        with transaction.atomic():
            document = _document_record(case, kind, upload, checked, key, actor)
            case_submit_if_complete(case=case, actor=actor)
    except BaseException:
        storages["default"].delete(key)  # the row was rolled back: leave no orphan file
        raise
    return document


def _upload_fields_check(case: KycCase, upload: Upload) -> Any:
    if not case.state.allows(ClientAction.UPLOAD_DOCUMENTS):
        raise ValidationError(
            {"file": [_("Documents cannot be uploaded now: %(message)s")
                      % {"message": case.state.client_message}]}
        )  # fmt: skip
    kind = case.configuration.document_kinds.filter(key=upload.kind).first()
    if kind is None:
        raise ValidationError({"kind": [_("Choose which document this is.")]})
    errors: dict[str, list[str]] = {}
    if upload.document_type not in kind.accepted_types:
        accepted = ", ".join(str(DocumentType(t).label) for t in kind.accepted_types)
        errors["document_type"] = [
            _("For %(kind)s we accept: %(types)s.") % {"kind": kind.label, "types": accepted}
        ]
    today = timezone.localdate()
    if kind.max_age_days is not None:
        if upload.issued_on is None:
            errors["issued_on"] = [_("Enter the date the document was issued.")]
        elif upload.issued_on > today:
            errors["issued_on"] = [_("The issue date cannot be in the future.")]
        elif (today - upload.issued_on).days > kind.max_age_days:
            errors["issued_on"] = [max_age_text(kind.max_age_days)]
    if kind.expires:
        if upload.expires_on is None:
            errors["expires_on"] = [_("Enter the expiry date printed on the document.")]
        elif upload.expires_on <= today:
            errors["expires_on"] = [_("This document has expired; upload a valid one.")]
    errors.update(_printed_fields_check(kind, upload, today))
    if errors:
        raise ValidationError(errors)
    return kind


PRINTED_NAME_MAX = 200
DOCUMENT_NUMBER_MAX = 40


def _printed_fields_check(kind: Any, upload: Upload, today: dt.date) -> dict[str, list[str]]:
    """The identity data the client typed: optional (a case without it goes to a reviewer),
    but never nonsense."""
    errors: dict[str, list[str]] = {}
    if len(upload.printed_name) > PRINTED_NAME_MAX or not upload.printed_name.isprintable():
        errors["printed_name"] = [_("Enter the name as printed, at most 200 characters.")]
    number = upload.document_number
    plain = number.replace(" ", "").replace("-", "")
    if number and (len(number) > DOCUMENT_NUMBER_MAX or not plain.isalnum()):
        errors["document_number"] = [
            _("Enter the document number as printed: letters and digits, at most 40.")
        ]
    born = upload.printed_date_of_birth
    if born is not None and (born >= today or born.year < today.year - 120):
        errors["printed_date_of_birth"] = [_("Check the date of birth printed on the document.")]
    if (upload.printed_name or number or born) and not kind.expires:
        errors["printed_name"] = [_("Only identity documents carry these details.")]
    return errors


def max_age_text(days: int) -> str:
    """ "older than 3 months" for 90 days; the honest reason shown to the client."""
    if days % 30 == 0:
        months = days // 30
        return _("The document is older than %(n)s months; upload a newer one.") % {"n": months}
    return _("The document is older than %(n)s days; upload a newer one.") % {"n": days}


def _document_record(
    case: KycCase, kind: Any, upload: Upload, checked: Any, key: str, actor: ActorLike
) -> KycDocument:
    # A new upload replaces the kind's current one (kept, marked replaced).
    replaceable = [s for s, nxt in DOCUMENT_TRANSITIONS.items() if DocumentStatus.REPLACED in nxt]
    replaced = KycDocument.objects.filter(case=case, kind=kind, status__in=replaceable).update(
        status=DocumentStatus.REPLACED
    )
    document = KycDocument.objects.create(
        case=case,
        kind=kind,
        document_type=upload.document_type,
        file_key=key,
        content_type=checked.content_type,
        size_bytes=len(checked.data),
        sha256=checked.sha256,
        original_name=_safe_name(upload.original_name),
        issued_on=upload.issued_on,
        expires_on=upload.expires_on,
        printed_name=upload.printed_name.strip(),
        printed_date_of_birth=upload.printed_date_of_birth,
        document_number=upload.document_number.strip(),
    )
    audit_record(
        actor=actor,
        action="kyc.document.upload",
        target=document,
        before=None,
        after={
            "case": str(case.public_id),
            "kind": kind.key,
            "document_type": upload.document_type,
            "content_type": checked.content_type,
            "size_bytes": len(checked.data),
            "sha256": checked.sha256,
            "replaced": replaced,
        },
    )
    return document


def _safe_name(name: str) -> str:
    """The client's file name for display only: no path, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable())[:ORIGINAL_NAME_MAX]


@transaction.atomic
def document_review(
    *,
    document: KycDocument,
    status: str,
    actor: ActorLike,
    reason_code: str = "",
    feedback: str = "",
) -> KycDocument:
    """Set a document's status (compare-and-swap from the status the reviewer saw)."""
    if status not in DOCUMENT_TRANSITIONS.get(document.status, ()):
        raise ValidationError({"status": [_("This document cannot change to that status.")]})
    refused = status in {DocumentStatus.RESUBMISSION_NEEDED, DocumentStatus.REJECTED}
    if refused and not feedback.strip():
        raise ValidationError({"feedback": [_("Tell the client why, in a sentence.")]})
    now = timezone.now()
    moved = KycDocument.objects.filter(pk=document.pk, status=document.status).update(
        status=status, reviewed_at=now, reviewed_by=_label(actor),
        reason_code=reason_code, feedback=feedback.strip(),
    )  # fmt: skip
    if not moved:
        raise CaseConflict(_("This document was reviewed by someone else; reload it."))
    audit_record(
        actor=actor,
        action="kyc.document.review",
        target=document,
        before={"status": document.status},
        after={"status": status, "reason_code": reason_code},
        reason=feedback.strip(),
    )
    document.refresh_from_db()
    return document


def document_get_for_actor(*, public_id: Any, actor: Any, code: str = "kyc.view") -> KycDocument:
    """The one way to load a document for someone: staff holding ``code`` for its case, or
    the client whose case it is. Anything else looks missing (``KycDocument.DoesNotExist``)."""
    try:
        document = KycDocument.objects.select_related("case", "kind").get(public_id=public_id)
    except (KycDocument.DoesNotExist, ValueError, ValidationError):
        raise KycDocument.DoesNotExist() from None
    if not getattr(actor, "is_staff", False):
        if document.case.client_id != getattr(actor, "pk", None):
            raise KycDocument.DoesNotExist()
        return document
    try:
        require_permission(actor, code, obj=case_scope(document.case))
    except NotInScope:
        raise KycDocument.DoesNotExist() from None
    return document


@dataclass(frozen=True)
class SignedLink:
    url: str
    expires_at: dt.datetime


@transaction.atomic
def document_link_mint(*, document: KycDocument, actor: Any) -> SignedLink:
    """A link to the file valid ``LINK_TTL_S`` seconds, for staff holding ``kyc.view`` for the
    case; the view is audited before the link exists."""
    require_permission(actor, "kyc.view", obj=case_scope(document.case))
    expires_at = timezone.now() + dt.timedelta(seconds=LINK_TTL_S)
    audit_record(
        actor=actor,
        action="kyc.document.view",
        target=document,
        before=None,
        after={"case": str(document.case.public_id), "expires_at": expires_at.isoformat()},
    )
    return SignedLink(url=_file_url(document, actor), expires_at=expires_at)


def _file_url(document: KycDocument, actor: Any) -> str:
    storage = storages["default"]
    filename = f"{document.kind.key}-{document.public_id}.{document.file_key.rsplit('.', 1)[-1]}"
    if isinstance(storage, S3Storage):
        return storage.url(
            document.file_key,
            parameters={
                "ResponseContentType": document.content_type,
                "ResponseContentDisposition": f'inline; filename="{filename}"',
            },
            expire=LINK_TTL_S,
        )
    # Without S3 (a developer's machine), the Back Office serves the file itself behind a
    # token that carries the same expiry and is bound to the staff member.
    token = signing.dumps(
        {"d": str(document.public_id), "u": str(actor.public_id)}, salt=FILE_TOKEN_SALT
    )
    return reverse("backoffice:kyc-document-file", kwargs={"token": token})


def file_token_read(token: str) -> tuple[str, str]:
    """(document public id, staff public id) of a valid, unexpired file token."""
    try:
        payload = signing.loads(token, salt=FILE_TOKEN_SALT, max_age=LINK_TTL_S)
    except signing.BadSignature:
        raise KycDocument.DoesNotExist() from None
    return str(payload["d"]), str(payload["u"])


def document_file_read(document: KycDocument) -> bytes:
    with storages["default"].open(document.file_key, "rb") as handle:
        return handle.read()
