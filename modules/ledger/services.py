"""The only writer of ledger tables (with ``accounts.py``): transfers — single, pending, post,
void — and reversals (ADR 0023).

Every function runs in one transaction (joining the caller's): it inserts the transfer
(``ON CONFLICT (idempotency_key) DO NOTHING``, so a retry returns the first result), moves
the accounts' cached counters in ascending account id order (no deadlocks between
transfers), writes the entries and the transfer's audit row. The database refuses what must
never happen — an unbalanced transfer, an entry in another currency than its account, a
liability going negative, a second resolution of a hold, any update or delete of history —
and this module turns those refusals into ``LedgerError``s with a clear message.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokerdesk.modules.audit.services import AuditRecord, AuditTarget, audit_record_many
from brokerdesk.modules.ledger.accounts import (  # noqa: F401 - the ledger's service API
    account_code,
    account_ensure,
    currency_check,
    wallet_ensure,
)
from brokerdesk.modules.ledger.errors import (  # noqa: F401 - the ledger's service API
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidTransfer,
    LedgerError,
    TransferAlreadyResolved,
    refusal,
)
from brokerdesk.modules.ledger.models import (
    Account,
    Entry,
    EntrySide,
    Transfer,
    TransferKind,
)


@dataclass(frozen=True)
class Posting:
    """Move ``amount_minor`` from ``debit`` to ``credit`` (same currency, amount > 0)."""

    debit: Account
    credit: Account
    amount_minor: int


@dataclass(frozen=True)
class TransferResult:
    transfer: Transfer
    created: bool  # False: the idempotency key was seen before; nothing was applied again


# --- Transfers --------------------------------------------------------------------------------


def _postings_check(postings: Sequence[Posting]) -> None:
    if not postings:
        raise InvalidTransfer(_("A transfer moves money between at least two accounts."))
    for posting in postings:
        amount = posting.amount_minor
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise InvalidTransfer(_("Amounts must be whole minor units greater than zero."))
        if posting.debit.pk is None or posting.credit.pk is None:
            raise InvalidTransfer("accounts must be saved before money moves through them")
        if posting.debit.pk == posting.credit.pk:
            raise InvalidTransfer(_("A transfer cannot debit and credit the same account."))
        if posting.debit.currency != posting.credit.currency:
            raise InvalidTransfer(_("Both accounts of a posting must hold the same currency."))


def _fingerprint(kind: str, code: str, legs: Iterable[tuple[int, str, int]], **refs: Any) -> str:
    content = {"kind": kind, "code": code, "legs": sorted(legs), **refs}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(slots=True)
class _Leg:
    """An entry about to be written: a plain object, far cheaper than a model instance in
    batches (the entries are inserted with one statement, not through the ORM)."""

    account_id: int
    currency: str
    side: str
    amount_minor: int
    transfer_id: int | None = None


def _entries_of(postings: Sequence[Posting]) -> list[_Leg]:
    legs = []
    for posting in postings:
        currency, amount = posting.debit.currency, posting.amount_minor
        legs.append(_Leg(posting.debit.pk, currency, EntrySide.DEBIT, amount))
        legs.append(_Leg(posting.credit.pk, currency, EntrySide.CREDIT, amount))
    return legs


def _actor_fields(actor: Any) -> dict[str, Any]:
    if isinstance(actor, str):
        return {"created_by_id": None, "created_by_label": actor[:320]}
    return {"created_by_id": actor.pk, "created_by_label": actor.email[:320]}


def _transfer_insert(
    *, idempotency_key: str, fingerprint: str, kind: str, code: str, actor: Any, **extra: Any
) -> tuple[Transfer, bool]:
    """Insert the transfer unless its key exists; a key seen with other content is refused."""
    if not idempotency_key or len(idempotency_key) > 255:
        raise InvalidTransfer(_("An idempotency key of 1 to 255 characters is required."))
    fields = {
        "public_id": uuid.uuid4(),
        "idempotency_key": idempotency_key,
        "fingerprint": fingerprint,
        "kind": kind,
        "code": code[:40],
        "description": extra.get("description", "")[:500],
        "pending_id": extra.get("pending_id"),
        "reverses_id": extra.get("reverses_id"),
        "external_ref": extra.get("external_ref", "")[:100],
        "created_at": timezone.now(),
        **_actor_fields(actor),
    }
    columns = ", ".join(fields)
    placeholders = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        # A concurrent insert of the same key waits here until the first one commits (or
        # rolls back), then sees the conflict: exactly one of them applies the transfer.
        cursor.execute(
            f"INSERT INTO {Transfer._meta.db_table} ({columns}) VALUES ({placeholders}) "
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            list(fields.values()),
        )
        row = cursor.fetchone()
    if row is None:
        existing = Transfer.objects.get(idempotency_key=idempotency_key)
        if existing.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                _("This idempotency key was already used for a different transfer.")
            )
        return existing, False
    transfer = Transfer(id=row[0], **fields)
    transfer._state.adding = False
    return transfer, True


# Which counter an entry moves: (phase, side) -> column.
_COLUMN = {
    ("pending", EntrySide.DEBIT): "debits_pending",
    ("pending", EntrySide.CREDIT): "credits_pending",
    ("posted", EntrySide.DEBIT): "debits_posted",
    ("posted", EntrySide.CREDIT): "credits_posted",
}
_COLUMNS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


def _counters_move(moves: Iterable[tuple[Entry | _Leg, str, int]], cursor: Any = None) -> None:
    """Add ``sign * amount`` to each entry's counter (phase), locking accounts by id order."""
    deltas: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_COLUMNS, 0))
    for entry, phase, sign in moves:
        deltas[entry.account_id][_COLUMN[(phase, entry.side)]] += sign * entry.amount_minor
    ids = sorted(deltas)
    sets = ", ".join(f"{column} = a.{column} + d.{column}" for column in _COLUMNS)
    arrays = [ids, *([deltas[pk][c] for pk in ids] for c in _COLUMNS)]
    table = Account._meta.db_table
    # Lock in ascending id first: two transfers touching the same accounts always lock them
    # in the same order (no deadlock); then one UPDATE for all of them. The CHECK on each
    # account row refuses an overdraft, race-free. Arrays keep the statement text constant.
    lock = f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
    update = (
        f"UPDATE {table} AS a SET {sets} FROM unnest(%s::bigint[], %s::numeric[], "
        f"%s::numeric[], %s::numeric[], %s::numeric[]) AS d (id, {', '.join(_COLUMNS)}) "
        "WHERE a.id = d.id"
    )
    params = arrays
    if cursor is not None:
        cursor.execute(lock, [ids])
        cursor.execute(update, params)
        return
    with connection.cursor() as own:
        own.execute(lock, [ids])
        own.execute(update, params)


