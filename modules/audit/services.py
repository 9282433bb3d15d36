"""Writing and verifying the audit chain (ADR 0015).

``audit_record`` is the only writer. It runs inside the caller's transaction, so an audit row
exists exactly when the change it describes was committed. Writers are serialised per schema
by a transaction-scoped advisory lock, so two concurrent changes never fork the chain: the
second waits until the first commits, then links to its row.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from brokerdesk.modules.audit.models import AuditEntry

GENESIS_HASH = "0" * 64
# Two-key advisory lock: (class, schema). The class keeps audit locks apart from every other
# advisory lock in the database; the schema part lets tenants write their chains in parallel.
LOCK_CLASS = 0x61756474  # "audt"
SECRET_SET = "[set]"
SECRET_CHANGED = "[changed]"


class UserActor(Protocol):
    """A user acting (identity.User); typed loosely so audit imports no other app."""

    email: str
    public_id: Any


ActorLike = UserActor | str  # a system actor is a name such as "cli" or "provisioning"


@dataclass(frozen=True)
class AuditTarget:
    """What a change was made to: a type code and the object's public id."""

    type: str
    public_id: str


@dataclass(frozen=True)
class AuditContext:
    """Where a change came from: the request's address, user agent and id, when known."""

    ip_address: str = ""
    user_agent: str = ""
    request_id: str = ""


# Set per request by AuditContextMiddleware, so services deep below a view need not pass it.
_current_context: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


def context_from_request(request: HttpRequest) -> AuditContext:
    """The audit context of ``request`` (REMOTE_ADDR: the proxy sets it; no header is trusted)."""
    return AuditContext(
        ip_address=_ip_clean(request.META.get("REMOTE_ADDR", "")),
        user_agent=str(request.META.get("HTTP_USER_AGENT", ""))[:500],
        request_id=str(request.META.get("HTTP_X_REQUEST_ID", ""))[:100],
    )


@contextmanager
def audit_context(context: AuditContext) -> Iterator[None]:
    """Make ``context`` the default for every ``audit_record`` call inside the block."""
    token = _current_context.set(context)
    try:
        yield
    finally:
        _current_context.reset(token)


class AuditContextMiddleware:
    """Binds each request's audit context for the services the view calls."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        with audit_context(context_from_request(request)):
            return self.get_response(request)


def _ip_clean(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return ""


def json_normalise(value: Any) -> Any:
    """``value`` as plain JSON types (dates, UUIDs, Decimals as text), as it will be stored."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def entry_content(entry: AuditEntry) -> dict[str, Any]:
    """Everything a row's hash covers (all columns but the id and the hash itself)."""
    return {
        "sequence": entry.sequence,
        "occurred_at": _iso(entry.occurred_at),
        "actor_public_id": str(entry.actor_public_id) if entry.actor_public_id else None,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_public_id": entry.target_public_id,
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
        "ip_address": entry.ip_address,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
        "prev_hash": entry.prev_hash,
    }


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 of the row's canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(
        entry_content(entry), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def target_of(obj: Any) -> AuditTarget:
    """The audit target of a model instance with a ``public_id`` (type: snake-case name)."""
    name = type(obj).__name__
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return AuditTarget(type=snake, public_id=str(obj.public_id))


def _chain_lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))", [LOCK_CLASS])


def audit_record(
    *,
    actor: ActorLike,
    action: str,
    target: AuditTarget | Any,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    reason: str = "",
    context: AuditContext | None = None,
) -> AuditEntry:
    """Append one row to the current schema's chain, in the caller's transaction.

    ``before``/``after`` must already have secrets masked (``SECRET_SET``/``SECRET_CHANGED``):
    this function stores what it is given. ``context`` defaults to the current request's.
    """
    if not isinstance(target, AuditTarget):
        target = target_of(target)
    context = context or _current_context.get() or AuditContext()
    # atomic(): outside a transaction the advisory lock would end with its own statement.
    with transaction.atomic():
        _chain_lock()
        # Read after taking the lock: READ COMMITTED gives this statement a fresh snapshot,
        # so it sees the row the previous lock holder committed.
        last = AuditEntry.objects.order_by("-sequence").values("sequence", "hash").first()
        entry = _entry_chained(
            AuditRecord(actor=actor, action=action, target=target, before=before, after=after,
                        reason=reason),
            context, last["sequence"] if last else 0, last["hash"] if last else GENESIS_HASH,
        )  # fmt: skip
        entry.save(force_insert=True)
    return entry


