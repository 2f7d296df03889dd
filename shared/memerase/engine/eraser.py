"""The deletion engine: single delete, filtered bulk delete, reset. It knows stores only by their interface."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from memerase.engine.progress import PartitionProgress, ProgressCallback, RunHooks
from memerase.errors import InvalidRequest, MemoryNotFound, OutOfScope, ResetNotAllowed, UnknownTarget
from memerase.history import HistoryStore
from memerase.models import ENTITY_KEYS, MAX_ID_LENGTH, ErasureResult, Scope, StoreOutcome, payload_matches
from memerase.observability import logger
from memerase.stores.base import Filters, MemoryStore, Partition, Record
from memerase.stores.factory import TargetStores

MEMORIES = "memories"
NO_HOOKS = RunHooks()
ENTITIES = "entities"


@dataclass
class StoreRef:
    """One collection of one target, as the job's work items name it."""

    target: str
    role: str  # MEMORIES | ENTITIES


@dataclass
class _Run:
    """One run of the page loop over one partition: what it erases, where it stands, whom it reports to."""

    ref: StoreRef
    store: MemoryStore
    filters: Filters
    state: PartitionProgress
    hooks: RunHooks
    history: int = 0  # history events written by this run


def validate_memory_id(memory_id: object) -> str:
    if not isinstance(memory_id, str) or not memory_id.strip():
        raise InvalidRequest("Invalid memory_id: must be a non-empty string")
    if len(memory_id) > MAX_ID_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in memory_id):
        raise InvalidRequest("Invalid memory_id: too long or contains control characters")
    return memory_id


