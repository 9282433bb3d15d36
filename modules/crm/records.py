"""Writing client records: created at registration (or by staff/import as a lead), routed to
an owner at once, reassigned by hand (audited), annotated with notes."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.crm import duplicates, routing
from brokerdesk.modules.crm.events import client_event, client_target
from brokerdesk.modules.crm.models import ClientRecord, Note, TimelineEntry, TimelineKind
from brokerdesk.modules.crm.source import Source
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.models import Team

_GMAIL = {"gmail.com", "googlemail.com"}


def email_key(email: str) -> str:
    """The address as a mailbox: lower case, no "+tag", Gmail's dots ignored."""
    local, _at, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def name_key(name: str) -> str:
    """A name for comparison: case, accents and spacing ignored."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())[:150]


def _source_fields(source: Source | None) -> dict[str, Any]:
    if source is None:
        return {}
    return {
        "utm_source": source.utm_source,
        "utm_medium": source.utm_medium,
        "utm_campaign": source.utm_campaign,
        "utm_term": source.utm_term,
        "utm_content": source.utm_content,
        "landing_page": source.landing_page,
        "referrer": source.referrer,
        "referral_code": source.referral_code,
        "source_language": source.language,
        "source_country": source.country,
        "first_touch_at": source.at or None,
    }


def _record_create(
    *, user: User, source: Source | None, date_of_birth: date | None, actor: Any
) -> ClientRecord:
    record = ClientRecord.objects.create(
        user=user,
        full_name=user.full_name,
        name_key=name_key(user.full_name),
        email=user.email,
        email_key=email_key(user.email),
        phone=user.phone,
        country=user.country,
        language=user.language,
        date_of_birth=date_of_birth,
        created_at=user.created_at,
        stage_changed_at=user.created_at,
        **_source_fields(source),
    )
    if source is not None:
        TimelineEntry.objects.create(
            record=record,
            kind=TimelineKind.SOURCE,
            event="crm.first_touch",
            at=record.first_touch_at or record.created_at,
            data={k: v for k, v in source.as_dict().items() if v and k not in ("at", "extra")},
        )
    audit_record(
        actor=actor,
        action="crm.record_created",
        target=client_target(record),
        before=None,
        after={"email": record.email, "source": _source_fields(source) or None},
    )
    return record


def _route(record: ClientRecord) -> routing.Routed:
    facts = routing.LeadFacts(
        country=record.country, language=record.language, referral_code=record.referral_code
    )
    routed = routing.route(facts)
    if routed.owner is None and routed.desk is None:
        return routed
    owner_set(record=record, owner=routed.owner, desk=routed.desk, actor="routing", via=routed)
    return routed


@transaction.atomic
def record_on_registration(*, user: User, source: Source | None) -> ClientRecord:
    """A client just registered: their record, its first-touch source, routing, the
    "registered" stage and the duplicate check — all in the registration's transaction."""
    record = _record_create(user=user, source=source, date_of_birth=None, actor=user)
    _route(record)
    record = client_event(record, "identity.registered", at=user.created_at, actor=user).record
    duplicates.duplicates_flag(record=record)
    return record


def record_for(user: User) -> ClientRecord:
    """The record of a client, created (unrouted, stage lead) for clients made before the CRM."""
    record = ClientRecord.objects.filter(user=user).first()
    if record is None:
        record = _record_create(user=user, source=None, date_of_birth=None, actor="crm")
    return record


@transaction.atomic
def lead_create(
    *,
    actor: Any,
    email: str,
    full_name: str = "",
    phone: str = "",
    country: str = "",
    language: str = "",
    date_of_birth: date | None = None,
    source: Source | None = None,
    owner: User | None = None,
    desk: Team | None = None,
    reason: str = "",
) -> ClientRecord:
    """A lead staff or an import bring in (no password yet): given to ``owner``/``desk`` when
    named, else routed like a registration, and checked for duplicates. The same e-mail
    address as an existing client is refused with its id."""
    email = email.strip().lower()
    existing = User.objects.filter(email=email).first()
    if existing is not None:
        raise ValidationError(
            {
                "email": _("A client with this e-mail address exists: %(id)s.")
                % {"id": existing.public_id}
            }
        )
    user = User(
        email=email, full_name=full_name, kind=UserKind.CLIENT, phone=phone, country=country
    )
    user.language = language
    user.set_unusable_password()
    user.save()
    record = _record_create(user=user, source=source, date_of_birth=date_of_birth, actor=actor)
    if owner is not None or desk is not None:
        owner_set(record=record, owner=owner, desk=desk, actor=actor, reason=reason)
    else:
        _route(record)
    duplicates.duplicates_flag(record=record)
    return record


