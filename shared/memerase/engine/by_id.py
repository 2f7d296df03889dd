"""Deletion by memory id, as plan then execute: every id is looked up and checked first, and a request with an
unknown id or one outside the caller's scopes is refused before the first delete."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from memerase.engine.catalog import StoreCatalog
from memerase.engine.entity_links import unlink
from memerase.errors import InvalidRequest, MemoryNotFound, OutOfScope
from memerase.history import HistoryStore
from memerase.models import MAX_ID_LENGTH, ErasureResult, Scope, StoreOutcome
from memerase.observability import logger
from memerase.stores.base import Record
from memerase.stores.factory import TargetStores


def validate_memory_id(memory_id: object) -> str:
    if not isinstance(memory_id, str) or not memory_id.strip():
        raise InvalidRequest("Invalid memory_id: must be a non-empty string")
    if len(memory_id) > MAX_ID_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in memory_id):
        raise InvalidRequest("Invalid memory_id: too long or contains control characters")
    return memory_id


def require_within(records: Sequence[Record], allowed: Sequence[Scope] | None) -> None:
    """Refuse (before anything is deleted) when a record lies outside every allowed scope."""
    if allowed is not None and not all(any(s.matches(r.payload) for s in allowed) for r in records):
        raise OutOfScope("A memory is outside the scope of your credentials; nothing was deleted")


def require_visible(ids: Sequence[str], records: Sequence[Record], allowed: Sequence[Scope] | None) -> None:
    """Refuse (before anything is deleted) ids no store holds and, for a scoped caller, ids it may not see: a memory
    with a record outside every allowed scope is answered exactly as an unknown id (same status, same body), so a
    scoped key cannot learn whether another scope's memory id exists."""
    visible = {r.memory_id for r in records}
    if allowed is not None:
        foreign = {r.memory_id for r in records if not any(s.matches(r.payload) for s in allowed)}
        visible -= foreign
    missing = [m for m in ids if m not in visible]
    if missing:
        raise MemoryNotFound(missing[0], among=len(ids), missing=len(missing))


@dataclass(frozen=True)
class IdDeletionPlan:
    """Everything a by-id deletion will touch, checked: the distinct ids, and each target's records of them."""

    memory_ids: list[str]
    found: list[tuple[TargetStores, list[Record]]]
    allowed: Sequence[Scope] | None = None  # the caller's scopes: entity records outside them are left alone
    actor: str | None = None  # who erases: the audit rows' actor_id


class ByIdDeleter:
    def __init__(self, catalog: StoreCatalog, history: HistoryStore | None):
        self._catalog = catalog
        self._history = history

    def plan(
        self, memory_ids: Sequence[str], allowed: Sequence[Scope] | None = None, actor: str | None = None
    ) -> IdDeletionPlan:
        ids = list(dict.fromkeys(validate_memory_id(m) for m in memory_ids))
        found = [(t, t.memories.lookup(ids)) for t in self._catalog.targets()]
        every = [r for _, records in found for r in records]
        require_visible(ids, every, allowed)
        require_within(every, allowed)  # defence in depth: every record is within the caller's scopes by now
        return IdDeletionPlan(ids, found, allowed, actor)

    def execute(self, plan: IdDeletionPlan) -> ErasureResult:
        started = time.monotonic()
        events = self._history.record_deletions(plan.memory_ids, plan.actor) if self._history else 0
        erased = [self._erase_from(target, records, plan.allowed) for target, records in plan.found]
        outcomes = [outcome for outcome, _ in erased]
        logger.info("memories erased", extra={"count": len(plan.memory_ids), "stores": len(outcomes)})
        return ErasureResult(
            operation="delete",
            memories=len(plan.memory_ids),
            stores=outcomes,
            entity_records_left_alone=sum(left for _, left in erased),
            history_events=events,
            duration_ms=int((time.monotonic() - started) * 1000),
        )

    def _erase_from(
        self, target: TargetStores, records: list[Record], allowed: Sequence[Scope] | None
    ) -> tuple[StoreOutcome, int]:
        store = target.memories
        memory_ids = [r.memory_id for r in records]
        if target.mem0_history is not None and records:  # mem0's own history first, like the audit table
            target.mem0_history.erase_memories(memory_ids)
        deleted = sum(
            store.delete_batch([r.native_id for r in records[i : i + store.batch_size]])
            for i in range(0, len(records), store.batch_size)
        )
        left_alone = unlink(target.entities, records, allowed)
        remaining = len(store.stored(memory_ids)) if records else 0
        outcome = StoreOutcome(
            target=target.name, store=store.label, matched=len(records), deleted=deleted, remaining=remaining
        )
        return outcome, left_alone
