"""Property: for any multi-tenant mem0 graph, erasing one user through the engine's page loop removes exactly that
user's entity vertices and the edges touching them; every other vertex, edge and property stays.

Each example gets a fresh gremlite graph (function-scoped fixtures are shared by all the examples of one test).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from memerase.engine.catalog import MEMORIES, StoreCatalog, StoreRef
from memerase.engine.partition_run import PartitionRunner
from memerase.engine.progress import PartitionProgress
from memerase.stores.base import Partition
from memerase.stores.factory import TargetStores
from memerase.stores.gremlin_connection import GremlinSession
from memerase.stores.neptune_db import NeptuneDbGraph
from tests.support.gremlin_standin import open_gremlin_graph
from tests.support.neptune_db_scenarios import snapshot

USERS = ["alice", "bob", "user", "Alice", "alice ", "').drop();g.V('", "7", "ålice"]
LABELS = ["__Entity__", "person", "__User__", "account"]
_graph_numbers = itertools.count()

# A vertex: (label, user id or None, has a name); an edge: (out index, in index)
vertex = st.tuples(st.sampled_from(LABELS), st.one_of(st.none(), st.sampled_from(USERS)), st.booleans())
graphs = st.lists(vertex, max_size=30).flatmap(
    lambda vs: st.tuples(
        st.just(vs),
        st.lists(st.tuples(st.integers(0, len(vs) - 1), st.integers(0, len(vs) - 1)), max_size=40)
        if vs
        else st.just([]),
    )
)


@st.composite
def erased_users(draw: st.DrawFn, vertices: list[tuple[str, str | None, bool]]) -> str:
    """Mostly a user the graph holds (so that something is erased), sometimes any user."""
    held = sorted({user for _, user, _ in vertices if user is not None})
    return draw(st.sampled_from(held)) if held and draw(st.integers(0, 3)) else draw(st.sampled_from(USERS))


scenarios = graphs.flatmap(lambda ge: st.tuples(st.just(ge), erased_users(ge[0])))


class _NoEntities:
    """A target without mem0 2.x's entity collection."""

    def exists(self) -> bool:
        return False


def is_mem0_entity(label: str, user: str | None, named: bool, base_label: bool) -> bool:
    return label == "__Entity__" if base_label else (user is not None and named)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    scenario=scenarios,
    batch_size=st.integers(1, 6),
    base_label=st.booleans(),
)
@example(scenario=(([("person", "alice", True)] * 7, []), "alice"), batch_size=3, base_label=False)
def test_erasing_a_user_removes_exactly_its_entity_vertices_and_their_edges(
    tmp_path: Path,
    scenario: tuple[tuple[list[tuple[str, str | None, bool]], list[tuple[int, int]]], str],
    batch_size: int,
    base_label: bool,
) -> None:
    # Given a random multi-tenant graph of entity and foreign vertices, with edges within and across users
    (vertices, edges), erased = scenario
    with open_gremlin_graph(tmp_path / f"graph-{next(_graph_numbers)}.sqlite") as gremlin:
        gremlin.connection.con.execute("PRAGMA synchronous=OFF")
        g = gremlin.g
        ids: list[Any] = []
        for i, (label, user, named) in enumerate(vertices):
            added = g.add_v(label).property("mentions", i).property("created", 1_700_000_000_000 + i)
            added = added.property("user_id", user) if user is not None else added
            ids.append((added.property("name", f"n{i}") if named else added).id_().next())
        for n, (out_i, in_i) in enumerate(edges):
            g.V(ids[out_i]).as_("s").V(ids[in_i]).add_e("rel").from_("s").property("n", n).iterate()
        before = snapshot(g)
        expected_gone = [
            vid
            for vid, (label, user, named) in zip(ids, vertices, strict=True)
            if user == erased and is_mem0_entity(label, user, named, base_label)
        ]
        store = NeptuneDbGraph(
            GremlinSession(lambda: gremlin.connection), base_label, numeric_ids=True, batch_size=batch_size
        )
        catalog = StoreCatalog([TargetStores("neptune", store, _NoEntities())])  # type: ignore[arg-type]
        event("something to erase" if expected_gone else "nothing to erase")

        # When that user is erased by the engine's page loop
        state = PartitionRunner(catalog, None).erase(
            StoreRef("neptune", MEMORIES), {"user_id": erased}, Partition(), PartitionProgress()
        )

        # Then exactly its entity vertices and their edges are gone, everything else intact, and the counts agree
        assert snapshot(g) == before.without(expected_gone)
        assert (state.done, state.matched, state.deleted) == (True, len(expected_gone), len(expected_gone))
        assert store.count_remaining({"user_id": erased}) == 0
