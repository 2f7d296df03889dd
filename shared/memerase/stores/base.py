"""The one interface every store adapter implements. The engine never knows which store it talks to."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

Filters = Mapping[str, str]


@dataclass(frozen=True)
class Partition:
    """One slice of a parallel scan: a ListVectors segment, an OpenSearch PIT slice."""

    index: int = 0
    count: int = 1


@dataclass(frozen=True)
class Record:
    """A stored memory: the store's own id (S3 key, OpenSearch `_id`), the mem0 memory id, the payload."""

    native_id: str
    memory_id: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Page:
    """One page of a scan. `cursor` is None when the partition is exhausted."""

    records: list[Record] = field(default_factory=list)
    scanned: int = 0
    cursor: str | None = None

    @property
    def native_ids(self) -> list[str]:
        return [r.native_id for r in self.records]


def require_filters(filters: Filters) -> None:
    """Defence in depth: no adapter ever scans for deletion with an empty filter."""
    if not filters or not all(isinstance(v, str) and v for v in filters.values()):
        raise ValueError("refusing an empty or non-string filter")


def links_any(payload: Mapping[str, Any], memory_ids: Collection[str]) -> bool:
    linked = payload.get("linked_memory_ids")
    return isinstance(linked, list) and any(m in memory_ids for m in linked)


class MemoryStore(ABC):
    """A mem0 collection (memories or entities) in one backend."""

    kind: str  # "s3_vectors" | "opensearch"
    batch_size: int  # the backend's documented maximum per delete request

    @property
    @abstractmethod
    def label(self) -> str:
        """A human label for reports, e.g. "s3_vectors:bucket/index"."""

    @abstractmethod
    def exists(self) -> bool: ...

    @abstractmethod
    def partitions(self) -> int:
        """How many parallel partitions a large scan of this store should use."""

    @abstractmethod
    def list_matching(self, filters: Filters, partition: Partition, cursor: str | None) -> Page:
        """One page of records whose payload matches every filter exactly."""

    @abstractmethod
    def delete_batch(self, native_ids: Sequence[str]) -> int:
        """Delete up to `batch_size` records by native id; returns how many were asked to go."""

    @abstractmethod
    def count_remaining(self, filters: Filters) -> int:
        """A fresh, consistent count of records still matching (the verification pass)."""

    @abstractmethod
    def lookup(self, memory_ids: Sequence[str]) -> list[Record]:
        """The records holding these mem0 memory ids (normally one each; none for an absent id), in batches."""

    @abstractmethod
    def list_linking(self, memory_ids: Collection[str]) -> list[Record]:
        """Entity records whose `linked_memory_ids` hold any of `memory_ids`, with their full payloads."""

    @abstractmethod
    def scan_scopes(self) -> Iterator[Record]:
        """Every record with its user/agent/run fields (for listing entities; never used to select deletions)."""

    @abstractmethod
    def replace_payload(self, record: Record, payload: Mapping[str, Any]) -> None:
        """Rewrite one record's payload, keeping its vector (used to unlink entity records)."""

    @abstractmethod
    def reset(self) -> None:
        """Delete and recreate the collection exactly as mem0 creates it."""

    @contextmanager
    def batch_links(self) -> Iterator[None]:
        """A block of many `list_linking` calls; stores whose lookups are costly may index the links once inside."""
        yield

    def refresh(self) -> None:  # noqa: B027 - a deliberate no-op default: only near-real-time stores need it
        """Make earlier deletions visible to the next scan (near-real-time stores override this)."""

    def scan(self, filters: Filters, partition: Partition = Partition()) -> Iterator[Page]:
        """Every page of one partition."""
        cursor: str | None = None
        while True:
            page = self.list_matching(filters, partition, cursor)
            yield page
            if page.cursor is None:
                return
            cursor = page.cursor
