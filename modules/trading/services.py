"""Opening trading accounts and acting on them (issue 8 items 4 and 6).

Everything that reaches a trading server goes through an ``AccountRequest`` processed by a
task (``request_process``): a platform that is down leaves the request queued and visible,
retried, never lost. An opening's account comment starts with the request's reference, so a
lost answer is resolved by finding the account, never by creating a second one; the CRM row
and its ledger mirror are written only once the platform has the account (nothing
half-created). Passwords are generated here, kept encrypted on the request until the trader
has seen them once, then erased. Every action is audited.
"""

from __future__ import annotations

import json
import logging
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from brokerdesk.modules.audit.services import ActorLike, audit_record
from brokerdesk.modules.kyc.models import ClientAction
from brokerdesk.modules.ledger.accounts import account_ensure
from brokerdesk.modules.ledger.models import AccountKind
from brokerdesk.modules.trading import policy
from brokerdesk.modules.trading.gateways import base
from brokerdesk.modules.trading.gateways.base import operation_reference
from brokerdesk.modules.trading.models import (
    OPEN_REQUEST_STATUSES,
    AccountRequest,
    AccountStatus,
    AccountType,
    RequestKind,
    RequestStatus,
    SyncStatus,
    TradingAccount,
)
from brokerdesk.modules.trading.servers import gateway_for
from brokerdesk.tenants.config.crypto import Secret

logger = logging.getLogger(__name__)

# Retries of a queued request while its platform is down: quick at first, then every 5 min.
RETRY_DELAYS_S = (2, 5, 15, 30, 60, 120, 300)
PASSWORD_LENGTH = 12
SYMBOLS = "#@!$%&*+-=?"


class TradingError(Exception):
    """A refused trading action: ``field`` names the offending input, ``code`` is stable."""

    def __init__(self, message: str, *, field: str = "", code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


def _label(actor: ActorLike) -> str:
    return actor if isinstance(actor, str) else actor.email


def password_generate(length: int = PASSWORD_LENGTH) -> str:
    """A password MT5 accepts: lower and upper case, a digit and a symbol, 8 to 16 long."""
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits, SYMBOLS]
    chars = [secrets.choice(group) for group in classes]
    alphabet = "".join(classes)
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def account_snapshot(account: TradingAccount) -> dict[str, Any]:
    return {
        "login": account.login,
        "server": account.server.name,
        "group": account.group,
        "account_type": account.account_type.name,
        "currency": account.currency,
        "leverage": account.leverage,
        "status": account.status,
        "is_blocked": account.is_blocked,
        "block_reason": account.block_reason,
    }


def _request_dispatch(request: AccountRequest, *, countdown: float = 0) -> None:
    from brokerdesk.modules.trading.tasks import request_process_task

    pk = request.pk
    transaction.on_commit(lambda: request_process_task.apply_async((pk,), countdown=countdown))


# --- opening ------------------------------------------------------------------------------


