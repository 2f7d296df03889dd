"""mem0 2.x's Neptune Analytics vector store (provider `neptune`): one node per record, label
`MEM0_VECTOR_<collection>` (entities: `MEM0_VECTOR_<collection>_entities`), `~id` = the memory id, the payload as
node properties plus mem0's `label` property. The embedding lives in the graph's vector index and goes with its node.

Every value is a query parameter; the label (mem0's identifier rule) and filter keys (user_id/agent_id/run_id only)
are the only words built into the query text. Scans run in `id(n)` order with a resumable cursor, and every hit is
checked again with `payload_matches`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from memerase.models import ENTITY_KEYS
from memerase.stores.base import (
    Filters,
    Page,
    Partition,
    Record,
    Selector,
    decided,
    links_any,
    paginate,
    require_selection,
)
from memerase.stores.neptune_client import NeptuneGraph, quoted_label

LABEL_PREFIX = "MEM0_VECTOR_"  # mem0's NeptuneAnalyticsVector._COLLECTION_PREFIX
LABEL_PROPERTY = "label"  # mem0 writes the label into the properties too, and drops it when reading
PAGE_SIZE = 1000
DELETE_BATCH_SIZE = 500
ID_BATCH_SIZE = 500


def filter_clause(filters: Filters, variable: str = "n") -> tuple[str, dict[str, Any]]:
    """` AND n.user_id = $f_user_id ...` and its parameters. Keys are mem0's scope keys only (never caller text).
    Empty filters (a selection by criteria alone) give no clause."""
    unknown = set(filters) - set(ENTITY_KEYS)
    if unknown:
        raise ValueError("filter keys must be user_id, agent_id or run_id")
    keys = [k for k in ENTITY_KEYS if k in filters]
    clause = "".join(f" AND {variable}.`{k}` = $f_{k}" for k in keys)
    return clause, {f"f_{k}": filters[k] for k in keys}


def node_record(row: Mapping[str, Any], memory_ids: bool = True) -> Record:
    """A `RETURN n` row as a Record: the node's `~id`, its properties without mem0's `label` property."""
    node = row.get("n") or {}
    native_id = str(node.get("~id", ""))
    props = dict(node.get("~properties") or {})
    props.pop(LABEL_PROPERTY, None)
    return Record(native_id, native_id if memory_ids else "", props)


class NeptuneAnalyticsStore:
    """A mem0 2.x collection (memories or entities) on a Neptune Analytics graph: plays MemoryCollection and
    EntityCollection."""

    batch_size = DELETE_BATCH_SIZE

    def __init__(self, graph: NeptuneGraph, collection_name: str, page_size: int = PAGE_SIZE):
        self._graph = graph
        self.collection_name = collection_name
        self.node_label = LABEL_PREFIX + collection_name
        self._match = f"MATCH (n:{quoted_label(self.node_label)})"
        self._page_size = int(page_size)

    @property
    def label(self) -> str:
        return f"neptune_analytics:{self._graph.graph_id}/{self.collection_name}"

    def partitions(self) -> int:
        return 1  # one cursor in id order; a graph has no native scan segments

    def not_applicable(self, selection: Selector) -> str | None:
        return None

    def exists(self) -> bool:
        """Always True: a label is no container on Neptune (mem0 creates none), so there is nothing to ask; a scan
        of a label without nodes costs one query and finds nothing, and nodes written later are still swept."""
        return True

    # ---- scope erasure -------------------------------------------------------------------------------------------

    def list_matching(self, selection: Selector, partition: Partition, cursor: str | None) -> Page:
        """The scope is filtered in the query; criteria are decided here only: mem0's `created_at` is a free-form
        string property (a lexical comparison in openCypher cannot select the same instants, nor find unreadable
        values to count), so every node of the scope is read and decided by `Selection.decide`."""
        chosen = require_selection(selection)
        clause, params = filter_clause(chosen.filters)
        page = self._page(clause, params, cursor)
        return decided(chosen, page.records, page.scanned, page.cursor)

    def delete_batch(self, native_ids: Sequence[str]) -> int:
        if not native_ids:
            return 0
        if len(native_ids) > DELETE_BATCH_SIZE:
            raise ValueError(f"at most {DELETE_BATCH_SIZE} nodes per delete")
        self._graph.query(f"{self._match} WHERE id(n) IN $ids DETACH DELETE n", {"ids": list(native_ids)})
        return len(native_ids)

    def count_remaining(self, selection: Selector) -> int:
        """Counted the way deletions are chosen (the same scan and re-check): each query sees every earlier one."""
        return sum(len(page.records) for page in paginate(lambda c: self.list_matching(selection, Partition(), c)))

    def reset(self) -> int:
        """Delete every node with this collection's label (mem0's `delete_col`), in batches; never the whole graph."""
        removed = 0
        while True:
            rows = self._graph.query(f"{self._match} RETURN id(n) AS id LIMIT {DELETE_BATCH_SIZE}")
            ids = [str(r["id"]) for r in rows if r.get("id") is not None]
            if not ids:
                return removed
            removed += self.delete_batch(ids)

    # ---- by memory id --------------------------------------------------------------------------------------------

    def lookup(self, memory_ids: Sequence[str]) -> list[Record]:
        ids = list(dict.fromkeys(memory_ids))
        found: list[Record] = []
        for i in range(0, len(ids), ID_BATCH_SIZE):
            rows = self._graph.query(f"{self._match} WHERE id(n) IN $ids RETURN n", {"ids": ids[i : i + ID_BATCH_SIZE]})
            found += [node_record(row) for row in rows]
        return found

    def stored(self, memory_ids: Collection[str]) -> list[Record]:
        return self.lookup(list(memory_ids))

    def scope_page(self, cursor: str | None) -> Page:
        return self._page("", {}, cursor)

    def scan_scopes(self) -> Iterator[Record]:
        """Every record of every `scope_page`."""
        for page in paginate(self.scope_page):
            yield from page.records

    # ---- entity links --------------------------------------------------------------------------------------------

    def read(self, records: Sequence[Record]) -> list[Record]:
        return self.lookup([r.native_id for r in records])  # by `~id`

    def list_linking(self, memory_ids: Collection[str]) -> list[Record]:
        """Entity nodes whose `linked_memory_ids` hold any of `memory_ids` (asked of the graph in batches of ids,
        checked again here). Neptune has no `any()`: a list comprehension does its work (AWS's own rewrite)."""
        ids = sorted(set(memory_ids))
        found: dict[str, Record] = {}
        clause = " AND size([m IN n.linked_memory_ids WHERE m IN $linked]) > 0"
        for i in range(0, len(ids), ID_BATCH_SIZE):
            params = {"linked": ids[i : i + ID_BATCH_SIZE]}
            for page in paginate(lambda cursor, p=params: self._page(clause, p, cursor)):  # type: ignore[misc]
                found.update((r.native_id, r) for r in page.records if links_any(r.payload, memory_ids))
        return [found[k] for k in sorted(found)]

    def replace_payload(self, record: Record, payload: Mapping[str, Any]) -> None:
        """`SET n = $properties` as mem0's `update` does: `~id` stays, mem0's `label` property is kept, the vector
        (in the graph's vector index) is untouched."""
        properties = {**payload, LABEL_PROPERTY: self.node_label}
        self._graph.query(
            f"{self._match} WHERE id(n) = $id SET n = $properties", {"id": record.native_id, "properties": properties}
        )

    # ---- the scan ------------------------------------------------------------------------------------------------

    def _page(self, clause: str, params: Mapping[str, Any], cursor: str | None) -> Page:
        """One page in `id(n)` order after `cursor`; the cursor is the last id of a full page (Neptune wants a
        literal LIMIT)."""
        cypher = f"{self._match} WHERE id(n) > $after{clause} RETURN n ORDER BY id(n) LIMIT {self._page_size}"
        rows = self._graph.query(cypher, {**params, "after": cursor or ""})
        records = [node_record(row) for row in rows]
        full = len(rows) >= self._page_size and records
        return Page(records=records, scanned=len(rows), cursor=records[-1].native_id if full else None)