def _entries_insert(cursor: Any, entries: Sequence[Entry | _Leg]) -> None:
    """All entries in one multi-row INSERT."""
    if not entries:
        return
    cursor.execute(
        f"INSERT INTO {Entry._meta.db_table} (transfer_id, account_id, currency, side, "
        "amount_minor) SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::text[], "
        "%s::text[], %s::numeric[])",
        [
            [e.transfer_id for e in entries],
            [e.account_id for e in entries],
            [e.currency for e in entries],
            [e.side for e in entries],
            [e.amount_minor for e in entries],
        ],
    )


def _audit_of(transfer: Transfer, entries: Sequence[Entry | _Leg], actor: Any, codes: dict[int, str],
              extra: dict) -> AuditRecord:  # fmt: skip
    after = {
        "kind": transfer.kind,
        "code": transfer.code,
        "idempotency_key": transfer.idempotency_key,
        "entries": [
            {
                "account": codes.get(e.account_id, str(e.account_id)),
                "side": e.side,
                "amount_minor": str(e.amount_minor),
                "currency": e.currency,
            }
            for e in entries
        ],  # fmt: skip
        **extra,
    }
    return AuditRecord(
        actor=actor,
        action=f"ledger.transfer.{transfer.kind}",
        target=AuditTarget(type="ledger_transfer", public_id=str(transfer.public_id)),
        before=None,
        after=after,
        reason=transfer.description,
    )


def _audit(transfer: Transfer, entries: Sequence[Entry | _Leg], actor: Any, extra: dict) -> None:
    codes = dict(Account.objects.filter(pk__in={e.account_id for e in entries}).values_list(
        "pk", "code"))  # fmt: skip
    audit_record_many([_audit_of(transfer, entries, actor, codes, extra)])


@dataclass(frozen=True)
class TransferRequest:
    """One transfer to create (``transfers_create_many``); see ``transfer_create``."""

    idempotency_key: str
    postings: Sequence[Posting]
    code: str
    description: str = ""
    pending: bool = False
    external_ref: str = ""


@dataclass
class _Prepared:
    request: TransferRequest
    kind: str
    entries: list[_Leg]
    fingerprint: str
    transfer: Transfer | None = None
    created: bool = False


def _prepare(request: TransferRequest) -> _Prepared:
    _postings_check(request.postings)
    if not request.idempotency_key or len(request.idempotency_key) > 255:
        raise InvalidTransfer(_("An idempotency key of 1 to 255 characters is required."))
    kind = TransferKind.PENDING if request.pending else TransferKind.SINGLE
    entries = _entries_of(request.postings)
    fingerprint = _fingerprint(
        kind, request.code, [(e.account_id, e.side, e.amount_minor) for e in entries],
        external_ref=request.external_ref,
    )  # fmt: skip
    return _Prepared(request, kind, entries, fingerprint)