def account_open_request(
    *,
    client: Any,
    account_type: AccountType,
    currency: str = "",
    leverage: int | None = None,
    actor: ActorLike,
    idempotency_key: str = "",
) -> AccountRequest:
    """Queue the opening of an account of ``account_type`` for ``client``.

    Demo types need nothing else; live ones only what the policy engine allows. The type must
    belong to the client's legal entity (the entity's rules select server and group).
    """
    if idempotency_key:
        existing = AccountRequest.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.client_id != client.pk or existing.kind != RequestKind.OPEN_ACCOUNT:
                raise TradingError(_("This request key was used for something else."),
                                   field="idempotency_key")  # fmt: skip
            return existing
    entity = policy.legal_entity_of(client)
    if not account_type.active or entity is None or account_type.legal_entity_id != entity.pk:
        raise TradingError(_("This account type is not offered to you."), field="account_type")
    action = ClientAction.OPEN_DEMO if account_type.is_demo else ClientAction.OPEN_LIVE
    try:
        policy.require(client, action)
    except policy.Refused as refused:
        raise TradingError(refused.message, field="account_type", code=refused.code) from None
    currency = (currency or account_type.currencies[0]).upper()
    if currency not in account_type.currencies:
        raise TradingError(
            _("%(type)s accounts are in %(currencies)s.")
            % {"type": account_type.name, "currencies": ", ".join(account_type.currencies)},
            field="currency",
        )
    leverage = account_type.default_leverage if leverage in (None, "") else leverage
    _leverage_check(account_type, leverage)
    passwords = {"main": password_generate(), "investor": password_generate()}
    request = AccountRequest(
        kind=RequestKind.OPEN_ACCOUNT,
        status=RequestStatus.QUEUED,
        client=client,
        account_type=account_type,
        server=account_type.server,
        currency=currency,
        leverage=leverage,
        idempotency_key=idempotency_key or f"open:{secrets.token_hex(16)}",
        requested_by=None if isinstance(actor, str) else actor,
        secret=Secret.of(json.dumps(passwords)),
    )
    request.reference = operation_reference(request.public_id)
    try:
        with transaction.atomic():
            request.save(force_insert=True)
            audit_record(
                actor=actor,
                action="trading.account_open_requested",
                target=request,
                before=None,
                after={"client": str(client.public_id), "account_type": account_type.name,
                       "server": account_type.server.name, "group": account_type.group,
                       "currency": currency, "leverage": leverage, "secret": "[set]"},
            )  # fmt: skip
            _request_dispatch(request)
    except IntegrityError:
        # Two submissions with one key at once: the first one's request stands.
        return AccountRequest.objects.get(idempotency_key=request.idempotency_key)
    return request


def _leverage_check(account_type: AccountType, leverage: Any) -> int:
    try:
        value = int(leverage)
    except (TypeError, ValueError):
        raise TradingError(_("Enter the leverage as a whole number."), field="leverage") from None
    cap = account_type.legal_entity.max_leverage
    if value > cap:
        raise TradingError(
            _("Leverage is capped at 1:%(cap)s for your jurisdiction.") % {"cap": cap},
            field="leverage",
            code="leverage_above_cap",
        )
    if value not in account_type.leverage_choices:
        raise TradingError(
            _("Choose one of: %(choices)s.")
            % {"choices": ", ".join(f"1:{c}" for c in account_type.leverage_choices)},
            field="leverage",
        )
    return value


def _open_apply(request: AccountRequest, gateway: base.PlatformGateway) -> None:
    """Create the account on the platform (or find the one a lost answer created), then the
    CRM row and its ledger mirror in one transaction."""
    account_type = request.account_type
    client = request.client
    created = None
    if request.attempts > 1:
        created = gateway.account_find(account_type.group, request.reference)
    if created is None:
        passwords = json.loads(request.secret.reveal())
        created = gateway.account_create(
            base.NewAccount(
                group=account_type.group,
                name=client.full_name or client.email,
                leverage=request.leverage or account_type.default_leverage,
                password_main=passwords["main"],
                password_investor=passwords["investor"],
                email=client.email,
                phone=client.phone,
                country=client.country,
                comment=f"{request.reference} {client.public_id.hex[:8]}",
            )
        )
    with transaction.atomic():
        account = TradingAccount.objects.filter(server=request.server, login=created.login).first()
        if account is None:
            now = timezone.now()
            account = TradingAccount.objects.create(
                client=client,
                server=request.server,
                login=created.login,
                account_type=account_type,
                group=created.group,
                currency=created.currency or request.currency,
                leverage=created.leverage,
                status=AccountStatus.DEMO if account_type.is_demo else AccountStatus.ACTIVE,
                platform_trading_enabled=created.trading_enabled,
                balance_minor=created.balance_minor,
                credit_minor=created.credit_minor,
                equity_minor=created.equity_minor,
                margin_minor=created.margin_minor,
                margin_free_minor=created.margin_free_minor,
                synced_at=now,
                sync_status=SyncStatus.OK,
                created_at=now,
                updated_at=now,
            )
            account.ledger_account = account_ensure(
                kind=AccountKind.TRADING_ACCOUNT,
                currency=account.currency,
                owner=client,
                external_ref=f"{request.server.public_id}:{account.login}",
            )
            account.save(update_fields=["ledger_account"])
            audit_record(
                actor="trading",
                action="trading.account_opened",
                target=account,
                before=None,
                after={**account_snapshot(account), "request": str(request.public_id)},
            )
        request.account = account
        _request_finish(request, RequestStatus.DONE)


