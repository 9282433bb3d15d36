"""Writes for roles and staff. Every rule lives here; pages and the API only call these.

Escalation rule (ADR 0016): an actor may only grant, take away or act on what they hold
themselves — a role's codes must be a subset of the actor's codes, and a staff member can
be managed only by an actor whose codes cover the target's. Nobody can deactivate
themselves or remove their own last ``staff.manage`` (the broker would lock itself out).
Bad input raises ``ValidationError`` keyed by field; nothing is saved then. Every change is
audited in its transaction (``identity.role.*``, ``identity.staff.*``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from brokerdesk.modules.audit.services import audit_record
from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.modules.identity.rbac.checks import codes_for, grants_forget
from brokerdesk.modules.identity.rbac.codes import unknown_codes
from brokerdesk.modules.identity.rbac.defaults import DEFAULT_ROLES, SUPER_ADMIN
from brokerdesk.modules.identity.rbac.models import Role, RoleScope
from brokerdesk.modules.identity.services import set_password_link_issue


@transaction.atomic
def default_roles_ensure() -> dict[str, Role]:
    """Create the built-in roles that are missing and bring their codes up to date.

    Built-in codes are not editable by staff, so the defaults here are their truth: a code
    added to a default role (or to the registry, for Super admin) reaches every broker on the
    next run. Names and scopes staff may have changed are left alone. Idempotent.
    """
    roles: dict[str, Role] = {}
    for default in DEFAULT_ROLES:
        codes = sorted(default.codes)
        role = Role.objects.filter(key=default.key).first()
        if role is None:
            role = Role.objects.create(
                key=default.key, name=default.name, scope=default.scope, codes=codes
            )
        elif role.codes != codes:
            role.codes = codes
            role.save(update_fields=["codes"])
        roles[default.key] = role
    return roles


# --- Roles ------------------------------------------------------------------------------------


def _role_codes_clean(codes: Any, *, actor: User) -> list[str]:
    if not isinstance(codes, list | tuple | set) or not all(isinstance(c, str) for c in codes):
        raise ValidationError({"codes": "Choose permissions from the list."})
    unknown = unknown_codes(list(codes))
    if unknown:
        raise ValidationError({"codes": f"Unknown permissions: {', '.join(unknown)}."})
    beyond = sorted(set(codes) - codes_for(actor))
    if beyond:
        raise ValidationError(
            {"codes": f"You can't grant permissions you don't hold: {', '.join(beyond)}."}
        )
    return sorted(set(codes))


def _role_name_clean(name: Any, *, exclude_pk: int | None = None) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError({"name": "Give the role a name."})
    if len(name) > 80:
        raise ValidationError({"name": "Use at most 80 characters."})
    clash = Role.objects.filter(name__iexact=name).exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"name": "A role with this name already exists."})
    return name


def _scope_clean(scope: Any) -> str:
    if scope not in RoleScope.values:
        raise ValidationError({"scope": "Choose own clients, team or all."})
    return str(scope)


@transaction.atomic
def role_create(*, actor: User, name: Any, codes: Any, scope: Any = RoleScope.ALL) -> Role:
    errors: dict[str, Any] = {}
    cleaned: dict[str, Any] = {}
    for field, clean in (
        ("name", lambda: _role_name_clean(name)),
        ("codes", lambda: _role_codes_clean(codes, actor=actor)),
        ("scope", lambda: _scope_clean(scope)),
    ):
        try:
            cleaned[field] = clean()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    role = Role.objects.create(**cleaned)
    audit_record(
        actor=actor, action="identity.role.create", target=role, before=None, after=role_state(role)
    )
    return role


def role_state(role: Role) -> dict[str, Any]:
    """What the audit log records of a role."""
    return {"name": role.name, "scope": role.scope, "codes": sorted(role.codes)}


def staff_state(staff: User) -> dict[str, Any]:
    """What the audit log records of a staff member's access."""
    roles = sorted(staff.rbac_roles.values_list("name", flat=True))
    return {"full_name": staff.full_name, "is_active": staff.is_active, "roles": roles}


@transaction.atomic
def role_update(
    *, actor: User, role: Role, name: Any = None, codes: Any = None, scope: Any = None
) -> Role:
    """Change a role. Super admin is fixed; other built-in roles only change their scope."""
    role = Role.objects.select_for_update().get(pk=role.pk)
    before = role_state(role)
    if role.key == SUPER_ADMIN:
        raise ValidationError({"non_field_errors": ["The Super admin role can't be edited."]})
    errors: dict[str, Any] = {}
    if role.is_builtin:
        if name is not None and name != role.name:
            errors["name"] = ["A built-in role's name can't be changed."]
        if codes is not None and sorted(set(codes or [])) != sorted(role.codes):
            errors["codes"] = ["A built-in role's permissions can't be changed."]
    if not set(role.codes) <= codes_for(actor):
        # Editing a role above you would let you change what others more powerful hold.
        errors.setdefault("non_field_errors", []).append(
            "You can't edit a role with permissions you don't hold."
        )
    changes: dict[str, Any] = {}
    for field, value, clean in (
        ("name", name, lambda: _role_name_clean(name, exclude_pk=role.pk)),
        ("codes", codes, lambda: _role_codes_clean(codes, actor=actor)),
        ("scope", scope, lambda: _scope_clean(scope)),
    ):
        if value is None or field in errors:
            continue
        try:
            changes[field] = clean()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if "codes" in changes and not role.is_builtin:
        _self_lockout_check(actor, role_codes_override={role.pk: changes["codes"]})
    for field, value in changes.items():
        setattr(role, field, value)
    role.save()
    if role_state(role) != before:
        audit_record(
            actor=actor,
            action="identity.role.update",
            target=role,
            before=before,
            after=role_state(role),
        )
    grants_forget(actor)
    return role