_TRANSFER_TYPES = {
    "public_id": "uuid", "idempotency_key": "text", "fingerprint": "text", "kind": "text",
    "code": "text", "description": "text", "pending_id": "bigint", "reverses_id": "bigint",
    "external_ref": "text", "created_by_id": "bigint", "created_by_label": "text",
    "created_at": "timestamptz",
}  # fmt: skip
_TRANSFER_COLUMNS = (
    "public_id", "idempotency_key", "fingerprint", "kind", "code", "description", "pending_id",
    "reverses_id", "external_ref", "created_by_id", "created_by_label", "created_at",
)  # fmt: skip


def _transfers_insert(cursor: Any, batch: list[_Prepared], actor: Any) -> None:
    """Insert every transfer whose key is new in one statement; mark the others as seen."""
    now = timezone.now()
    fields_of = {}
    for item in batch:
        request = item.request
        fields_of[request.idempotency_key] = {
            "public_id": uuid.uuid4(), "idempotency_key": request.idempotency_key,
            "fingerprint": item.fingerprint, "kind": item.kind, "code": request.code[:40],
            "description": request.description[:500], "pending_id": None, "reverses_id": None,
            "external_ref": request.external_ref[:100], "created_at": now, **_actor_fields(actor),
        }  # fmt: skip
    rows = [fields_of[item.request.idempotency_key] for item in batch]
    casts = ", ".join(f"%s::{_TRANSFER_TYPES[column]}[]" for column in _TRANSFER_COLUMNS)
    # A concurrent insert of the same key waits here until the first one commits (or rolls
    # back), then sees the conflict: exactly one of them applies the transfer.
    cursor.execute(
        f"INSERT INTO {Transfer._meta.db_table} ({', '.join(_TRANSFER_COLUMNS)}) "
        f"SELECT * FROM unnest({casts}) "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key",
        [[row[column] for row in rows] for column in _TRANSFER_COLUMNS],
    )
    inserted = dict((key, pk) for pk, key in cursor.fetchall())
    seen: set[str] = set()
    for item in batch:
        key = item.request.idempotency_key
        if key in inserted and key not in seen:
            transfer = Transfer(id=inserted[key], **fields_of[key])
            transfer._state.adding = False
            item.transfer, item.created = transfer, True
        seen.add(key)


def _existing_resolve(batch: list[_Prepared]) -> None:
    """Transfers whose key was used before: the same content is a replay, other content is
    refused."""
    waiting = [item for item in batch if item.transfer is None]
    if not waiting:
        return
    existing = Transfer.objects.in_bulk(
        [item.request.idempotency_key for item in waiting], field_name="idempotency_key"
    )
    for item in waiting:
        transfer = existing[item.request.idempotency_key]
        if transfer.fingerprint != item.fingerprint:
            raise IdempotencyKeyReused(
                _("This idempotency key was already used for a different transfer.")
            )
        item.transfer = transfer


def transfers_create_many(
    *, requests: Sequence[TransferRequest], actor: Any
) -> list[TransferResult]:
    """Create several transfers in one transaction, all or none (a settlement import, a
    commission payout run): one INSERT of transfers, one UPDATE per account touched, one
    INSERT of entries, one audit row per new transfer. Keys seen before are replays and
    apply nothing; a refusal (insufficient funds, a key reused with other content) refuses
    the whole batch. Results come in the order of ``requests``."""
    batch = [_prepare(request) for request in requests]
    if not batch:
        return []
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                _transfers_insert(cursor, batch, actor)
                new = [item for item in batch if item.created]
                if new:
                    _counters_move(
                        ((entry, "pending" if item.kind == TransferKind.PENDING else "posted", 1)
                         for item in new for entry in item.entries),
                        cursor,
                    )  # fmt: skip
                    for item in new:
                        for entry in item.entries:
                            entry.transfer_id = item.transfer.pk
                    _entries_insert(cursor, [e for item in new for e in item.entries])
            _existing_resolve(batch)
            codes = {
                posting_account.pk: posting_account.code
                for item in new for posting in item.request.postings
                for posting_account in (posting.debit, posting.credit)
            }  # fmt: skip
            audit_record_many([_audit_of(item.transfer, item.entries, actor, codes, {})
                               for item in new])  # fmt: skip
    except IntegrityError as error:
        raise refusal(error) from None
    return [TransferResult(item.transfer, item.created) for item in batch]