# --- credentials --------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    login: int
    server: str
    password_main: str
    password_investor: str = ""


def credentials_reveal(*, request: AccountRequest, client: Any) -> Credentials:
    """The passwords of a finished opening or reset, once: they are erased as they are read."""
    with transaction.atomic():
        locked = (
            AccountRequest.objects.select_for_update(of=("self",))
            .select_related("account__server")
            .filter(pk=request.pk, client=client)
            .first()
        )
        if locked is None or locked.status != RequestStatus.DONE or locked.account is None:
            raise TradingError(_("There is nothing to show yet."), code="not_ready")
        if locked.credentials_shown_at is not None or not locked.secret:
            raise TradingError(
                _("These passwords were already shown once. Reset them to get new ones."),
                code="already_shown",
            )
        passwords = json.loads(locked.secret.reveal())
        locked.secret = Secret()
        locked.credentials_shown_at = timezone.now()
        locked.updated_at = locked.credentials_shown_at
        locked.save(update_fields=["secret", "credentials_shown_at", "updated_at"])
        audit_record(
            actor=client,
            action="trading.credentials_shown",
            target=locked.account,
            before={"secret": "[set]"},
            after={"secret": None},
        )
    return Credentials(
        login=locked.account.login,
        server=locked.account.server.name,
        password_main=passwords.get("main", ""),
        password_investor=passwords.get("investor", ""),
    )


def password_reset(*, account: TradingAccount, actor: ActorLike, password: str = "") -> Credentials:
    """Set a new main password on the platform now and return it (shown once, never kept).

    ``password`` is the trader's own choice, or empty for a generated one. A password the
    platform refuses, or a platform that is down, changes nothing.
    """
    if account.is_archived:
        raise TradingError(_("This account is archived."), code="archived")
    chosen = password or password_generate()
    try:
        gateway_for(account.server).password_change(account.login, base.PasswordKind.MAIN, chosen)
    except base.PlatformPasswordRejected:
        raise TradingError(
            _("The trading server refused this password: use 8 to 16 characters with lower "
              "case, upper case, a digit and a symbol."),
            field="password", code="password_rejected",
        ) from None  # fmt: skip
    except base.PlatformUnavailable:
        raise TradingError(
            _("The trading server cannot be reached now; your password was not changed. "
              "Try again in a moment."), code="platform_unavailable",
        ) from None  # fmt: skip
    except base.PlatformError as exc:
        raise TradingError(
            _("The trading server refused the change: %(error)s") % {"error": exc.message},
            code="platform_refused",
        ) from None
    audit_record(
        actor=actor,
        action="trading.password_reset",
        target=account,
        before=None,
        after={"password_main": "[changed]", "chosen_by_trader": bool(password)},
    )
    return Credentials(login=account.login, server=account.server.name, password_main=chosen)


# --- account actions ----------------------------------------------------------------------


