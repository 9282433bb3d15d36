"""Writes for teams (sales desks and similar groups of staff), audited (ADR 0016).

A team's members decide what a role with the "team" scope reaches, so moving people between
teams is managing staff: it needs ``staff.manage`` (checked by the entry points) and follows
the escalation rule of the staff services — an actor may only add or remove staff whose
permissions their own cover. Members are active staff of this broker; the lead is one of
them. Bad input raises ``ValidationError`` keyed by field; nothing is saved then.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.checks import codes_for
from brokerdesk.modules.identity.rbac.models import Team

# Sentinel: "leave the lead as it is" (None means "no lead").
UNCHANGED: Any = object()
NAME_MAX = 100


def team_state(team: Team) -> dict[str, Any]:
    """What the audit log records of a team: its name, lead and members (by e-mail)."""
    members = sorted(team.members.values_list("email", flat=True))
    return {"name": team.name, "lead": team.lead.email if team.lead else None, "members": members}


def _name_clean(name: Any, *, exclude_pk: int | None = None) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError({"name": ["Give the team a name."]})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": [f"Use at most {NAME_MAX} characters."]})
    if Team.objects.filter(name__iexact=name).exclude(pk=exclude_pk).exists():
        raise ValidationError({"name": ["A team with this name already exists."]})
    return name


def _staff_by_ids(values: Any, *, field: str, current: Iterable[User] = ()) -> list[User]:
    """Active staff of this broker named by public id (``current`` members may stay even if
    deactivated since); anything else is refused as a whole: a client, an IB, someone
    deactivated or of another broker all look the same."""
    if not isinstance(values, list | tuple | set) or not all(isinstance(v, str) for v in values):
        raise ValidationError({field: ["Choose staff members from the list."]})
    keys = set()
    for value in values:
        try:
            keys.add(uuid.UUID(value))
        except ValueError:
            raise ValidationError({field: ["Choose staff members from the list."]}) from None
    staying = [member.pk for member in current]
    eligible = Q(kind=UserKind.STAFF, is_staff=True, is_active=True) | Q(pk__in=staying)
    found = list(User.objects.filter(eligible, public_id__in=keys))
    if len(found) != len(keys):
        raise ValidationError({field: ["Choose active staff members of this broker."]})
    return found


def _coverage_check(actor: User, people: Iterable[User]) -> None:
    held = codes_for(actor)
    above = sorted(person.email for person in people if not codes_for(person) <= held)
    if above:
        raise ValidationError(
            {"members": [f"You can't move staff with more rights than you: {', '.join(above)}."]}
        )


def _lead_clean(lead: Any, members: list[User]) -> User | None:
    if lead in (None, ""):
        return None
    if not isinstance(lead, str):
        raise ValidationError({"lead": ["Choose the lead among the team's members."]})
    chosen = next((m for m in members if str(m.public_id) == lead.strip().lower()), None)
    if chosen is None:
        raise ValidationError({"lead": ["The lead must be one of the team's members."]})
    return chosen


def _collect(errors: dict[str, list[str]], exc: ValidationError) -> None:
    for field, messages in exc.message_dict.items():
        errors.setdefault(field, []).extend(messages)


@transaction.atomic
def team_create(*, actor: User, name: Any, members: Any = (), lead: Any = None) -> Team:
    """Create a team with its members and (optionally) a lead among them."""
    errors: dict[str, list[str]] = {}
    cleaned_name, chosen, chosen_lead = "", [], None
    try:
        cleaned_name = _name_clean(name)
    except ValidationError as exc:
        _collect(errors, exc)
    try:
        chosen = _staff_by_ids([] if members is None else members, field="members")
        _coverage_check(actor, chosen)
        chosen_lead = _lead_clean(lead, chosen)
    except ValidationError as exc:
        _collect(errors, exc)
    if errors:
        raise ValidationError(errors)
    team = Team.objects.create(name=cleaned_name, lead=chosen_lead)
    team.members.set(chosen)
    audit_record(
        actor=actor, action="identity.team.create", target=team, before=None, after=team_state(team)
    )
    return team


@transaction.atomic
def team_update(
    *, actor: User, team: Team, name: Any = None, members: Any = None, lead: Any = UNCHANGED
) -> Team:
    """Rename a team, change its members and/or its lead. ``None`` leaves name or members
    as they are; ``lead=None`` removes the lead. A lead who leaves the team must be replaced
    in the same change (or the lead set to none)."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    before = team_state(team)
    errors: dict[str, list[str]] = {}
    current = list(team.members.all())
    chosen = current
    if name is not None:
        try:
            name = _name_clean(name, exclude_pk=team.pk)
        except ValidationError as exc:
            _collect(errors, exc)
    if members is not None:
        try:
            chosen = _staff_by_ids(members, field="members", current=current)
            moved = set(chosen).symmetric_difference(current)
            _coverage_check(actor, moved)
        except ValidationError as exc:
            _collect(errors, exc)
    new_lead = team.lead
    if "members" not in errors:
        try:
            if lead is not UNCHANGED:
                new_lead = _lead_clean(lead, chosen)
            elif new_lead is not None and new_lead not in chosen:
                raise ValidationError(
                    {"lead": ["The lead is leaving the team: choose another lead or none."]}
                )
        except ValidationError as exc:
            _collect(errors, exc)
    if errors:
        raise ValidationError(errors)
    if name is not None:
        team.name = name
    team.lead = new_lead
    team.save(update_fields=["name", "lead"])
    if members is not None:
        team.members.set(chosen)
    after = team_state(team)
    if after != before:
        audit_record(
            actor=actor, action="identity.team.update", target=team, before=before, after=after
        )
    return team


@transaction.atomic
def team_delete(*, actor: User, team: Team) -> None:
    """Delete an empty team (a team with members keeps them from silently losing reach)."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    if team.members.exists():
        raise ValidationError(
            {"non_field_errors": ["Remove the team's members first; only an empty team can go."]}
        )
    audit_record(
        actor=actor, action="identity.team.delete", target=team, before=team_state(team), after=None
    )
    team.delete()
