"""The read side: a memory's history and the user/agent/run ids that have memories. Nothing here deletes."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass

from memerase.engine.by_id import require_visible, validate_memory_id
from memerase.engine.catalog import StoreCatalog
from memerase.errors import InvalidRequest
from memerase.history import HistoryStore
from memerase.models import ENTITY_KEYS, Scope

ENTITY_PAGE_REQUESTS = 5  # store list requests per call (each at most its adapter's page: 1,000 records)
BAD_CURSOR = "invalid cursor: use the `next` link of a previous answer as it is"


@dataclass(frozen=True)
class EntityPage:
    """The user/agent/run ids found in one bounded slice of the memories collections, with how many distinct memories
    of each that slice holds, and the cursor of the next slice (None after the last)."""

    counts: dict[str, dict[str, int]]
    cursor: str | None


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

    def entities(self, cursor: str | None = None, requests: int | None = None) -> EntityPage:
        """mem0's `GET /v1/entities/`, one bounded slice at a time: at most `requests` store list requests, going
        through every target's memories in order. A memory kept in two targets counts once within a slice; an entity
        whose memories span slices is listed in each, with that slice's count."""
        targets = list(self._catalog.targets())
        position, store_cursor = _decode(cursor, len(targets))
        seen: dict[str, dict[str, set[str]]] = {k: {} for k in ENTITY_KEYS}
        for _ in range(requests or ENTITY_PAGE_REQUESTS):
            if position >= len(targets):
                break
            page = targets[position].memories.scope_page(store_cursor)
            for record in page.records:
                for key, ids in seen.items():
                    value = record.payload.get(key)
                    if isinstance(value, str) and value:
                        ids.setdefault(value, set()).add(record.memory_id)
            position, store_cursor = (position, page.cursor) if page.cursor else (position + 1, None)
        counts = {key: {value: len(memories) for value, memories in ids.items()} for key, ids in seen.items()}
        return EntityPage(counts, _encode(position, store_cursor) if position < len(targets) else None)


def _encode(position: int, store_cursor: str | None) -> str:
    raw = json.dumps([position, store_cursor], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str | None, targets: int) -> tuple[int, str | None]:
    """(target position, the store's own cursor) from an opaque cursor; InvalidRequest (never quoting it) if it is
    not one this API gave."""
    if cursor is None:
        return 0, None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidRequest(BAD_CURSOR) from None
    if not (isinstance(value, list) and len(value) == 2):
        raise InvalidRequest(BAD_CURSOR)
    position, store_cursor = value
    valid_position = isinstance(position, int) and not isinstance(position, bool) and 0 <= position < targets
    if not valid_position or not (store_cursor is None or (isinstance(store_cursor, str) and store_cursor)):
        raise InvalidRequest(BAD_CURSOR)
    return position, store_cursor
