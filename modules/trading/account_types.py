"""Account types per legal entity: which server group, currencies and leverage choices.

Every change asks the platform whether the group exists (a type pointing at a missing group
would fail every opening later) and keeps leverage choices within the entity's cap. Audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import ActorLike, audit_record
from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.models import AccountType, AccountTypeKind
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.platform.money import CURRENCY_EXPONENTS
from brokerdesk.tenants.config.models import LegalEntity, ServerEnvironment, TradingServer

MAX_LEVERAGE = 1000
FIELDS = ("name", "kind", "server", "group", "currencies", "leverage_choices",
          "default_leverage", "leverage_needs_approval", "active", "position")  # fmt: skip


def snapshot(account_type: AccountType) -> dict[str, Any]:
    """What the audit log records of a type."""
    return {
        "legal_entity": str(account_type.legal_entity.public_id),
        "name": account_type.name,
        "kind": account_type.kind,
        "environment": account_type.environment,
        "server": account_type.server.name,
        "group": account_type.group,
        "currencies": list(account_type.currencies),
        "leverage_choices": list(account_type.leverage_choices),
        "default_leverage": account_type.default_leverage,
        "leverage_needs_approval": account_type.leverage_needs_approval,
        "active": account_type.active,
    }


def _lookup(model: Any, value: Any, field: str, label: str) -> Any:
    if isinstance(value, model):
        return value
    try:
        key = uuid.UUID(str(value))
    except ValueError:
        raise ValidationError({field: [_("Unknown %(label)s.") % {"label": label}]}) from None
    found = model.objects.filter(public_id=key).first()
    if found is None:
        raise ValidationError({field: [_("Unknown %(label)s.") % {"label": label}]})
    return found


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise ValidationError({field: [_("Enter a whole number.")]})
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({field: [_("Enter a whole number.")]}) from None
    return number


def _leverages(value: Any) -> list[int]:
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError({"leverage_choices": [_("Give at least one leverage.")]})
    choices = sorted({_int(item, "leverage_choices") for item in value})
    if choices[0] < 1 or choices[-1] > MAX_LEVERAGE:
        raise ValidationError(
            {
                "leverage_choices": [
                    _("Each leverage is between 1 and %(max)s.") % {"max": MAX_LEVERAGE}
                ]
            }
        )
    return choices


def _currencies(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]
    if not isinstance(value, list | tuple):
        raise ValidationError({"currencies": [_("Give a list of currency codes.")]})
    codes = []
    for item in value:
        code = str(item).strip().upper()
        if code not in CURRENCY_EXPONENTS:
            raise ValidationError(
                {"currencies": [_("Unknown currency %(code)s.") % {"code": code}]}
            )
        if code not in codes:
            codes.append(code)
    return codes


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in {"1", "true", "on", "yes"}:
        return True
    if str(value).lower() in {"0", "false", "off", "no", ""}:
        return False
    raise ValidationError({field: [_("Enter true or false.")]})


def platform_group(server: TradingServer, name: str) -> base.Group:
    """The group as the platform knows it; a clear field error when it does not exist."""
    try:
        return gateway_for(server).group(name)
    except (base.PlatformGroupNotFound, base.PlatformNotFound):
        raise ValidationError(
            {"group": [_("The group %(group)s does not exist on %(server)s.")
                       % {"group": name, "server": server.name}]}
        ) from None  # fmt: skip
    except base.PlatformUnavailable:
        raise ValidationError(
            {"server": [_("%(server)s cannot be reached now; nothing was saved. Try again in a "
                          "moment.") % {"server": server.name}]}
        ) from None  # fmt: skip
    except base.PlatformError as exc:
        raise ValidationError(
            {"server": [_("%(server)s refused the check of the group: %(error)s")
                        % {"server": server.name, "error": exc.message}]}
        ) from None  # fmt: skip


def _clean(data: Mapping[str, Any], entity: LegalEntity, current: AccountType | None) -> dict:
    unknown = set(data) - set(FIELDS) - {"legal_entity"}
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
    values: dict[str, Any] = {}
    if current is not None:
        values = {name: getattr(current, name) for name in FIELDS}
    for name in FIELDS:
        if name in data:
            values[name] = data[name]
    required = ("name", "kind", "server", "group", "leverage_choices")
    missing = [name for name in required if values.get(name) in (None, "", [])]
    if missing:
        raise ValidationError({name: [_("This field is required.")] for name in missing})
    name = str(values["name"]).strip()
    if not name or len(name) > 120:
        raise ValidationError({"name": [_("Enter a name of at most 120 characters.")]})
    clash = AccountType.objects.filter(legal_entity=entity, name=name)
    if current is not None:
        clash = clash.exclude(pk=current.pk)
    if clash.exists():
        raise ValidationError({"name": [_("This entity already has a type with that name.")]})
    if values["kind"] not in AccountTypeKind.values:
        raise ValidationError({"kind": [_("Choose one of: %(kinds)s.")
                                        % {"kinds": ", ".join(AccountTypeKind.values)}]})  # fmt: skip
    server = _lookup(TradingServer, values["server"], "server", _("trading server"))
    if (values["kind"] == AccountTypeKind.DEMO) != (server.environment == ServerEnvironment.DEMO):
        raise ValidationError(
            {"server": [_("Demo types live on demo servers, other types on live servers.")]}
        )
    group_name = str(values["group"]).strip()
    if not group_name or len(group_name) > 128:
        raise ValidationError({"group": [_("Enter the group's name on the server.")]})
    choices = _leverages(values["leverage_choices"])
    if choices[-1] > entity.max_leverage:
        raise ValidationError(
            {"leverage_choices": [_("%(entity)s allows leverage up to 1:%(cap)s.")
                                  % {"entity": entity.name, "cap": entity.max_leverage}]}
        )  # fmt: skip
    default = values.get("default_leverage")
    default = choices[0] if default in (None, "") else _int(default, "default_leverage")
    if default not in choices:
        raise ValidationError(
            {"default_leverage": [_("The default leverage must be one of the choices.")]}
        )
    currencies = _currencies(values.get("currencies") or [])
    unchanged = current is not None and (server.pk, group_name) == (current.server_id,
                                                                    current.group)  # fmt: skip
    # Asked last: the cheap checks above fail first without a round trip to the platform;
    # a group checked when it was saved is not asked again for an unrelated change.
    group = (
        base.Group(name=current.group, currency=current.currencies[0], currency_digits=2)
        if unchanged and current.currencies
        else platform_group(server, group_name)
    )
    if not currencies:
        currencies = [group.currency]
    if currencies != [group.currency]:
        raise ValidationError(
            {"currencies": [_("Accounts in %(group)s are in %(currency)s.")
                            % {"group": group.name, "currency": group.currency}]}
        )  # fmt: skip
    return {
        "name": name,
        "kind": values["kind"],
        "server": server,
        "environment": server.environment,
        "group": group.name,
        "currencies": currencies,
        "leverage_choices": choices,
        "default_leverage": default,
        "leverage_needs_approval": _bool(values.get("leverage_needs_approval", False),
                                         "leverage_needs_approval"),
        "active": _bool(values.get("active", True), "active"),
        "position": _position(values.get("position")),
    }  # fmt: skip


def _position(value: Any) -> int:
    number = _int(value or 0, "position")
    if not 0 <= number <= 1000:
        raise ValidationError({"position": [_("Enter a position between 0 and 1000.")]})
    return number


def account_type_create(
    *, legal_entity: LegalEntity | Any, data: Mapping[str, Any], actor: ActorLike
) -> AccountType:
    entity = _lookup(LegalEntity, legal_entity, "legal_entity", _("legal entity"))
    cleaned = _clean(data, entity, None)
    with transaction.atomic():
        account_type = AccountType.objects.create(legal_entity=entity, **cleaned)
        audit_record(
            actor=actor,
            action="trading.account_type_created",
            target=account_type,
            before=None,
            after=snapshot(account_type),
        )
    return account_type


def account_type_update(
    *, account_type: AccountType, changes: Mapping[str, Any], actor: ActorLike
) -> AccountType:
    entity = account_type.legal_entity
    cleaned = _clean(changes, entity, account_type)
    with transaction.atomic():
        locked = AccountType.objects.select_for_update().get(pk=account_type.pk)
        before = snapshot(locked)
        for name, value in cleaned.items():
            setattr(locked, name, value)
        locked.updated_at = timezone.now()
        locked.save()
        after = snapshot(locked)
        if after != before:
            audit_record(
                actor=actor,
                action="trading.account_type_updated",
                target=locked,
                before=before,
                after=after,
            )
    return locked


def account_types_offered(legal_entity: LegalEntity | None) -> list[AccountType]:
    """The active types a client of ``legal_entity`` may open (demo types included)."""
    if legal_entity is None:
        return []
    return list(
        AccountType.objects.filter(legal_entity=legal_entity, active=True).select_related("server")
    )
