"""The read side: a memory's history and the user/agent/run ids that have memories. Nothing here deletes."""

from __future__ import annotations

from collections.abc import Sequence

from memerase.engine.by_id import require_visible, validate_memory_id
from memerase.engine.catalog import StoreCatalog
from memerase.history import HistoryStore
from memerase.models import ENTITY_KEYS, Scope


class Reader:
    def __init__(self, catalog: StoreCatalog, history: HistoryStore | None):
        self._catalog = catalog
        self._history = history

    def history(self, memory_id: str, allowed: Sequence[Scope] | None = None) -> list[dict[str, object]]:
        """A memory's history rows. With `allowed`, the memory must still exist and lie within those scopes (the
        content-free rows of an erased memory cannot prove whose it was)."""
        memory_id = validate_memory_id(memory_id)
        if allowed is not None:  # a memory of another scope is answered as an unknown one
            records = [r for t in self._catalog.targets() for r in t.memories.lookup([memory_id])]
            require_visible([memory_id], records, allowed)
        return self._history.history(memory_id) if self._history else []

    def entities(self) -> dict[str, dict[str, int]]:
        """Distinct user/agent/run ids with how many distinct memories each has across every target (a memory kept
        in two targets counts once): mem0's `GET /v1/entities/`."""
        seen: dict[str, dict[str, set[str]]] = {k: {} for k in ENTITY_KEYS}
        for target in self._catalog.targets():
            for record in target.memories.scan_scopes():
                for key, ids in seen.items():
                    value = record.payload.get(key)
                    if isinstance(value, str) and value:
                        ids.setdefault(value, set()).add(record.memory_id)
        return {key: {value: len(memories) for value, memories in ids.items()} for key, ids in seen.items()}