def _trading_sync_request(account: TradingAccount, actor: ActorLike) -> AccountRequest:
    """Queue the push of the account's trading switch to the platform (the latest wins)."""
    AccountRequest.objects.filter(
        account=account, kind=RequestKind.SET_TRADING, status=RequestStatus.QUEUED
    ).update(status=RequestStatus.CANCELLED, updated_at=timezone.now(),
             error=_("Superseded by a later change."))  # fmt: skip
    request = AccountRequest.objects.create(
        kind=RequestKind.SET_TRADING,
        client_id=account.client_id,
        account=account,
        server_id=account.server_id,
        trading_enabled=not (account.is_blocked or account.is_archived),
        idempotency_key=f"trading:{account.public_id}:{secrets.token_hex(8)}",
        requested_by=None if isinstance(actor, str) else actor,
    )
    _request_dispatch(request)
    return request


def _status_after_unblock(account: TradingAccount) -> str:
    return AccountStatus.DEMO if account.account_type.is_demo else AccountStatus.ACTIVE


def account_block(*, account: TradingAccount, reason: str, actor: ActorLike) -> TradingAccount:
    """Block trading on the account (reason shown to the trader); pushed to the platform."""
    reason = (reason or "").strip()
    if not reason:
        raise TradingError(_("Give the reason the trader will see."), field="reason")
    if len(reason) > 500:
        raise TradingError(_("Keep the reason under 500 characters."), field="reason")
    with transaction.atomic():
        locked = _locked(account)
        if locked.is_archived:
            raise TradingError(_("This account is archived."), code="archived")
        before = account_snapshot(locked)
        locked.is_blocked = True
        locked.block_reason = reason
        locked.blocked_at = timezone.now()
        locked.status = AccountStatus.RESTRICTED
        locked.sync_status = SyncStatus.PENDING_SYNC
        locked.updated_at = locked.blocked_at
        locked.save()
        audit_record(actor=actor, action="trading.account_blocked", target=locked,
                     before=before, after=account_snapshot(locked), reason=reason)  # fmt: skip
        _trading_sync_request(locked, actor)
    return locked


def account_unblock(
    *, account: TradingAccount, actor: ActorLike, reason: str = ""
) -> TradingAccount:
    with transaction.atomic():
        locked = _locked(account)
        if locked.is_archived:
            raise TradingError(_("This account is archived."), code="archived")
        if not locked.is_blocked:
            raise TradingError(_("Trading on this account is not blocked."), code="not_blocked")
        before = account_snapshot(locked)
        locked.is_blocked = False
        locked.block_reason = ""
        locked.blocked_at = None
        locked.status = _status_after_unblock(locked)
        locked.sync_status = SyncStatus.PENDING_SYNC
        locked.updated_at = timezone.now()
        locked.save()
        audit_record(actor=actor, action="trading.account_unblocked", target=locked,
                     before=before, after=account_snapshot(locked), reason=reason)  # fmt: skip
        _trading_sync_request(locked, actor)
    return locked


def account_archive(
    *, account: TradingAccount, actor: ActorLike, reason: str = ""
) -> TradingAccount:
    """Archive the account: hidden from new activity, trading disabled on the platform."""
    with transaction.atomic():
        locked = _locked(account)
        if locked.is_archived:
            raise TradingError(_("This account is already archived."), code="archived")
        before = account_snapshot(locked)
        locked.status = AccountStatus.ARCHIVED
        locked.archived_at = timezone.now()
        locked.sync_status = SyncStatus.PENDING_SYNC
        locked.updated_at = locked.archived_at
        locked.save()
        AccountRequest.objects.filter(
            account=locked, kind=RequestKind.CHANGE_LEVERAGE, status__in=OPEN_REQUEST_STATUSES
        ).update(status=RequestStatus.CANCELLED, updated_at=locked.archived_at,
                 error=_("The account was archived."))  # fmt: skip
        audit_record(actor=actor, action="trading.account_archived", target=locked,
                     before=before, after=account_snapshot(locked), reason=reason)  # fmt: skip
        _trading_sync_request(locked, actor)
    return locked


def _locked(account: TradingAccount) -> TradingAccount:
    return (
        TradingAccount.objects.select_for_update(of=("self",))
        .select_related("server", "account_type__legal_entity")
        .get(pk=account.pk)
    )


