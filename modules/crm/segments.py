"""Segments: saved filters of the client lists. Other modules (campaigns, reports) reuse them
through ``segment_queryset``, which always returns live, unmerged records."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import AuditTarget, audit_record
from brokerdesk.modules.crm.forms import ClientFilterForm, _as_form_data, filters_from_json
from brokerdesk.modules.crm.models import ClientRecord, Segment
from brokerdesk.modules.crm.selectors import _uuid, clients_filter, records_in_scope
from brokerdesk.modules.identity.rbac.checks import permission_check


class SegmentNotFound(ObjectDoesNotExist):
    """No such segment for this actor."""


def segment_queryset(segment: Segment, *, actor: Any = None) -> QuerySet[ClientRecord]:
    """The records in ``segment``: within ``actor``'s scope when given, else all of them
    ("owner: me" then means the segment's creator)."""
    filters = filters_from_json(segment.filters)
    if filters is None:
        return ClientRecord.objects.none()
    records = records_in_scope(actor) if actor is not None else ClientRecord.objects.all()
    return clients_filter(records, filters, actor=actor or segment.created_by)


def segment_list() -> QuerySet[Segment]:
    return Segment.objects.select_related("created_by")


def segment_get_for_actor(*, public_id: Any, actor: Any) -> Segment:
    key = _uuid(public_id)
    if key is None or not permission_check(actor, "clients.view"):
        raise SegmentNotFound()
    found = segment_list().filter(public_id=key).first()
    if found is None:
        raise SegmentNotFound()
    return found


def _clean(name: Any, filters: Any) -> tuple[str, dict[str, Any]]:
    errors: dict[str, Any] = {}
    name = str(name or "").strip()
    if not name:
        errors["name"] = _("Give the segment a name.")
    elif len(name) > 100:
        errors["name"] = _("At most 100 characters.")
    if not isinstance(filters, dict):
        errors["filters"] = _("Filters are an object of list filters.")
        raise ValidationError(errors)
    form = ClientFilterForm(_as_form_data(filters))
    view = filters.get("view", "all")
    if view not in ("leads", "clients", "all"):
        errors["filters"] = _("view is one of leads, clients, all.")
    elif not form.is_valid():
        errors["filters"] = [f"{field}: {' '.join(msgs)}" for field, msgs in form.errors.items()]
    if errors:
        raise ValidationError(errors)
    return name, form.filters(view=view).as_json()


def _may_change(actor: Any, segment: Segment) -> None:
    if segment.created_by_id != actor.pk and not permission_check(actor, "config.manage"):
        raise PermissionDenied(_("Only its creator or a Super admin can change a segment."))


@transaction.atomic
def segment_create(*, actor: Any, name: Any, filters: Any) -> Segment:
    name, cleaned = _clean(name, filters)
    segment = Segment.objects.create(name=name, filters=cleaned, created_by=actor)
    audit_record(
        actor=actor,
        action="crm.segment_created",
        target=AuditTarget(type="segment", public_id=str(segment.public_id)),
        before=None,
        after={"name": name, "filters": cleaned},
    )
    return segment


@transaction.atomic
def segment_update(
    *, actor: Any, segment: Segment, name: Any = None, filters: Any = None
) -> Segment:
    _may_change(actor, segment)
    before = {"name": segment.name, "filters": segment.filters}
    name, cleaned = _clean(
        segment.name if name is None else name, segment.filters if filters is None else filters
    )
    segment.name, segment.filters, segment.updated_at = name, cleaned, timezone.now()
    segment.save()
    audit_record(
        actor=actor,
        action="crm.segment_updated",
        target=AuditTarget(type="segment", public_id=str(segment.public_id)),
        before=before,
        after={"name": name, "filters": cleaned},
    )
    return segment


@transaction.atomic
def segment_delete(*, actor: Any, segment: Segment) -> None:
    _may_change(actor, segment)
    before = {"name": segment.name, "filters": segment.filters}
    segment.delete()
    audit_record(
        actor=actor,
        action="crm.segment_deleted",
        target=AuditTarget(type="segment", public_id=str(segment.public_id)),
        before=before,
        after=None,
    )