def transfer_create(
    *,
    idempotency_key: str,
    postings: Sequence[Posting],
    code: str,
    actor: Any,
    description: str = "",
    pending: bool = False,
    external_ref: str = "",
) -> TransferResult:
    """Post (or, with ``pending``, hold) one balanced transfer, exactly once per key.

    A hold reserves the amounts: the debited accounts' available balances drop now, the
    credited accounts gain nothing until the hold is posted."""
    request = TransferRequest(
        idempotency_key=idempotency_key, postings=postings, code=code, description=description,
        pending=pending, external_ref=external_ref,
    )  # fmt: skip
    return transfers_create_many(requests=[request], actor=actor)[0]


def _resolve(*, pending: Transfer, kind: str, idempotency_key: str, actor: Any,
             description: str) -> TransferResult:  # fmt: skip
    if pending.kind != TransferKind.PENDING:
        raise InvalidTransfer(_("Only a hold can be posted or released."))
    fingerprint = _fingerprint(kind, pending.code, [], pending=pending.pk)
    try:
        with transaction.atomic():
            transfer, created = _transfer_insert(
                idempotency_key=idempotency_key, fingerprint=fingerprint, kind=kind,
                code=pending.code, actor=actor, description=description or pending.description,
                pending_id=pending.pk, external_ref=pending.external_ref,
            )  # fmt: skip
            if not created:
                return TransferResult(transfer, False)
            held = list(Entry.objects.filter(transfer_id=pending.pk))
            moves: list[tuple[Entry, str, int]] = [(e, "pending", -1) for e in held]
            copies: list[Entry] = []
            if kind == TransferKind.POST:
                copies = [
                    Entry(transfer_id=transfer.pk, account_id=e.account_id, currency=e.currency,
                          side=e.side, amount_minor=e.amount_minor)
                    for e in held
                ]  # fmt: skip
                moves += [(e, "posted", 1) for e in copies]
            _counters_move(moves)
            Entry.objects.bulk_create(copies)
            _audit(transfer, held, actor, {"pending": str(pending.public_id)})
    except IntegrityError as error:
        raise refusal(error) from None
    return TransferResult(transfer, True)


def transfer_post(
    *, pending: Transfer, idempotency_key: str, actor: Any, description: str = ""
) -> TransferResult:
    """Complete a hold: the reserved amounts move for good (at most once per hold)."""
    return _resolve(pending=pending, kind=TransferKind.POST, idempotency_key=idempotency_key,
                    actor=actor, description=description)  # fmt: skip


def transfer_void(
    *, pending: Transfer, idempotency_key: str, actor: Any, description: str = ""
) -> TransferResult:
    """Release a hold: the reserved amounts become available again (at most once per hold)."""
    return _resolve(pending=pending, kind=TransferKind.VOID, idempotency_key=idempotency_key,
                    actor=actor, description=description)  # fmt: skip


def transfer_reverse(
    *, transfer: Transfer, idempotency_key: str, actor: Any, description: str,
    code: str = "reversal",
) -> TransferResult:  # fmt: skip
    """Correct a posted transfer by a new one with every entry's side swapped (at most once).

    The original stays as it was; the reversal may be refused for insufficient funds when
    the money has moved on since."""
    if transfer.kind not in (TransferKind.SINGLE, TransferKind.POST):
        raise InvalidTransfer(_("Only posted money can be reversed; release a hold instead."))
    originals = list(Entry.objects.filter(transfer_id=transfer.pk))
    swapped = [
        Entry(account_id=e.account_id, currency=e.currency, amount_minor=e.amount_minor,
              side=EntrySide.CREDIT if e.side == EntrySide.DEBIT else EntrySide.DEBIT)
        for e in originals
    ]  # fmt: skip
    fingerprint = _fingerprint(
        TransferKind.SINGLE, code, [(e.account_id, e.side, e.amount_minor) for e in swapped],
        reverses=transfer.pk,
    )  # fmt: skip
    try:
        with transaction.atomic():
            reversal, created = _transfer_insert(
                idempotency_key=idempotency_key, fingerprint=fingerprint,
                kind=TransferKind.SINGLE, code=code, actor=actor, description=description,
                reverses_id=transfer.pk, external_ref=transfer.external_ref,
            )  # fmt: skip
            if not created:
                return TransferResult(reversal, False)
            _counters_move((entry, "posted", 1) for entry in swapped)
            for entry in swapped:
                entry.transfer_id = reversal.pk
            Entry.objects.bulk_create(swapped)
            _audit(reversal, swapped, actor, {"reverses": str(transfer.public_id)})
    except IntegrityError as error:
        raise refusal(error) from None
    return TransferResult(reversal, True)
