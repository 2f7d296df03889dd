"""A dry run without criteria counts with each store's own count, never by listing without deleting: Neptune
Database's listing only moves past what was deleted (found by review of the criteria change)."""

from __future__ import annotations

from typing import Any

from memerase.criteria import Selection
from memerase.engine.bulk import survey
from memerase.stores.base import Page, Partition, Selector
from memerase.stores.neptune_db import NeptuneDbGraph
from tests.support.gremlin_standin import GremlinGraph, write_mem0_graph


class Bounded:
    """The store, with a bound on how many pages may be listed (a listing that never advances would not return)."""

    def __init__(self, store: NeptuneDbGraph, pages: int) -> None:
        self._store = store
        self._left = pages

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def list_matching(self, selection: Selector, partition: Partition, cursor: str | None) -> Page:
        self._left -= 1
        assert self._left >= 0, "the listing does not advance"
        return self._store.list_matching(selection, partition, cursor)

    def count_remaining(self, selection: Selector) -> int:
        return self._store.count_remaining(selection)


def test_a_dry_run_over_neptune_database_counts_a_scope_larger_than_a_batch(gremlin_graph: GremlinGraph) -> None:
    # Given five mem0 entity vertices of alice and a store deleting two per batch
    gremlin_graph.connection.con.execute("PRAGMA synchronous=OFF")
    write_mem0_graph(gremlin_graph.g, ["alice", "bob"], per_user=5)
    store = NeptuneDbGraph.connected(lambda: gremlin_graph.connection, False, numeric_ids=True)
    store.batch_size = 2
    # When the dry run's count of alice's scope is taken
    counted = survey(Bounded(store, pages=20), Selection(filters={"user_id": "alice"}))  # type: ignore[arg-type]
    # Then it is alice's five vertices, nothing unreadable, and nothing was deleted
    assert counted == (5, 0)
    assert store.count_remaining({"user_id": "alice"}) == 5