def owner_set(
    *,
    record: ClientRecord,
    owner: User | None,
    desk: Team | None,
    actor: Any,
    reason: str = "",
    via: routing.Routed | None = None,
) -> None:
    """Give ``record`` its owner and desk; a timeline entry and an audit row say who did it."""
    before = {
        "owner": record.owner.email if record.owner_id else None,
        "desk": record.desk.name if record.desk_id else None,
    }
    now = timezone.now()
    rule = via.rule if via is not None else None
    ClientRecord.objects.filter(pk=record.pk).update(
        owner=owner, desk=desk, assigned_at=now, routed_by=rule
    )
    record.owner, record.desk, record.assigned_at, record.routed_by = owner, desk, now, rule
    after = {"owner": owner.email if owner else None, "desk": desk.name if desk else None}
    data = {**after, "previous_owner": before["owner"], "previous_desk": before["desk"]}
    if via is not None:
        data["via"] = via.via
        data["rule"] = via.rule.name if via.rule else None
    TimelineEntry.objects.create(
        record=record,
        kind=TimelineKind.OWNER,
        event="crm.routed" if via is not None else "crm.reassigned",
        at=now,
        actor_label=actor if isinstance(actor, str) else actor.email,
        text=reason,
        data=data,
    )
    audit_record(
        actor=actor,
        action="crm.routed" if via is not None else "crm.reassigned",
        target=client_target(record),
        before=before,
        after=after,
        reason=reason,
    )


@transaction.atomic
def record_reassign(
    *, actor: User, record: ClientRecord, owner_id: Any, desk_id: Any, reason: str
) -> ClientRecord:
    """Reassign by hand: a known active staff owner and/or a known desk, and a reason."""
    errors: dict[str, str] = {}
    owner = desk = None
    if owner_id:
        owner = routing.assignable_staff().filter(public_id=_uuid(owner_id)).first()
        if owner is None:
            errors["owner"] = _("No active staff member has this id.")
    if desk_id:
        desk = Team.objects.filter(public_id=_uuid(desk_id)).first()
        if desk is None:
            errors["desk"] = _("No desk has this id.")
    if not owner_id and not desk_id:
        errors["owner"] = _("Choose an owner, a desk, or both.")
    if not reason.strip():
        errors["reason"] = _("Say why the client changes hands.")
    if errors:
        raise ValidationError(errors)
    record = ClientRecord.objects.select_for_update().get(pk=record.pk)
    owner_set(record=record, owner=owner, desk=desk, actor=actor, reason=reason.strip())
    return record


def _uuid(value: Any) -> Any:
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


NOTE_MAX = 5000


@transaction.atomic
def note_add(*, actor: User, record: ClientRecord, text: str) -> Note:
    """A staff note on a client: kept, shown on the timeline, audited."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": _("Write the note first.")})
    if len(text) > NOTE_MAX:
        raise ValidationError(
            {"text": _("A note holds at most %(max)d characters.") % {"max": NOTE_MAX}}
        )
    note = Note.objects.create(record=record, author=actor, text=text)
    TimelineEntry.objects.create(
        record=record,
        kind=TimelineKind.NOTE,
        event="crm.note",
        at=note.created_at,
        actor_label=actor.email,
        text=text,
        data={"note": str(note.public_id)},
    )
    audit_record(
        actor=actor,
        action="crm.note_added",
        target=client_target(record),
        before=None,
        after={"note": str(note.public_id), "length": len(text)},
    )
    return note
