"""What the engine asks of a store, as narrow role protocols, and the value types they trade in.

A store adapter implements the roles its backend plays: every collection can be erased by scope
(`ScopeCollection`); a memories collection also answers by memory id (`MemoryCollection`); an entity collection
also finds and rewrites the records linking a memory (`EntityCollection`). A graph store without memory ids plays
`ScopeCollection` alone. Backend workarounds (a link index, a refresh) stay inside the adapters' own contracts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Filters = Mapping[str, str]


@dataclass(frozen=True)
class Partition:
    """One slice of a parallel scan: a ListVectors segment, an OpenSearch PIT slice."""

    index: int = 0
    count: int = 1


@dataclass(frozen=True)
class Record:
    """A stored record: the store's own id (S3 key, OpenSearch `_id`, graph `~id`), the mem0 memory id (empty where
    the store has none), the payload."""

    native_id: str
    memory_id: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Page:
    """One page of a scan. `cursor` is None when the partition is exhausted."""

    records: list[Record] = field(default_factory=list)
    scanned: int = 0
    cursor: str | None = None


def require_filters(filters: Filters) -> None:
    """Defence in depth: no adapter ever scans for deletion with an empty filter."""
    if not filters or not all(isinstance(v, str) and v for v in filters.values()):
        raise ValueError("refusing an empty or non-string filter")


def links_any(payload: Mapping[str, Any], memory_ids: Collection[str]) -> bool:
    linked = payload.get("linked_memory_ids")
    return isinstance(linked, list) and any(m in memory_ids for m in linked)


class ScopeCollection(Protocol):
    """What a bulk erasure needs: find a scope's records page by page, delete them in batches, count what is left."""

    batch_size: int  # the backend's documented maximum per delete request

    @property
    def label(self) -> str:
        """A human label for reports, e.g. "s3_vectors:bucket/index"."""
        ...

    def partitions(self) -> int:
        """How many parallel partitions a large scan of this store should use."""
        ...

    def not_applicable(self, filters: Filters) -> str | None:
        """Why this store cannot hold records of the scope (then nothing is deleted there), or None."""
        ...

    def list_matching(self, filters: Filters, partition: Partition, cursor: str | None) -> Page:
        """One page of records whose payload matches every filter exactly. A scan started afresh (cursor None) sees
        every deletion made before it."""
        ...

    def delete_batch(self, native_ids: Sequence[str]) -> int:
        """Delete up to `batch_size` records by native id; returns how many were asked to go."""
        ...

    def count_remaining(self, filters: Filters) -> int:
        """A fresh, consistent count of records still matching (the verification), after every earlier deletion."""
        ...

    def reset(self) -> int:
        """Remove everything of mem0's in this collection and recreate it as mem0 does; returns records removed."""
        ...


class MemoryCollection(ScopeCollection, Protocol):
    """A mem0 memories collection: also answers by memory id, and lists every record's scope (read side)."""

    def lookup(self, memory_ids: Sequence[str]) -> list[Record]:
        """The records holding these mem0 memory ids (normally one each; none for an absent id), in batches."""
        ...

    def count_present(self, memory_ids: Sequence[str]) -> int:
        """How many of these memory ids are still stored, seeing every deletion this store made."""
        ...

    def scan_scopes(self) -> Iterator[Record]:
        """Every record with its user/agent/run fields (for listing entities; never used to select deletions)."""
        ...


class EntityCollection(ScopeCollection, Protocol):
    """mem0 2.x's entity collection: also finds and rewrites the records that link erased memories."""

    def exists(self) -> bool: ...

    def list_linking(self, memory_ids: Collection[str]) -> list[Record]:
        """Entity records whose `linked_memory_ids` hold any of `memory_ids`, with their full payloads."""
        ...

    def replace_payload(self, record: Record, payload: Mapping[str, Any]) -> None:
        """Rewrite one record's payload, keeping its vector."""
        ...


def paginate(fetch: Callable[[str | None], Page]) -> Iterator[Page]:
    """Every page `fetch(cursor)` gives, from the first (cursor None) until one comes back without a cursor."""
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield page
        if page.cursor is None:
            return
        cursor = page.cursor


def scan(store: ScopeCollection, filters: Filters, partition: Partition = Partition()) -> Iterator[Page]:
    """Every page of one partition of a scope."""
    return paginate(lambda cursor: store.list_matching(filters, partition, cursor))
