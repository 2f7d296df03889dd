"""A resumed partition's pending batch, read again before anything of it is deleted.

A batch is recorded as pending (and counted) before its delete request; a worker that died in between leaves it
pending, and the resumed run finishes it. The batch is not trusted as it was listed: its records are read again by
memory id, and only those still stored and still selected (the scope exactly, and the criteria) are deleted. Those
gone already were deleted by the dead worker (they stay counted); those that no longer match, or cannot be read
again (no memory id), are left alone and taken off the counts (`skipped`): the run's listing finds them again if
they do match.

A collection that cannot be read by id (mem0 1.x graph data) keeps its own safeguard: its drop by ids applies its
selection of mem0's entities again (Neptune Database, Neptune Analytics graph memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from memerase.criteria import Decision, Selection
from memerase.stores.base import Record, ScopeCollection


@runtime_checkable
class ReadableById(Protocol):
    def lookup(self, memory_ids: Sequence[str]) -> list[Record]: ...


def still_in_scope(
    store: ScopeCollection, pending: Sequence[tuple[str, str]], selection: Selection
) -> tuple[list[Record], int]:
    """(the pending records to delete, how many pending records are left alone)."""
    if not isinstance(store, ReadableById):
        return [Record(native, memory, {}) for native, memory in pending], 0
    wanted = {native for native, _ in pending}
    memory_ids = list(dict.fromkeys(memory for _, memory in pending if memory))
    current = {r.native_id: r for r in (store.lookup(memory_ids) if memory_ids else []) if r.native_id in wanted}
    keep = [r for r in current.values() if selection.decide(r.payload) == Decision.IN]
    unreadable = sum(1 for _, memory in pending if not memory)
    return keep, unreadable + len(current) - len(keep)