def _self_lockout_check(
    actor: User,
    *,
    roles_after: Iterable[Role] | None = None,
    role_codes_override: dict[int, list[str]] | None = None,
) -> None:
    """Refuse a change that would leave ``actor`` without ``staff.manage``."""
    if actor.is_superuser:
        return
    roles = list(roles_after) if roles_after is not None else list(actor.rbac_roles.all())
    override = role_codes_override or {}
    codes = {code for role in roles for code in override.get(role.pk, role.codes)}
    if "staff.manage" in codes_for(actor) and "staff.manage" not in codes:
        raise ValidationError(
            {"roles": "You can't remove your own last role with the staff.manage permission."}
        )


# --- Staff ------------------------------------------------------------------------------------


def _roles_clean(role_ids: Any, *, actor: User) -> list[Role]:
    if not isinstance(role_ids, list | tuple | set):
        raise ValidationError({"roles": "Choose roles from the list."})
    keys = [str(value) for value in role_ids]
    roles = list(Role.objects.filter(public_id__in=_valid_uuids(keys)))
    if len(roles) != len(set(keys)):
        raise ValidationError({"roles": "Choose roles from the list."})
    return roles


def _valid_uuids(values: list[str]) -> list[str]:
    import uuid

    valid = []
    for value in values:
        try:
            valid.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return valid


def _grantable_check(actor: User, roles: Iterable[Role]) -> None:
    held = codes_for(actor)
    above = sorted(role.name for role in roles if not set(role.codes) <= held)
    if above:
        raise ValidationError(
            {"roles": f"You can't grant or remove roles above your own: {', '.join(above)}."}
        )


def _target_check(actor: User, target: User) -> None:
    if not codes_for(target) <= codes_for(actor):
        raise ValidationError(
            {"non_field_errors": ["You can't manage a staff member with more rights than you."]}
        )


@transaction.atomic
def staff_invite(
    *, actor: User, email: Any, full_name: Any = "", roles: Any = ()
) -> tuple[User, str]:
    """Create a staff login without a usable password and issue its one-time set-password
    link (returns the user and the token). The user can't sign in until they choose one."""
    errors: dict[str, Any] = {}
    email = email.strip().lower() if isinstance(email, str) else ""
    try:
        validate_email(email)
        if User.objects.filter(email__iexact=email).exists():
            errors["email"] = ["A user with this e-mail address already exists."]
    except ValidationError:
        errors["email"] = ["Enter a valid e-mail address."]
    full_name = full_name.strip() if isinstance(full_name, str) else ""
    if len(full_name) > 150:
        errors["full_name"] = ["Use at most 150 characters."]
    chosen: list[Role] = []
    try:
        chosen = _roles_clean(roles, actor=actor)
        _grantable_check(actor, chosen)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    user = User(email=email, full_name=full_name, kind=UserKind.STAFF, is_staff=True)
    user.set_unusable_password()
    user.save()
    user.rbac_roles.set(chosen)
    after = {"email": user.email, **staff_state(user)}
    audit_record(actor=actor, action="identity.staff.invite", target=user, before=None, after=after)
    return user, set_password_link_issue(user=user)


@transaction.atomic
def staff_update(*, actor: User, staff: User, roles: Any = None, full_name: Any = None) -> User:
    """Change a staff member's roles and/or name under the escalation rule."""
    staff = User.objects.select_for_update().get(pk=staff.pk)
    before = staff_state(staff)
    errors: dict[str, Any] = {}
    if staff.pk != actor.pk:
        try:
            _target_check(actor, staff)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    chosen: list[Role] | None = None
    if roles is not None:
        try:
            chosen = _roles_clean(roles, actor=actor)
            current = set(staff.rbac_roles.all())
            _grantable_check(actor, current.symmetric_difference(chosen))
            if staff.pk == actor.pk:
                _self_lockout_check(actor, roles_after=chosen)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if full_name is not None:
        if not isinstance(full_name, str) or len(full_name.strip()) > 150:
            errors["full_name"] = ["Use at most 150 characters."]
    if errors:
        raise ValidationError(errors)
    if full_name is not None:
        staff.full_name = full_name.strip()
        staff.save(update_fields=["full_name"])
    if chosen is not None:
        staff.rbac_roles.set(chosen)
    if staff_state(staff) != before:
        audit_record(
            actor=actor,
            action="identity.staff.update",
            target=staff,
            before=before,
            after=staff_state(staff),
        )
    grants_forget(actor)
    return staff


@transaction.atomic
def staff_deactivate(*, actor: User, staff: User) -> User:
    """Stop a staff member from signing in (their history stays)."""
    if staff.pk == actor.pk:
        raise ValidationError({"non_field_errors": ["You can't deactivate yourself."]})
    _target_check(actor, staff)
    before = staff_state(staff)
    User.objects.filter(pk=staff.pk).update(is_active=False)
    staff.is_active = False
    audit_record(
        actor=actor,
        action="identity.staff.deactivate",
        target=staff,
        before=before,
        after=staff_state(staff),
    )
    return staff