@dataclass(frozen=True)
class AuditRecord:
    """One change to record (``audit_record_many``); the fields of ``audit_record``."""

    actor: ActorLike
    action: str
    target: AuditTarget
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    reason: str = ""


def _entry_chained(
    record: AuditRecord, context: AuditContext, prev_sequence: int, prev_hash: str
) -> AuditEntry:
    actor = record.actor
    entry = AuditEntry(
        sequence=prev_sequence + 1,
        occurred_at=timezone.now(),
        actor_public_id=None if isinstance(actor, str) else actor.public_id,
        actor_label=(actor if isinstance(actor, str) else actor.email)[:320],
        action=record.action,
        target_type=record.target.type,
        target_public_id=record.target.public_id,
        before=json_normalise(record.before) if record.before is not None else None,
        after=json_normalise(record.after) if record.after is not None else None,
        reason=record.reason,
        ip_address=_ip_clean(context.ip_address) if context.ip_address else "",
        user_agent=context.user_agent[:500],
        request_id=context.request_id[:100],
        prev_hash=prev_hash,
    )
    entry.hash = entry_hash(entry)
    return entry


def audit_record_many(
    records: list[AuditRecord], *, context: AuditContext | None = None
) -> list[AuditEntry]:
    """Append several rows under one lock and one insert (high-volume writers such as ledger
    batches): the same chain, rows and guarantees as calling ``audit_record`` per change."""
    if not records:
        return []
    context = context or _current_context.get() or AuditContext()
    with transaction.atomic():
        _chain_lock()
        last = AuditEntry.objects.order_by("-sequence").values("sequence", "hash").first()
        sequence, prev_hash = (last["sequence"], last["hash"]) if last else (0, GENESIS_HASH)
        entries = []
        for record in records:
            entry = _entry_chained(record, context, sequence, prev_hash)
            entries.append(entry)
            sequence, prev_hash = entry.sequence, entry.hash
        AuditEntry.objects.bulk_create(entries)
    return entries


@dataclass(frozen=True)
class ChainProblem:
    """The first row where the chain does not hold, and how."""

    sequence: int
    kind: str  # "hash mismatch" | "broken link" | "gap"
    detail: str

    def describe(self) -> str:
        return f"row #{self.sequence}: {self.kind} ({self.detail})"


@dataclass(frozen=True)
class ChainReport:
    rows: int
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def audit_chain_verify() -> ChainReport:
    """Recompute the current schema's chain; report the first row that does not hold."""
    expected_sequence = 1
    prev_hash = GENESIS_HASH
    rows = 0
    for entry in AuditEntry.objects.order_by("sequence").iterator(chunk_size=2000):
        rows += 1
        if entry.sequence != expected_sequence:
            return ChainReport(
                rows,
                ChainProblem(
                    entry.sequence,
                    "gap",
                    f"expected #{expected_sequence} before it; rows are missing",
                ),
            )
        if entry.prev_hash != prev_hash:
            return ChainReport(
                rows,
                ChainProblem(
                    entry.sequence,
                    "broken link",
                    f"prev_hash {entry.prev_hash[:12]}… is not the hash of the row before "
                    f"({prev_hash[:12]}…)",
                ),
            )
        recomputed = entry_hash(entry)
        if recomputed != entry.hash:
            return ChainReport(
                rows,
                ChainProblem(
                    entry.sequence,
                    "hash mismatch",
                    f"stored {entry.hash[:12]}…, content hashes to {recomputed[:12]}…; "
                    "the row was edited",
                ),
            )
        prev_hash = entry.hash
        expected_sequence += 1
    return ChainReport(rows, None)