def leverage_request(
    *, account: TradingAccount, leverage: Any, actor: ActorLike, client: Any
) -> AccountRequest:
    """A change of leverage within the type's choices and the entity's cap; waits for a
    back-office decision when the account type says so."""
    if account.client_id != client.pk:
        raise TradingError(_("No such account."), field="account", code="not_found")
    if account.is_archived:
        raise TradingError(_("This account is archived."), code="archived")
    value = _leverage_check(account.account_type, leverage)
    if value == account.leverage:
        raise TradingError(_("The account already has this leverage."), field="leverage")
    try:
        policy.require(client, ClientAction.CHANGE_LEVERAGE, account=account, leverage=value)
    except policy.Refused as refused:
        raise TradingError(refused.message, field="leverage", code=refused.code) from None
    needs_approval = account.account_type.leverage_needs_approval
    with transaction.atomic():
        if (
            AccountRequest.objects.select_for_update()
            .filter(
                account=account, kind=RequestKind.CHANGE_LEVERAGE, status__in=OPEN_REQUEST_STATUSES
            )
            .exists()
        ):
            raise TradingError(_("A leverage change for this account is already in progress."),
                               code="in_progress")  # fmt: skip
        request = AccountRequest.objects.create(
            kind=RequestKind.CHANGE_LEVERAGE,
            status=RequestStatus.AWAITING_APPROVAL if needs_approval else RequestStatus.QUEUED,
            client=client,
            account=account,
            server_id=account.server_id,
            leverage=value,
            payload={"from": account.leverage},
            idempotency_key=f"leverage:{account.public_id}:{secrets.token_hex(8)}",
            requested_by=None if isinstance(actor, str) else actor,
        )
        audit_record(actor=actor, action="trading.leverage_requested", target=account,
                     before={"leverage": account.leverage},
                     after={"leverage": value, "request": str(request.public_id),
                            "needs_approval": needs_approval})  # fmt: skip
        if not needs_approval:
            _request_dispatch(request)
    return request


def request_decide(
    *, request: AccountRequest, approve: bool, actor: ActorLike, note: str = ""
) -> AccountRequest:
    """Approve (queue) or reject a request awaiting approval."""
    with transaction.atomic():
        locked = AccountRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != RequestStatus.AWAITING_APPROVAL:
            raise TradingError(_("This request is not waiting for a decision."), code="conflict")
        if not approve and not note.strip():
            raise TradingError(_("Give the reason for the refusal."), field="note")
        locked.status = RequestStatus.QUEUED if approve else RequestStatus.REJECTED
        locked.decided_by = None if isinstance(actor, str) else actor
        locked.decision_note = note.strip()[:500]
        locked.updated_at = timezone.now()
        if not approve:
            locked.completed_at = locked.updated_at
        locked.save()
        audit_record(actor=actor, action="trading.request_approved" if approve
                     else "trading.request_rejected", target=locked,
                     before={"status": RequestStatus.AWAITING_APPROVAL},
                     after={"status": locked.status}, reason=note)  # fmt: skip
        if approve:
            _request_dispatch(locked)
    return locked


def request_retry(*, request: AccountRequest, actor: ActorLike) -> AccountRequest:
    """Put a request that needs review (or failed) back in the queue."""
    with transaction.atomic():
        locked = AccountRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status not in (RequestStatus.NEEDS_REVIEW, RequestStatus.FAILED,
                                 RequestStatus.QUEUED):  # fmt: skip
            raise TradingError(_("Only queued or failed requests can be retried."), code="conflict")
        before = {"status": locked.status, "error": locked.error}
        locked.status = RequestStatus.QUEUED
        locked.next_attempt_at = None
        locked.updated_at = timezone.now()
        locked.save()
        audit_record(actor=actor, action="trading.request_retried", target=locked,
                     before=before, after={"status": locked.status})  # fmt: skip
        _request_dispatch(locked)
    return locked


