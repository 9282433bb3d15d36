"""Payment methods: which PSP account takes deposits from which entity's clients, in which
countries and currency, with what limits, fee and expected time (``config.manage``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import AuditTarget, audit_record
from brokerdesk.modules.identity.rbac.checks import permission_check
from brokerdesk.modules.ledger.adjustments import amount_parse
from brokerdesk.modules.payments.models import MethodKind, PaymentMethod
from brokerdesk.platform.money import CURRENCY_EXPONENTS, from_minor
from brokerdesk.tenants.config.models import LegalEntity, PspCredential

MANAGE = "config.manage"
FIELDS = ("name", "kind", "credential", "legal_entity", "countries", "currency", "min_amount",
          "max_amount", "fee_fixed", "fee_percent", "expected_minutes", "is_active")  # fmt: skip


def _require(actor: Any) -> None:
    if not permission_check(actor, MANAGE):
        raise PermissionDenied("You need the permission 'config.manage'.")


def method_snapshot(method: PaymentMethod) -> dict[str, Any]:
    return {
        "name": method.name, "kind": method.kind, "credential": str(method.credential.public_id),
        "legal_entity": str(method.legal_entity.public_id) if method.legal_entity else None,
        "countries": list(method.countries), "currency": method.currency,
        "min_amount": str(method.min_amount), "max_amount": str(method.max_amount),
        "fee_fixed": str(method.fee_fixed), "fee_percent": str(method.fee_percent),
        "expected_minutes": method.expected_minutes, "is_active": method.is_active,
        "withdrawals_enabled": method.withdrawals_enabled,
    }  # fmt: skip


def _countries(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]
    if not isinstance(value, list | tuple) or not all(isinstance(c, str) for c in value):
        raise ValidationError(_("Give country codes such as GB, DE (empty: every country)."))
    codes = sorted({c.strip().upper() for c in value if c.strip()})
    if any(len(code) != 2 or not code.isalpha() for code in codes):
        raise ValidationError(_("Country codes have two letters, e.g. GB."))
    return codes


def _clean(data: Mapping[str, Any], current: PaymentMethod | None) -> dict[str, Any]:
    """Check every field; collect every message (a form shows them all at once)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    def given(name: str) -> bool:
        return name in data or current is None

    if given("name"):
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 120:
            errors["name"] = _("A name of 1 to 120 characters is required.")
        out["name"] = name
    if given("kind"):
        if data.get("kind") not in MethodKind.values:
            errors["kind"] = _("Choose card, crypto, e-wallet or bank transfer.")
        out["kind"] = data.get("kind")
    if given("credential"):
        credential = PspCredential.objects.filter(public_id=_uuid(data.get("credential"))).first()
        if credential is None:
            errors["credential"] = _("Choose one of the PSP accounts in the settings.")
        out["credential"] = credential
    if "legal_entity" in data:
        entity_id = data.get("legal_entity")
        entity = (
            LegalEntity.objects.filter(public_id=_uuid(entity_id)).first() if entity_id else None
        )
        if entity_id and entity is None:
            errors["legal_entity"] = _("No such legal entity.")
        out["legal_entity"] = entity
    if "countries" in data:
        try:
            out["countries"] = _countries(data.get("countries") or [])
        except ValidationError as error:
            errors["countries"] = error.messages[0]
    currency = str(data.get("currency") or (current.currency if current else "")).upper()
    if given("currency") and currency not in CURRENCY_EXPONENTS:
        errors["currency"] = _("Unknown currency.")
    out["currency"] = currency
    if currency in CURRENCY_EXPONENTS:
        for field, target in (("min_amount", "min_minor"), ("max_amount", "max_minor")):
            if given(field):
                try:
                    out[target] = amount_parse(data.get(field), currency, field=field)
                except ValidationError as error:
                    errors.update({k: v[0] for k, v in error.message_dict.items()})
        if data.get("fee_fixed") not in (None, "", "0", 0):
            try:
                out["fee_fixed_minor"] = amount_parse(data.get("fee_fixed"), currency,
                                                      field="fee_fixed")  # fmt: skip
            except ValidationError as error:
                errors.update({k: v[0] for k, v in error.message_dict.items()})
        elif "fee_fixed" in data:
            out["fee_fixed_minor"] = 0
    if "fee_percent" in data:
        bps = _bps(data.get("fee_percent"))
        if bps is None:
            errors["fee_percent"] = _("A percentage from 0 to 100 with two decimals at most.")
        out["fee_bps"] = bps
    if "expected_minutes" in data:
        minutes = data.get("expected_minutes")
        if isinstance(minutes, str) and minutes.strip().isdigit():
            minutes = int(minutes)
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 <= minutes <= 43200:
            errors["expected_minutes"] = _("Minutes from 0 (instant) to 43200 (30 days).")
        out["expected_minutes"] = minutes
    for flag in ("is_active", "withdrawals_enabled"):
        if flag in data:
            out[flag] = data.get(flag) in (True, "true", "on", "1")
    low = out.get("min_minor", current.min_minor if current else None)
    high = out.get("max_minor", current.max_minor if current else None)
    if low is not None and high is not None and high < low and "max_amount" not in errors:
        errors["max_amount"] = _("The maximum must not be below the minimum.")
    if errors:
        raise ValidationError(errors)
    return out


def _uuid(value: Any) -> Any:
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _bps(value: Any) -> int | None:
    from decimal import Decimal, InvalidOperation

    if value in (None, ""):
        return 0
    if isinstance(value, float | bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0 or number > 100 or (number * 100) % 1:
        return None
    return int(number * 100)


@transaction.atomic
def method_create(*, actor: Any, data: Mapping[str, Any]) -> PaymentMethod:
    _require(actor)
    fields = _clean(data, None)
    method = PaymentMethod.objects.create(**fields)
    audit_record(actor=actor, action="payments.method.create",
                 target=AuditTarget(type="payment_method", public_id=str(method.public_id)),
                 before=None, after=method_snapshot(method))  # fmt: skip
    return method


@transaction.atomic
def method_update(*, actor: Any, method: PaymentMethod, data: Mapping[str, Any]) -> PaymentMethod:
    _require(actor)
    method = PaymentMethod.objects.select_for_update().get(pk=method.pk)
    before = method_snapshot(method)
    if "currency" in data and str(data["currency"]).upper() != method.currency:
        raise ValidationError({"currency": _("The currency cannot change; add another method.")})
    for name, value in _clean(data, method).items():
        setattr(method, name, value)
    method.updated_at = timezone.now()
    method.save()
    audit_record(actor=actor, action="payments.method.update",
                 target=AuditTarget(type="payment_method", public_id=str(method.public_id)),
                 before=before, after=method_snapshot(method))  # fmt: skip
    return method


def money(amount_minor: int, currency: str) -> str:
    return str(from_minor(amount_minor, currency))
