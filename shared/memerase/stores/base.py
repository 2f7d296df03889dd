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

from memerase.criteria import Decision, Selection, selection_of

Filters = Mapping[str, str]
Selector = Selection | Filters  # bare filters are a selection without criteria


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
    unreadable: int = 0  # records in scope a criterion could not decide (unreadable created_at): kept


def require_selection(selector: Selector) -> Selection:
    """Defence in depth: no adapter ever scans for deletion with neither a filter nor a criterion."""
    return selection_of(selector)


def scope_only(selector: Selector) -> Filters:
    """The filters of a selection without criteria, for stores holding no memory `created_at`/`expiration_date`
    (graph data): callers ask `not_applicable` first, so a selection with criteria never reaches their scans."""
    selection = require_selection(selector)
    if selection.criteria.present:
        raise ValueError("age/expiry criteria apply to memories only")
    return selection.filters


def decided(selection: Selection, records: Sequence[Record], scanned: int, cursor: str | None) -> Page:
    """A page of the records `selection` selects, counting those a criterion could not decide."""
    verdicts = [(r, selection.decide(r.payload)) for r in records]
    return Page(
        records=[r for r, v in verdicts if v == Decision.IN],
        scanned=scanned,
        cursor=cursor,
        unreadable=sum(1 for _, v in verdicts if v == Decision.UNREADABLE),
    )


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

    def not_applicable(self, selection: Selector) -> str | None:
        """Why this store cannot hold records of the selection (then nothing is deleted there), or None."""
        ...

    def list_matching(self, selection: Selector, partition: Partition, cursor: str | None) -> Page:
        """One page of the records the selection selects (`Selection.decide`: every filter matches exactly and every
        criterion holds), with the count of those in scope a criterion could not decide. A scan started afresh
        (cursor None) sees every deletion made before it."""
        ...

    def delete_batch(self, native_ids: Sequence[str]) -> int:
        """Delete up to `batch_size` records by native id; returns how many were asked to go."""
        ...

    def count_remaining(self, selection: Selector) -> int:
        """A fresh, consistent count of records still selected (the verification), after every earlier deletion."""
        ...

    def reset(self) -> int:
        """Remove everything of mem0's in this collection and recreate it as mem0 does; returns records removed."""
        ...


class MemoryCollection(ScopeCollection, Protocol):
    """A mem0 memories collection: also answers by memory id, and lists every record's scope (read side)."""

    def lookup(self, memory_ids: Sequence[str]) -> list[Record]:
        """The records holding these mem0 memory ids (normally one each; none for an absent id), in batches."""
        ...

    def stored(self, memory_ids: Collection[str]) -> list[Record]:
        """`lookup`, seeing every write and deletion made before the call (what is stored now)."""
        ...

    def scope_page(self, cursor: str | None) -> Page:
        """One page of records with their user/agent/run fields, after `cursor` (None: the first page), in a stable
        order, with the cursor of the next page; a cursor stays valid across requests (for listing entities, a page
        per request; never used to select deletions)."""
        ...


class EntityCollection(ScopeCollection, Protocol):
    """mem0 2.x's entity collection: also finds and rewrites the records that link erased memories."""

    def exists(self) -> bool: ...

    def read(self, records: Sequence[Record]) -> list[Record]:
        """These records as stored now, seeing every write made before the call, with their user/agent/run fields and
        `linked_memory_ids` at least (a record no longer stored is absent)."""
        ...

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


def scan(store: ScopeCollection, selection: Selector, partition: Partition = Partition()) -> Iterator[Page]:
    """Every page of one partition of a selection."""
    return paginate(lambda cursor: store.list_matching(selection, partition, cursor))
