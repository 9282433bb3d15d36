"""Audit anchors: each tenant's chain head, kept outside its schema (ADR 0018).

The hash chain (ADR 0015) proves that no row was edited or removed *before* the newest one;
removing the newest rows, or rewriting the tail, leaves a valid shorter chain. An anchor is
the head (sequence, hash) copied to two places the tenant's schema owner cannot reach by
the same means: a write-once object in the platform storage (``storages["platform"]``,
``audit-anchors/<schema>/<genesis>/<sequence>-<hash>.json``) and a row in the public schema.
``audit_anchors_check`` then names every anchor the chain no longer contains.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone

from brokerdesk.modules.audit.models import AuditEntry
from brokerdesk.tenants.models import AuditAnchor
from brokerdesk.tenants.schemas import schema_context

logger = logging.getLogger(__name__)

ANCHOR_ROOT = "audit-anchors"
_OBJECT_NAME = re.compile(r"(\d{12})-([0-9a-f]{64})\.json")


class AnchorConflict(RuntimeError):
    """The chain no longer matches what was anchored: it was cut short or rewritten."""


@dataclass(frozen=True)
class ChainHead:
    sequence: int
    hash: str
    genesis_hash: str


@dataclass(frozen=True)
class AnchorProblem:
    """One anchor the chain (or the anchor store) does not hold any more, and why."""

    sequence: int
    hash: str
    detail: str

    def describe(self) -> str:
        return f"anchor #{self.sequence} ({self.hash[:12]}…): {self.detail}"


def _storage() -> Any:
    return storages["platform"]


def _public() -> Any:
    return schema_context(settings.PUBLIC_SCHEMA_NAME)


def anchor_key(schema: str, head: ChainHead) -> str:
    return f"{ANCHOR_ROOT}/{schema}/{head.genesis_hash[:16]}/{head.sequence:012d}-{head.hash}.json"


def chain_head(schema: str) -> ChainHead | None:
    """The newest row's (sequence, hash) and the first row's hash; None for an empty chain."""
    with schema_context(schema):
        last = AuditEntry.objects.order_by("-sequence").values("sequence", "hash").first()
        first = AuditEntry.objects.order_by("sequence").values_list("hash", flat=True).first()
    if last is None:
        return None
    return ChainHead(sequence=last["sequence"], hash=last["hash"], genesis_hash=first or "")


def _body(schema: str, head: ChainHead) -> dict[str, Any]:
    return {"schema": schema, "sequence": head.sequence, "hash": head.hash}


def _write_once(key: str, body: dict[str, Any]) -> None:
    """Store ``body`` under ``key`` unless an object is there already; an existing object must
    say the same (a second run is harmless, a different head under one key is a conflict)."""
    storage = _storage()
    if storage.exists(key):
        with storage.open(key, "rb") as existing:
            stored = json.loads(existing.read())
        if {k: stored.get(k) for k in body} != body:
            raise AnchorConflict(f"{key} already holds another anchor")
        return
    saved = storage.save(key, ContentFile(json.dumps(body, sort_keys=True).encode()))
    if saved != key:  # a concurrent writer got there first; the storage renamed ours
        storage.delete(saved)
        raise AnchorConflict(f"{key} was written concurrently")


def audit_anchor_write(*, schema: str) -> AuditAnchor | None:
    """Anchor ``schema``'s chain head now; None when the chain is empty.

    Idempotent: an unchanged head returns its existing anchor. Refuses (``AnchorConflict``)
    when the chain is shorter than its last anchor or disagrees with an anchor at the same
    sequence — the evidence is kept, never overwritten.
    """
    head = chain_head(schema)
    if head is None:
        return None
    with _public():
        anchors = AuditAnchor.objects.filter(schema_name=schema)
        same = anchors.filter(sequence=head.sequence).first()
        if same is not None:
            if same.hash != head.hash:
                raise AnchorConflict(f"{schema}: row #{head.sequence} differs from its anchor")
            return same
        latest = anchors.order_by("-sequence").first()
        if latest is not None and latest.sequence > head.sequence:
            raise AnchorConflict(
                f"{schema}: the chain ends at #{head.sequence}, before its anchor #{latest.sequence}"
            )
        key = anchor_key(schema, head)
        _write_once(key, _body(schema, head))
        return AuditAnchor.objects.create(
            schema_name=schema,
            sequence=head.sequence,
            hash=head.hash,
            genesis_hash=head.genesis_hash,
            storage_key=key,
            anchored_at=timezone.now(),
        )


def _stored_anchors(schema: str, genesis_hash: str | None) -> dict[tuple[int, str], str]:
    """Anchor objects of ``schema`` in the platform storage: {(sequence, hash): key}.

    Only the current chain's folder counts (an earlier chain under the same schema name, such
    as a rebuilt test database's, is not this one's evidence); with no chain left, all do.
    """
    storage = _storage()
    root = f"{ANCHOR_ROOT}/{schema}"
    try:
        folders, _ = storage.listdir(root)
    except FileNotFoundError:
        return {}
    if genesis_hash:
        folders = [f for f in folders if f == genesis_hash[:16]]
    found: dict[tuple[int, str], str] = {}
    for folder in folders:
        for name in storage.listdir(f"{root}/{folder}")[1]:
            match = _OBJECT_NAME.fullmatch(name)
            if match:
                found[(int(match[1]), match[2])] = f"{root}/{folder}/{name}"
    return found


def audit_anchors_check(*, schema: str) -> tuple[int, list[AnchorProblem]]:
    """Every anchor of ``schema`` (public records and stored objects) checked against its
    chain; returns how many anchors there are and the problems found, oldest first."""
    head = chain_head(schema)
    with _public():
        records = {
            (a.sequence, a.hash)
            for a in AuditAnchor.objects.filter(schema_name=schema)
            if head is None or a.genesis_hash == head.genesis_hash
        }
        stored = _stored_anchors(schema, head.genesis_hash if head else None)
    anchors = sorted(records | set(stored))
    with schema_context(schema):
        rows = dict(
            AuditEntry.objects.filter(sequence__in=[s for s, _ in anchors]).values_list(
                "sequence", "hash"
            )
        )
    end = f"#{head.sequence}" if head else "nothing (the chain is empty)"
    problems = []
    for sequence, anchored in anchors:
        if sequence not in rows:
            problems.append(
                AnchorProblem(
                    sequence, anchored, f"row #{sequence} is missing: the chain ends at {end}"
                )
            )
        elif rows[sequence] != anchored:
            problems.append(
                AnchorProblem(
                    sequence,
                    anchored,
                    f"row #{sequence} now hashes to {rows[sequence][:12]}…: the chain was rewritten",
                )
            )
        if (sequence, anchored) not in stored:
            problems.append(
                AnchorProblem(sequence, anchored, "its object is missing from the anchor storage")
            )
        if (sequence, anchored) not in records:
            problems.append(
                AnchorProblem(sequence, anchored, "its record is missing from the public schema")
            )
    return len(anchors), problems
