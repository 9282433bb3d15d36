"""IBs, their effective-dated tree and their clients' effective-dated assignments.

Interval rows are never edited (migration 0002): a change supersedes the rows it touches and
inserts what replaces them, in one transaction. The exclusion constraints make overlapping
live intervals impossible; cycles in the tree are refused by a check over every instant the
change touches (``_cycle_check``), inside the same transaction.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.partners.errors import PartnerError
from brokerdesk.modules.partners.models import (
    AssignmentSource,
    ClientAssignment,
    HierarchyLink,
    Partner,
    PartnerProgram,
    PartnerStatus,
)

MAX_DEPTH = 32  # a tree deeper than this is a data error, and stops the recursive walk


def referral_code_new() -> str:
    return secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")[:8].upper()


def partner_create(
    *, user: User, name: str, actor: Any, status: str = PartnerStatus.ACTIVE,
    manager: User | None = None, currency: str = "USD", referral_code: str = "",
    company: str = "", country: str = "",
) -> Partner:  # fmt: skip
    """Make ``user`` (kind "ib") an IB."""
    if user.kind != UserKind.IB:
        raise PartnerError(_("Only a user of kind IB can be an introducing broker."), field="user")
    with transaction.atomic():
        partner = Partner.objects.create(
            user=user, name=name, status=status, manager=manager, currency=currency,
            referral_code=referral_code or referral_code_new(), company=company, country=country,
        )  # fmt: skip
        audit_record(
            actor=actor, action="partners.partner_create", target=partner, before=None,
            after={"name": name, "status": status, "referral_code": partner.referral_code},
        )  # fmt: skip
    return partner


# --- Intervals ----------------------------------------------------------------------------------


def _replace_from(model: type, *, key: dict[str, Any], effective_at: datetime,
                  new_row: dict[str, Any] | None, actor: Any) -> list[Any]:  # fmt: skip
    """From ``effective_at`` on, the live rows of ``key`` are replaced by ``new_row`` (or by
    nothing): rows reaching past ``effective_at`` are superseded, the part before it is
    re-inserted unchanged. Returns the superseded rows."""
    now = timezone.now()
    touched = list(
        model.objects.select_for_update()
        .filter(**key, superseded_at__isnull=True)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=effective_at))
        .order_by("valid_from")
    )
    for row in touched:
        model.objects.filter(pk=row.pk).update(superseded_at=now)
    keep = []
    for row in touched:
        if row.valid_from < effective_at:
            fields = {
                f.attname: getattr(row, f.attname)
                for f in model._meta.concrete_fields
                if f.attname not in ("id", "superseded_at", "created_at", "valid_to")
            }
            keep.append(model(**fields, valid_to=effective_at, created_at=now))
    if new_row is not None:
        keep.append(model(**key, **new_row, valid_from=effective_at, created_at=now))
    for row in keep:
        row.save(force_insert=True)
    return touched


def _cycle_check() -> None:
    """Refuse when any IB becomes its own ancestor at some instant (after the change)."""
    sql = f"""
    WITH RECURSIVE up(ib, ancestor, depth, vf, vt) AS (
        SELECT child_id, parent_id, 1, valid_from, coalesce(valid_to, 'infinity')
        FROM partners_hierarchylink WHERE superseded_at IS NULL
      UNION ALL
        SELECT up.ib, l.parent_id, up.depth + 1, greatest(up.vf, l.valid_from),
               least(up.vt, coalesce(l.valid_to, 'infinity'))
        FROM up JOIN partners_hierarchylink l
          ON l.child_id = up.ancestor AND l.superseded_at IS NULL
         AND l.valid_from < up.vt AND coalesce(l.valid_to, 'infinity') > up.vf
        WHERE up.ancestor <> up.ib AND up.depth < {MAX_DEPTH}
    )
    SELECT 1 FROM up WHERE ancestor = ib OR depth >= {MAX_DEPTH} LIMIT 1
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        if cursor.fetchone():
            raise PartnerError(
                _("This change would make an IB its own master (a cycle in the IB tree)."),
                field="parent", code="cycle",
            )  # fmt: skip


def parent_set(*, child: Partner, parent: Partner | None, effective_at: datetime, actor: Any,
               reason: str = "") -> None:  # fmt: skip
    """``child`` sits under ``parent`` (None: at the top) from ``effective_at`` on; before it,
    the tree stays as it was."""
    if parent is not None and parent.pk == child.pk:
        raise PartnerError(_("An IB cannot be its own master."), field="parent", code="cycle")
    try:
        with transaction.atomic():
            # One tree change at a time: the cycle check must see every other change.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('partners.tree'))")
            before = _replace_from(
                HierarchyLink, key={"child": child}, effective_at=effective_at,
                new_row=None if parent is None else {"parent": parent, "created_by": _user(actor),
                                                      "reason": reason[:500]},
                actor=actor,
            )  # fmt: skip
            _cycle_check()
            audit_record(
                actor=actor, action="partners.parent_set", target=child,
                before={"links": [_link_dict(row) for row in before]},
                after={"parent": str(parent.public_id) if parent else None,
                       "effective_at": effective_at.isoformat()},
                reason=reason,
            )  # fmt: skip
    except IntegrityError as error:
        raise PartnerError(
            _("The IB tree changed meanwhile; try again."), code="conflict"
        ) from error


