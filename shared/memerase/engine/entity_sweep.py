"""mem0 2.x's entity collection as a scope erasure sees it: a record of the scope is selected only when no stored memory
outside the erased scope links it.

A record inside the erased scope can be linked by memories outside it: mem0 2.2.1's `_upsert_entity` looks for a
record with the add's own filters only, so `add(user_id="alice")` links its memory to a record tagged
{alice, agent "bot"}. Deleting every record of {alice, "bot"} would take that record from alice's other memories;
mem0's own `delete_all` only strips the erased ids. So a scope erasure strips the ids it erases from the entity
records as it deletes the memories (`entity_links.unlink`, in the memories pass), and its entity pass deletes only
the scope's records that link no stored memory outside the scope: those whose links are all erased, or inside the
scope (erased by the same erasure), or that link nothing. So the rule does not depend on which pass runs first (a
job runs them in parallel): a memory of the scope is as good as erased, a memory outside it keeps its record. A
record still linked from outside is left alone, and counted (`entity_records_left_alone`). Each record's links are
read again, and the memories they name looked up, right before the record is selected; the verification counts the
same way, so a kept record never counts as left behind.
"""

from __future__ import annotations

from collections.abc import Sequence

from memerase.criteria import Decision, Selection
from memerase.observability import logger
from memerase.stores.base import (
    EntityCollection,
    MemoryCollection,
    Page,
    Partition,
    Record,
    Selector,
    require_selection,
    scan,
)


def links(record: Record) -> list[str] | None:
    """The memory ids a record links ([] when it links none); None when its `linked_memory_ids` cannot be read (then
    it is never deleted: without its links, no one can tell that no memory needs it)."""
    linked = record.payload.get("linked_memory_ids")
    if linked is None:
        return []
    if not isinstance(linked, list) or not all(isinstance(m, str) for m in linked):
        return None
    return linked


class EntitySweep:
    """Plays `ScopeCollection` over one target's entity collection, checking links against the target's memories."""

    def __init__(self, entities: EntityCollection, memories: MemoryCollection):
        self._entities = entities
        self._memories = memories
        self.batch_size = entities.batch_size

    @property
    def label(self) -> str:
        return self._entities.label

    def partitions(self) -> int:
        return self._entities.partitions()

    def not_applicable(self, selection: Selector) -> str | None:
        return self._entities.not_applicable(selection)

    def list_matching(self, selection: Selector, partition: Partition, cursor: str | None) -> Page:
        """One page of the scope's records no stored memory outside the scope links (the scan's counts and cursor)."""
        chosen = require_selection(selection)
        page = self._entities.list_matching(chosen, partition, cursor)
        unlinked, _ = self.split(chosen, page.records)
        return Page(records=unlinked, scanned=page.scanned, cursor=page.cursor, unreadable=page.unreadable)

    def split(self, selection: Selection, listed: Sequence[Record]) -> tuple[list[Record], list[Record]]:
        """(the listed records still in scope that no stored memory outside the scope links, those it still links)."""
        if not listed:
            return [], []
        current = [(r, links(r)) for r in self._entities.read(listed) if selection.decide(r.payload) == Decision.IN]
        wanted = {m for _, ids in current for m in ids or ()}
        stored = self._memories.stored(wanted) if wanted else []
        live = {m.memory_id for m in stored if selection.decide(m.payload) != Decision.IN}  # not erased by this one
        unlinked: list[Record] = []
        kept: list[Record] = []
        for record, ids in current:
            (kept if ids is None or live.intersection(ids) else unlinked).append(record)
        if unreadable := sum(1 for _, ids in current if ids is None):
            logger.warning("entity records with unreadable links kept", extra={"count": unreadable})
        return unlinked, kept

    def survey(self, selection: Selector) -> tuple[int, int]:
        """(the scope's records no stored memory outside the scope links, those it still links), by one scan."""
        chosen = require_selection(selection)
        unlinked = kept = 0
        for page in scan(self._entities, chosen):
            gone, stay = self.split(chosen, page.records)
            unlinked, kept = unlinked + len(gone), kept + len(stay)
        return unlinked, kept

    def count_remaining(self, selection: Selector) -> int:
        """What the scope's entity pass still selects: its records no stored memory outside the scope links."""
        return self.survey(selection)[0]

    def delete_batch(self, native_ids: Sequence[str]) -> int:
        return self._entities.delete_batch(native_ids)

    def reset(self) -> int:
        return self._entities.reset()