def request_cancel(*, request: AccountRequest, actor: ActorLike, note: str) -> AccountRequest:
    """Give up on a queued or failed request (nothing was created on the platform by it)."""
    if not note.strip():
        raise TradingError(_("Say why the request is cancelled."), field="note")
    with transaction.atomic():
        locked = AccountRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status not in (RequestStatus.NEEDS_REVIEW, RequestStatus.FAILED,
                                 RequestStatus.QUEUED):  # fmt: skip
            raise TradingError(_("Only queued or failed requests can be cancelled."),
                               code="conflict")  # fmt: skip
        if locked.kind == RequestKind.OPEN_ACCOUNT and locked.attempts and locked.reference:
            # An earlier attempt may have reached the platform: cancel only when it says no.
            found = None
            try:
                found = gateway_for(locked.server).account_find(
                    locked.account_type.group, locked.reference
                )
            except base.PlatformError:
                raise TradingError(_("The trading server cannot confirm that no account was "
                                     "created; try again when it answers."),
                                   code="platform_unavailable") from None  # fmt: skip
            if found is not None:
                raise TradingError(_("The platform has this account: retry the request to "
                                     "record it."), code="conflict")  # fmt: skip
        before = {"status": locked.status}
        locked.status = RequestStatus.CANCELLED
        locked.secret = Secret()
        locked.decided_by = None if isinstance(actor, str) else actor
        locked.decision_note = note.strip()[:500]
        locked.completed_at = locked.updated_at = timezone.now()
        locked.save()
        audit_record(actor=actor, action="trading.request_cancelled", target=locked,
                     before=before, after={"status": locked.status}, reason=note)  # fmt: skip
    return locked


# --- processing (the task) ----------------------------------------------------------------


def _request_finish(request: AccountRequest, status: str, *, error: str = "",
                    code: str = "") -> None:  # fmt: skip
    request.status = status
    request.error = error[:500]
    request.error_code = code[:64]
    request.updated_at = timezone.now()
    if status in (RequestStatus.DONE, RequestStatus.FAILED, RequestStatus.CANCELLED):
        request.completed_at = request.updated_at
    request.next_attempt_at = None
    request.save()


def _set_trading_apply(request: AccountRequest, gateway: base.PlatformGateway) -> None:
    account = request.account
    # The account's state now, not the request's: a later block/unblock may have overtaken it.
    enabled = not (account.is_blocked or account.is_archived)
    state = gateway.trading_set(account.login, enabled=enabled)
    with transaction.atomic():
        locked = _locked(account)
        locked.platform_trading_enabled = state.trading_enabled
        locked.sync_status = SyncStatus.OK
        locked.sync_error = ""
        locked.updated_at = timezone.now()
        locked.save(update_fields=["platform_trading_enabled", "sync_status", "sync_error",
                                   "updated_at"])  # fmt: skip
        _request_finish(request, RequestStatus.DONE)


def _leverage_apply(request: AccountRequest, gateway: base.PlatformGateway) -> None:
    account = request.account
    state = gateway.account_update(account.login, base.AccountChanges(leverage=request.leverage))
    with transaction.atomic():
        locked = _locked(account)
        before = {"leverage": locked.leverage}
        locked.leverage = state.leverage
        locked.updated_at = timezone.now()
        locked.save(update_fields=["leverage", "updated_at"])
        audit_record(actor="trading", action="trading.leverage_changed", target=locked,
                     before=before, after={"leverage": locked.leverage,
                                           "request": str(request.public_id)})  # fmt: skip
        _request_finish(request, RequestStatus.DONE)


APPLIERS: dict[str, Callable[[AccountRequest, base.PlatformGateway], None]] = {
    RequestKind.OPEN_ACCOUNT: _open_apply,
    RequestKind.SET_TRADING: _set_trading_apply,
    RequestKind.CHANGE_LEVERAGE: _leverage_apply,
}


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in_s: float | None = None