class Eraser:
    def __init__(self, targets: Sequence[TargetStores], history: HistoryStore | None = None, allow_reset: bool = False):
        self._targets = {t.name: t for t in targets}
        self._history = history
        self._allow_reset = allow_reset

    # ---- single delete -------------------------------------------------------------------------------------------

    def delete_memory(self, memory_id: str, allowed: Sequence[Scope] | None = None) -> ErasureResult:
        """Erase one memory from every target. With `allowed`, refuse (before deleting anything) a memory outside."""
        return self.delete_memories([memory_id], allowed)

    def delete_memories(self, memory_ids: Sequence[str], allowed: Sequence[Scope] | None = None) -> ErasureResult:
        """Erase memories by id from every target: all or nothing. Every id is looked up and checked against the
        caller's scopes first; an unknown id or one outside the scopes refuses the whole request, deleting nothing."""
        started = time.monotonic()
        ids = list(dict.fromkeys(validate_memory_id(m) for m in memory_ids))
        found = {name: t.memories.lookup(ids) for name, t in self._targets.items()}
        present = {r.memory_id for records in found.values() for r in records}
        missing = [m for m in ids if m not in present]
        if missing:
            raise MemoryNotFound(missing[0], among=len(ids), missing=len(missing))
        _require_within([r for records in found.values() for r in records], allowed)
        events = self._record_history(ids)
        outcomes = []
        for name, records in found.items():
            target = self._targets[name]
            deleted = sum(
                target.memories.delete_batch([r.native_id for r in chunk])
                for chunk in _chunks(records, target.memories.batch_size)
            )
            self._unlink_entities(target, [r.memory_id for r in records])
            target.memories.refresh()  # near-real-time stores: make the deletes visible to the verification lookup
            remaining = len(target.memories.lookup([r.memory_id for r in records])) if records else 0
            outcomes.append(
                StoreOutcome(
                    target=name, store=target.memories.label, matched=len(records), deleted=deleted, remaining=remaining
                )
            )
        logger.info("memories erased", extra={"count": len(ids), "stores": len(outcomes)})
        return ErasureResult(operation="delete", stores=outcomes, history_events=events, duration_ms=_ms_since(started))

    def history(self, memory_id: str, allowed: Sequence[Scope] | None = None) -> list[dict[str, object]]:
        """A memory's history rows. With `allowed`, the memory must still exist and lie within those scopes (the
        content-free rows of an erased memory cannot prove whose it was)."""
        memory_id = validate_memory_id(memory_id)
        if allowed is not None:
            records = [r for t in self._targets.values() for r in t.memories.lookup([memory_id])]
            if not records:
                raise MemoryNotFound(memory_id)
            _require_within(records, allowed)
        return self._history.history(memory_id) if self._history else []

    def entities(self) -> dict[str, dict[str, int]]:
        """Distinct user/agent/run ids with how many distinct memories each has across every target (a memory kept
        in two targets counts once): mem0's `GET /v1/entities/`."""
        seen: dict[str, dict[str, set[str]]] = {k: {} for k in ENTITY_KEYS}
        for target in self._targets.values():
            for record in target.memories.scan_scopes():
                for key, ids in seen.items():
                    value = record.payload.get(key)
                    if isinstance(value, str) and value:
                        ids.setdefault(value, set()).add(record.memory_id)
        return {key: {value: len(memories) for value, memories in ids.items()} for key, ids in seen.items()}

    # ---- filtered bulk delete ------------------------------------------------------------------------------------

    def delete_matching(
        self, scope: Scope, dry_run: bool = False, progress: ProgressCallback | None = None
    ) -> ErasureResult:
        """Erase every memory matching the scope (AND of its ids) from every target, then verify."""
        started = time.monotonic()
        filters = scope.filters()
        if not filters:
            raise InvalidRequest("empty scope")
        outcomes: list[StoreOutcome] = []
        events = 0
        for ref, store in self.stores():
            if dry_run:
                outcomes.append(
                    StoreOutcome(target=ref.target, store=store.label, matched=store.count_remaining(filters))
                )
                continue
            # inline: one sequential scan; parallel partitions are the job's business
            run = _Run(ref, store, filters, PartitionProgress(), RunHooks(progress=progress or _no_progress))
            self._run(run, Partition())
            events += run.history
            outcomes.append(
                StoreOutcome(
                    target=ref.target,
                    store=store.label,
                    matched=run.state.matched,
                    deleted=run.state.deleted,
                    remaining=store.count_remaining(filters),
                )
            )
        result = ErasureResult(
            operation="delete_matching",
            scope_hash=scope.fingerprint(),
            dry_run=dry_run,
            stores=outcomes,
            history_events=events,
            duration_ms=_ms_since(started),
        )
        logger.info(
            "scope erased",
            extra={
                "scope": result.scope_hash[:16] if result.scope_hash else None,
                "deleted": result.deleted,
                "verified": result.verified,
            },
        )
        return result

    def stores(self) -> Iterable[tuple[StoreRef, MemoryStore]]:
        """Every collection this engine erases from: each target's memories, then its entities where they exist."""
        for name, target in self._targets.items():
            yield StoreRef(name, MEMORIES), target.memories
            if target.entities is not None:
                yield StoreRef(name, ENTITIES), target.entities

    def store(self, ref: StoreRef) -> MemoryStore:
        target = self._target(ref.target)
        store = target.memories if ref.role == MEMORIES else target.entities
        if store is None:
            raise InvalidRequest(f"target {ref.target!r} has no {ref.role} collection")
        return store

    def erase_partition(
        self,
        ref: StoreRef,
        filters: Filters,
        partition: Partition,
        state: PartitionProgress,
        hooks: RunHooks = NO_HOOKS,
    ) -> PartitionProgress:
        """Process pages of one partition until it is done or `hooks.out_of_time()`; returns where it stands (the
        same `state`, updated). Once `hooks.cancelled()`, it returns before deleting anything more (what was listed
        and not deleted is listed again on a resume).

        Matches are buffered across pages so every delete request is full (the store's maximum batch). The cursor
        only moves once everything listed before it is deleted, so a crash between listing and deleting loses
        nothing: the pages are listed again, and deleting an already deleted id is harmless. Each batch is recorded
        (as `pending`, and counted) through `hooks.checkpoint` before its delete request, and a resumed partition
        finishes that batch first: the counts stay exact even when a worker dies between a delete and the next
        checkpoint.
        """
        return self._run(_Run(ref, self.store(ref), filters, state, hooks), partition)

    def _run(self, run: _Run, partition: Partition) -> PartitionProgress:
        entities = self._target(run.ref.target).entities if run.ref.role == MEMORIES else None
        with entities.batch_links() if entities is not None else contextlib.nullcontext():
            return self._erase_pages(run, partition)

    def _erase_pages(self, run: _Run, partition: Partition) -> PartitionProgress:
        state, store, hooks = run.state, run.store, run.hooks
        if state.pending:  # a batch a dead worker may or may not have deleted: it is counted already
            self._erase_chunk(run, [Record(n, m, {}) for n, m in state.pending])
            state.pending = []
            hooks.checkpoint(state)
        buffered: list[Record] = []
        listing = state.cursor
        while not state.done:
            page = store.list_matching(run.filters, partition, listing)
            listing = page.cursor
            buffered += page.records
            state.scanned += page.scanned
            if hooks.cancelled():
                return state
            stop = listing is None or hooks.out_of_time()
            while len(buffered) >= store.batch_size or (stop and buffered):
                chunk, buffered = buffered[: store.batch_size], buffered[store.batch_size :]
                self._flush(run, chunk)
            if not buffered:
                state.cursor, state.done = listing, listing is None
                hooks.checkpoint(state)
            hooks.progress(store.label, state.scanned, state.deleted)
            if stop:
                break
        return state

    def _flush(self, run: _Run, chunk: list[Record]) -> None:
        """Count a batch and record it as pending, then erase it."""
        run.state.matched += len(chunk)
        run.state.deleted += len(chunk)
        run.state.pending = [(r.native_id, r.memory_id) for r in chunk]
        run.hooks.checkpoint(run.state)
        self._erase_chunk(run, chunk)
        run.state.pending = []

    def _erase_chunk(self, run: _Run, chunk: list[Record]) -> int:
        """History first (content-free, idempotent), then the delete, then entity links of what was deleted."""
        memory_ids = [r.memory_id for r in chunk]
        if run.ref.role == MEMORIES:
            run.history += self._record_history(memory_ids)
        deleted = run.store.delete_batch([r.native_id for r in chunk])
        if run.ref.role == MEMORIES:
            self._unlink_entities(self._target(run.ref.target), memory_ids, leave=run.filters)
        return deleted

    def count_remaining(self, scope: Scope) -> list[StoreOutcome]:
        filters = scope.filters()
        return [
            StoreOutcome(target=ref.target, store=store.label, remaining=store.count_remaining(filters))
            for ref, store in self.stores()
        ]

    # ---- reset ---------------------------------------------------------------------------------------------------

    def reset(self, target_name: str, confirm: str | None) -> ErasureResult:
        """Wipe and recreate one target's collections. Only when enabled and confirmed with the target's name."""
        if not self._allow_reset:
            raise ResetNotAllowed("reset is disabled: set allow_reset to true in the configuration to enable it")
        target = self._target(target_name)
        if confirm != target.name:
            raise ResetNotAllowed(f"reset of {target.name!r} needs the confirmation {target.name!r}")
        started = time.monotonic()
        outcomes = []
        for store in (target.memories, target.entities):
            if store is not None:
                store.reset()
                outcomes.append(StoreOutcome(target=target.name, store=store.label))
        logger.warning("target reset", extra={"target": target.name})
        return ErasureResult(operation="reset", stores=outcomes, duration_ms=_ms_since(started))

    # ---- helpers -------------------------------------------------------------------------------------------------

    def _target(self, name: str) -> TargetStores:
        try:
            return self._targets[name]
        except KeyError:
            raise UnknownTarget(f"unknown target {name!r}; configured: {', '.join(self._targets)}") from None

    def _record_history(self, memory_ids: list[str]) -> int:
        return self._history.record_deletions(memory_ids) if self._history and memory_ids else 0

    def _unlink_entities(self, target: TargetStores, memory_ids: list[str], leave: Filters | None = None) -> None:
        """mem0's `_remove_memory_from_entity_store`: strip erased ids; delete entity records left with none.

        Records of the scope being erased (`leave`) are left alone: the erasure's entity pass deletes them, and
        rewriting one here could put it back after that pass deleted it."""
        entities = target.entities
        if entities is None or not memory_ids:
            return
        erased = set(memory_ids)
        emptied: list[Record] = []
        for record in entities.list_linking(erased):
            if leave and payload_matches(record.payload, leave):
                continue
            remaining = [m for m in record.payload.get("linked_memory_ids", []) if m not in erased]
            if remaining:
                entities.replace_payload(record, {**record.payload, "linked_memory_ids": remaining})
            else:
                emptied.append(record)
        for chunk in _chunks(emptied, entities.batch_size):
            entities.delete_batch([r.native_id for r in chunk])


def _require_within(records: Sequence[Record], allowed: Sequence[Scope] | None) -> None:
    """Refuse (before anything is deleted) when a record lies outside every allowed scope."""
    if allowed is not None and not all(any(s.matches(r.payload) for s in allowed) for r in records):
        raise OutOfScope("A memory is outside the scope of your credentials; nothing was deleted")


def _no_progress(_label: str, _scanned: int, _deleted: int) -> None:
    return None


def _chunks(records: list[Record], size: int) -> Iterable[list[Record]]:
    for i in range(0, len(records), size):
        yield records[i : i + size]


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