def _user(actor: Any) -> User | None:
    return actor if isinstance(actor, User) else None


def _link_dict(row: HierarchyLink) -> dict[str, Any]:
    return {
        "parent": row.parent_id,
        "valid_from": row.valid_from.isoformat(),
        "valid_to": row.valid_to.isoformat() if row.valid_to else None,
    }


def assignment_set(*, client: User, partner: Partner | None, effective_at: datetime, actor: Any,
                   source: str = AssignmentSource.MANUAL, reassignment: Any = None,
                   audit: bool = True) -> list[ClientAssignment]:  # fmt: skip
    """``client`` belongs to ``partner`` (None: to no IB) from ``effective_at`` on."""
    # An IB's own trading account may sit under an IB too (it then earns that IB nothing).
    if client.kind not in (UserKind.CLIENT, UserKind.IB):
        raise PartnerError(_("Only clients are assigned to IBs."), field="client")
    if effective_at < client.created_at:
        raise PartnerError(
            _("The effective date is before the client existed (%(created)s).")
            % {"created": timezone.localtime(client.created_at).date().isoformat()},
            field="effective_at", code="before_client",
        )  # fmt: skip
    if partner is not None and partner.status != PartnerStatus.ACTIVE:
        raise PartnerError(_("This IB is not active."), field="partner", code="inactive")
    try:
        with transaction.atomic():
            before = _replace_from(
                ClientAssignment, key={"client": client}, effective_at=effective_at,
                new_row=None if partner is None else {
                    "partner": partner, "source": source, "reassignment": reassignment,
                    "created_by": _user(actor)},
                actor=actor,
            )  # fmt: skip
            if audit:
                audit_record(
                    actor=actor, action="partners.assignment_set", target=client,
                    before={"assignments": [_assignment_dict(row) for row in before]},
                    after={"partner": str(partner.public_id) if partner else None,
                           "effective_at": effective_at.isoformat(), "source": source},
                )  # fmt: skip
    except IntegrityError as error:
        raise PartnerError(
            _("This assignment overlaps another one of the same client."), code="overlap"
        ) from error
    return before


def _assignment_dict(row: ClientAssignment) -> dict[str, Any]:
    return {
        "partner": row.partner_id,
        "valid_from": row.valid_from.isoformat(),
        "valid_to": row.valid_to.isoformat() if row.valid_to else None,
    }


def partner_at(client: User, moment: datetime) -> Partner | None:
    """The IB ``client`` belonged to at ``moment`` (by the live history)."""
    row = (
        ClientAssignment.objects.filter(
            client=client, superseded_at__isnull=True, valid_from__lte=moment
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=moment))
        .select_related("partner")
        .first()
    )
    return row.partner if row else None


def assignment_history(client: User) -> list[ClientAssignment]:
    """Every assignment row of ``client``, superseded ones included (what we believed when)."""
    return list(
        ClientAssignment.objects.filter(client=client)
        .select_related("partner", "reassignment")
        .order_by("valid_from", "created_at", "id")
    )


def subtree_ids(partner: Partner, moment: datetime | None = None) -> list[int]:
    """``partner`` and every IB under it at ``moment`` (now by default)."""
    moment = moment or timezone.now()
    sql = f"""
    WITH RECURSIVE down(id, depth) AS (
        SELECT %s::bigint, 0
      UNION
        SELECT l.child_id, down.depth + 1 FROM down JOIN partners_hierarchylink l
          ON l.parent_id = down.id AND l.superseded_at IS NULL
         AND l.valid_from <= %s AND (l.valid_to IS NULL OR l.valid_to > %s)
        WHERE down.depth < {MAX_DEPTH}
    )
    SELECT DISTINCT id FROM down
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [partner.pk, moment, moment])
        return [row[0] for row in cursor.fetchall()]


def tree_rows(moment: datetime | None = None) -> list[tuple[Partner, int, Partner | None]]:
    """Every IB with its depth and master at ``moment``, depth-first (for tree pages).
    Clients referring friends (the "friend" programme) are not IBs and have no tree."""
    moment = moment or timezone.now()
    parents = dict(
        HierarchyLink.objects.filter(superseded_at__isnull=True, valid_from__lte=moment)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=moment))
        .values_list("child_id", "parent_id")
    )
    partners = {p.pk: p for p in Partner.objects.filter(program=PartnerProgram.IB)}
    children: dict[int | None, list[int]] = {}
    for pk in partners:
        children.setdefault(parents.get(pk), []).append(pk)
    out: list[tuple[Partner, int, Partner | None]] = []

    def walk(pk: int, depth: int) -> None:
        out.append((partners[pk], depth, partners.get(parents.get(pk))))
        if depth < MAX_DEPTH:
            for child in sorted(children.get(pk, []), key=lambda c: partners[c].name):
                walk(child, depth + 1)

    for root in sorted(children.get(None, []), key=lambda c: partners[c].name):
        walk(root, 0)
    return out
