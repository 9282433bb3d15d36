"""Reads for pages and the API: each a fixed number of queries whatever the row count."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from brokerdesk.modules.crm.models import ClientRecord
from brokerdesk.modules.identity.rbac.checks import (
    NotInScope,
    grants_for,
    require_permission,
    scope_queryset,
)
from brokerdesk.modules.identity.rbac.models import RoleScope
from brokerdesk.modules.trading.models import (
    OPEN_REQUEST_STATUSES,
    AccountRequest,
    AccountStatus,
    AccountType,
    RequestKind,
    RequestStatus,
    TradingAccount,
)

ACCOUNT_RELATED = ("server", "account_type__legal_entity")


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- the trader's own -----------------------------------------------------------------------


def accounts_of(client: Any, *, include_archived: bool = True) -> list[TradingAccount]:
    """The client's accounts, live first, newest first within each: one query."""
    accounts = TradingAccount.objects.filter(client=client).select_related(*ACCOUNT_RELATED)
    if not include_archived:
        accounts = accounts.exclude(status=AccountStatus.ARCHIVED)
    order = {AccountStatus.ACTIVE: 0, AccountStatus.RESTRICTED: 1, AccountStatus.DEMO: 2,
             AccountStatus.ARCHIVED: 3}  # fmt: skip
    return sorted(accounts.order_by("-created_at", "-id"), key=lambda a: order[a.status])


def open_requests_of(client: Any) -> list[AccountRequest]:
    """The client's requests still in progress (and finished openings not yet shown)."""
    from django.db.models import Q

    return list(
        AccountRequest.objects.filter(client=client)
        .filter(
            Q(status__in=OPEN_REQUEST_STATUSES)
            | Q(
                kind=RequestKind.OPEN_ACCOUNT,
                status=RequestStatus.DONE,
                credentials_shown_at__isnull=True,
            )
        )  # fmt: skip
        .exclude(kind=RequestKind.SET_TRADING)
        .select_related("account_type", "account")
        .order_by("-created_at")[:20]
    )


def account_of_client(client: Any, public_id: Any) -> TradingAccount | None:
    key = _uuid(public_id)
    if key is None:
        return None
    return (
        TradingAccount.objects.select_related(*ACCOUNT_RELATED)
        .filter(client=client, public_id=key)
        .first()
    )


def request_of_client(client: Any, public_id: Any) -> AccountRequest | None:
    key = _uuid(public_id)
    if key is None:
        return None
    return (
        AccountRequest.objects.select_related("account__server", "account_type")
        .filter(client=client, public_id=key)
        .exclude(kind=RequestKind.SET_TRADING)
        .first()
    )


# --- staff ----------------------------------------------------------------------------------


def _scope_of(account_or_request: Any) -> Any:
    """What the permission checks ask about: the client's CRM record (owner, desk)."""
    record = ClientRecord.objects.filter(user_id=account_or_request.client_id).first()
    return record if record is not None else account_or_request


def account_get_for_actor(
    *, public_id: Any, actor: Any, code: str = "trading.view"
) -> TradingAccount:
    """An account staff may see (or act on with ``code``); missing and forbidden look alike."""
    require_permission(actor, code)
    key = _uuid(public_id)
    account = (
        TradingAccount.objects.select_related("client", *ACCOUNT_RELATED)
        .filter(public_id=key)
        .first()
        if key
        else None
    )
    if account is None:
        raise TradingAccount.DoesNotExist()
    try:
        require_permission(actor, code, obj=_scope_of(account))
    except NotInScope:
        raise TradingAccount.DoesNotExist() from None
    return account


def request_get_for_actor(
    *, public_id: Any, actor: Any, code: str = "trading.view"
) -> AccountRequest:
    require_permission(actor, code)
    key = _uuid(public_id)
    request = (
        AccountRequest.objects.select_related("client", "account", "account_type", "server")
        .filter(public_id=key)
        .first()
        if key
        else None
    )
    if request is None:
        raise AccountRequest.DoesNotExist()
    try:
        require_permission(actor, code, obj=_scope_of(request))
    except NotInScope:
        raise AccountRequest.DoesNotExist() from None
    return request


def client_get_for_actor(*, public_id: Any, actor: Any, code: str = "trading.view") -> Any:
    """A client the actor holds ``code`` for (scope by the CRM record); else DoesNotExist."""
    from brokerdesk.modules.identity.models import User, UserKind

    key = _uuid(public_id)
    client = User.objects.filter(public_id=key, kind=UserKind.CLIENT).first() if key else None
    if client is None:
        raise User.DoesNotExist()
    record = ClientRecord.objects.filter(user_id=client.pk).first()
    from brokerdesk.modules.identity.rbac.checks import permission_check

    if not permission_check(actor, code, obj=record if record is not None else client):
        raise User.DoesNotExist()
    return client


def _client_ids_in_scope(actor: Any, code: str) -> QuerySet[Any] | None:
    """None: every client; otherwise the ids of the clients the actor reaches."""
    scope = grants_for(actor).get(code)
    if scope == RoleScope.ALL:
        return None
    records = scope_queryset(actor, code, ClientRecord.objects.all(), team_field="desk")
    return records.values("user_id")


def accounts_for_actor(
    *, actor: Any, client: Any = None, code: str = "trading.view"
) -> QuerySet[TradingAccount]:
    if code not in grants_for(actor):
        return TradingAccount.objects.none()
    accounts = TradingAccount.objects.select_related("client", *ACCOUNT_RELATED).order_by(
        "-created_at", "-id"
    )
    ids = _client_ids_in_scope(actor, code)
    if ids is not None:
        accounts = accounts.filter(client_id__in=ids)
    if client is not None:
        accounts = accounts.filter(client=client)
    return accounts


EXCEPTION_STATUSES = (RequestStatus.NEEDS_REVIEW, RequestStatus.FAILED,
                      RequestStatus.AWAITING_APPROVAL)  # fmt: skip


def exceptions_queue(*, actor: Any, code: str = "trading.view") -> QuerySet[AccountRequest]:
    """Requests a person must look at: refused by the platform, awaiting approval, or queued
    and retried because the platform did not answer. Oldest first."""
    from django.db.models import Q

    if code not in grants_for(actor):
        return AccountRequest.objects.none()
    requests = (
        AccountRequest.objects.filter(
            Q(status__in=EXCEPTION_STATUSES) | Q(status=RequestStatus.QUEUED, attempts__gt=0)
        )
        .select_related("client", "account__server", "account_type", "server")
        .order_by("created_at", "id")
    )
    ids = _client_ids_in_scope(actor, code)
    if ids is not None:
        requests = requests.filter(client_id__in=ids)
    return requests


def account_types_for_entity(entity: Any) -> QuerySet[AccountType]:
    return AccountType.objects.filter(legal_entity=entity).select_related("server", "legal_entity")
