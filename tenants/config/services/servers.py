"""Trading servers: where accounts live and how the gateway logs in (secret encrypted)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from brokerdesk.tenants.config import validators as v
from brokerdesk.tenants.config.crypto import Secret
from brokerdesk.tenants.config.models import PlatformKind, ServerEnvironment, TradingServer
from brokerdesk.tenants.config.services._common import (
    ActorLike,
    Validator,
    change_record,
    changed_fields,
    clean_fields,
    unique_check,
)


def _choice(choices: type[PlatformKind] | type[ServerEnvironment]) -> Validator:
    def check(value: Any) -> str:
        if value not in choices.values:
            raise ValidationError(f"Choose one of: {', '.join(choices.values)}.")
        return str(value)

    return check


def _secret(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 512:
        raise ValidationError("Enter the secret as text of at most 512 characters.")
    return value


RULES: Mapping[str, Validator] = {
    "name": lambda x: v.text_validate(x, label="name", max_length=120),
    "platform": _choice(PlatformKind),
    "address": v.host_validate,
    "manager_login": lambda x: v.text_validate(x, label="manager login", max_length=64),
    "secret": _secret,
    "environment": _choice(ServerEnvironment),
    "currency": v.currency_validate,
    "time_zone": v.time_zone_validate,
    "groups": v.groups_validate,
}
REQUIRED = ("name", "platform", "address", "manager_login", "secret", "currency")


@sensitive_variables()  # outermost: hides the locals of every frame below it
@transaction.atomic
def trading_server_create(*, data: Mapping[str, Any], actor: ActorLike) -> TradingServer:
    """A new trading server; its secret is encrypted before it reaches the row."""
    cleaned = clean_fields(data, RULES, required=REQUIRED)
    if not cleaned["secret"]:
        raise ValidationError({"secret": ["Enter the manager's password."]})
    _login_check(cleaned["manager_login"], platform=cleaned["platform"])
    unique_check(TradingServer, field="name", value=cleaned["name"], exclude=None)
    secret = Secret.of(cleaned.pop("secret"))
    server = TradingServer(**cleaned, secret=secret)
    change_record(server, action="create", fields=[*cleaned, "secret"], actor=actor)
    _save(server)
    return server


@sensitive_variables()  # outermost: hides the locals of every frame below it
@transaction.atomic
def trading_server_update(
    *, trading_server: TradingServer, changes: Mapping[str, Any], actor: ActorLike
) -> TradingServer:
    """Change some fields; an empty or missing ``secret`` keeps the stored one."""
    cleaned = clean_fields(changes, RULES)
    server = TradingServer.objects.select_for_update().get(pk=trading_server.pk)
    new_secret = cleaned.pop("secret", "")
    _login_check(
        cleaned.get("manager_login", server.manager_login),
        platform=cleaned.get("platform", server.platform),
    )
    if "name" in cleaned:
        unique_check(TradingServer, field="name", value=cleaned["name"], exclude=server)
    fields = changed_fields(server, cleaned)
    for name, value in cleaned.items():
        setattr(server, name, value)
    if new_secret:
        server.secret = Secret.of(new_secret)
        fields.append("secret")
    if not fields:
        return server
    change_record(server, action="update", fields=fields, actor=actor)
    _save(server)
    return server


def _login_check(login: str, *, platform: str) -> None:
    try:
        v.manager_login_validate(login, platform=platform)
    except ValidationError as exc:
        raise ValidationError({"manager_login": exc.messages}) from None


def _save(server: TradingServer) -> None:
    try:
        with transaction.atomic():
            server.save()
    except IntegrityError:
        raise ValidationError({"name": [f"{server.name!r} is already used."]}) from None