def _claim(pk: int) -> AccountRequest | None:
    with transaction.atomic():
        request = (
            AccountRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("client", "server", "account__server",
                            "account__account_type__legal_entity",
                            "account_type__legal_entity", "account_type__server")
            .filter(pk=pk, status=RequestStatus.QUEUED)
            .first()
        )  # fmt: skip
        if request is None:
            return None
        request.status = RequestStatus.PROCESSING
        request.attempts += 1
        request.updated_at = timezone.now()
        request.save(update_fields=["status", "attempts", "updated_at"])
    return request


def request_process(pk: int) -> Outcome | None:
    """Do one queued request through its server's gateway; None when it is not queued."""
    request = _claim(pk)
    if request is None:
        return None
    try:
        gateway = gateway_for(request.server)
        APPLIERS[request.kind](request, gateway)
    except (base.PlatformUnavailable, base.PlatformOutcomeUnknown) as exc:
        # Down, busy, or an answer lost: still queued, tried again (an opening looks its
        # account up by reference first, so a lost answer never creates a second one).
        delay = RETRY_DELAYS_S[min(request.attempts - 1, len(RETRY_DELAYS_S) - 1)]
        request.status = RequestStatus.QUEUED
        request.error = _("The trading server did not answer (%(error)s); trying again.") % {
            "error": exc.message}  # fmt: skip
        request.error_code = "platform_unavailable"
        request.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        request.updated_at = timezone.now()
        request.save()
        _mark_pending(request, str(request.error))
        return Outcome(RequestStatus.QUEUED, retry_in_s=delay)
    except base.PlatformError as exc:
        # The platform refused: a person looks at it in the exceptions queue.
        _request_finish(request, RequestStatus.NEEDS_REVIEW, error=_platform_message(exc),
                        code=type(exc).__name__)  # fmt: skip
        _mark_pending(request, request.error, status=SyncStatus.ERROR)
        return Outcome(RequestStatus.NEEDS_REVIEW)
    except Exception as exc:  # noqa: BLE001 - a bug must park the request, not lose it
        logger.exception("trading request %s failed", request.public_id)
        _request_finish(request, RequestStatus.NEEDS_REVIEW, error=f"{type(exc).__name__}: {exc}",
                        code="internal_error")  # fmt: skip
        return Outcome(RequestStatus.NEEDS_REVIEW)
    return Outcome(RequestStatus.DONE)


def _platform_message(exc: base.PlatformError) -> str:
    if isinstance(exc, base.PlatformGroupNotFound):
        return _("The group does not exist on the trading server: %(error)s") % {"error": exc}
    if isinstance(exc, base.PlatformPasswordRejected):
        return _("The trading server rejected the password: %(error)s") % {"error": exc}
    return _("The trading server refused the request: %(error)s") % {"error": exc}


def _mark_pending(
    request: AccountRequest, error: str, *, status: str = SyncStatus.PENDING_SYNC
) -> None:
    if request.account_id is None:
        return
    TradingAccount.objects.filter(pk=request.account_id).update(
        sync_status=status, sync_error=error[:500], updated_at=timezone.now()
    )


def requests_due(now: Any = None) -> list[int]:
    """Queued requests whose retry time has come (or was never set): the sweep's work."""
    now = now or timezone.now()
    return list(
        AccountRequest.objects.filter(status=RequestStatus.QUEUED)
        .exclude(next_attempt_at__gt=now)
        .order_by("created_at")
        .values_list("pk", flat=True)[:200]
    )


def requests_stale_release(older_than_s: int = 300) -> int:
    """Requests left 'processing' by a worker that died: back to the queue."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    return AccountRequest.objects.filter(
        status=RequestStatus.PROCESSING, updated_at__lt=cutoff
    ).update(status=RequestStatus.QUEUED, updated_at=timezone.now())
