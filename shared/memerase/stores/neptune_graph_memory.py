"""mem0 1.x graph memory on Neptune Analytics (`graph_store` provider `neptune`, `neptune-graph://<graph-id>`).

mem0 merges every entity node on exactly `{name, user_id}` (`MERGE (n <label> {name: $name, user_id: $user_id})`
in `mem0/graphs/neptune/neptunegraph.py`), so those two properties are what makes a node mem0's:
- with `base_label`, mem0 labels every entity `__Entity__`: a node is mem0's when it has that label and both
  properties;
- without it, labels are the LLM's entity types (arbitrary): a node is mem0's when it carries everything mem0 sets
  on every entity node it creates (graph_scope.has_mem0_signature: string `name` and `user_id`, numbers `created`
  (epoch milliseconds) and `mentions`, `updated` a number when present) and no label of mem0 2.x's vector store
  (`MEM0_VECTOR_*`, whose nodes are erased by their own collection). The query narrows on the properties being
  there; their types are checked in Python on every node before it is deleted, by scope and by reset alike (another
  application's node with a `name`, a `user_id` and a `mentions` is not enough). `base_label` rules out any doubt.
Relationships carry no user id: they go with their nodes (DETACH DELETE). No agent or run id is kept, so any scope
but exactly `{user_id}` is not applicable here (see graph_scope).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memerase.criteria import CRITERIA_NOT_APPLICABLE
from memerase.stores.base import Filters, Page, Partition, Record, Selector, paginate, require_selection, scope_only
from memerase.stores.graph_scope import USER_ID_ONLY, has_mem0_signature, user_id_only
from memerase.stores.neptune_analytics import node_record
from memerase.stores.neptune_client import NeptuneGraph

BASE_LABEL = "__Entity__"
VECTOR_PREFIX = "MEM0_VECTOR_"
PAGE_SIZE = 1000
DELETE_BATCH_SIZE = 500


class NeptuneGraphMemoryStore:
    """mem0 1.x's entity nodes on one Neptune Analytics graph: plays ScopeCollection (no memory ids)."""

    batch_size = DELETE_BATCH_SIZE

    def __init__(self, graph: NeptuneGraph, base_label: bool, page_size: int = PAGE_SIZE):
        self._graph = graph
        self.base_label = base_label
        self._page_size = int(page_size)
        if base_label:
            self._match = f"MATCH (n:`{BASE_LABEL}`) WHERE n.user_id IS NOT NULL AND n.name IS NOT NULL"
        else:
            self._match = (
                "MATCH (n) WHERE n.user_id IS NOT NULL AND n.name IS NOT NULL AND n.mentions IS NOT NULL"
                " AND n.created IS NOT NULL"
                " AND size([l IN labels(n) WHERE l STARTS WITH $vector_prefix]) = 0"  # Neptune has no none()
            )

    @property
    def label(self) -> str:
        return f"neptune_analytics_graph:{self._graph.graph_id}"

    def partitions(self) -> int:
        return 1

    def not_applicable(self, selection: Selector) -> str | None:
        if require_selection(selection).criteria.present:
            return CRITERIA_NOT_APPLICABLE
        return user_id_only(scope_only(selection))

    def list_matching(self, selection: Selector, partition: Partition, cursor: str | None) -> Page:
        user_id = _user_id(scope_only(selection))
        page = self._page(" AND n.user_id = $user_id", {"user_id": user_id}, cursor)
        return Page([r for r in page.records if _is_users(r, user_id) and self._is_mem0s(r)], page.scanned, page.cursor)

    def delete_batch(self, native_ids: Sequence[str]) -> int:
        """DETACH DELETE by id, still only nodes that are mem0's: their relationships go with them."""
        if not native_ids:
            return 0
        if len(native_ids) > DELETE_BATCH_SIZE:
            raise ValueError(f"at most {DELETE_BATCH_SIZE} nodes per delete")
        self._graph.query(f"{self._match} AND id(n) IN $ids DETACH DELETE n", self._params(ids=list(native_ids)))
        return len(native_ids)

    def count_remaining(self, selection: Selector) -> int:
        return sum(len(p.records) for p in paginate(lambda c: self.list_matching(selection, Partition(), c)))

    def reset(self) -> int:
        """Delete every user's mem0 entity nodes (and their relationships), a page at a time, each node checked as a
        scope erasure checks it; nothing else in the graph."""
        removed = 0
        for page in paginate(lambda cursor: self._page("", {}, cursor)):
            ids = [r.native_id for r in page.records if self._is_mem0s(r)]
            for start in range(0, len(ids), DELETE_BATCH_SIZE):
                removed += self.delete_batch(ids[start : start + DELETE_BATCH_SIZE])
        return removed

    def _is_mem0s(self, record: Record) -> bool:
        return self.base_label or has_mem0_signature(record.payload)

    def _page(self, clause: str, params: dict[str, Any], cursor: str | None) -> Page:
        cypher = f"{self._match}{clause} AND id(n) > $after RETURN n ORDER BY id(n) LIMIT {self._page_size}"
        rows = self._graph.query(cypher, self._params(after=cursor or "", **params))
        records = [node_record(row, memory_ids=False) for row in rows]
        full = len(rows) >= self._page_size and records
        return Page(records=records, scanned=len(rows), cursor=records[-1].native_id if full else None)

    def _params(self, **params: Any) -> dict[str, Any]:
        return params if self.base_label else {**params, "vector_prefix": VECTOR_PREFIX}


def _user_id(filters: Filters) -> str:
    """The scope's user id; any other scope never reaches a scan (callers ask `not_applicable` first)."""
    if user_id_only(filters) or not isinstance(filters.get("user_id"), str) or not filters["user_id"]:
        raise ValueError(USER_ID_ONLY)
    return filters["user_id"]


def _is_users(record: Record, user_id: str) -> bool:
    payload = record.payload
    return payload.get("user_id") == user_id and isinstance(payload.get("user_id"), str) and "name" in payload
