"""Property: on a Neptune Analytics graph holding several tenants' mem0 2.x memories and entity records, mem0 1.x graph
data and foreign data, erasing any scope removes exactly its nodes (and their relationships); every other node,
property and relationship stays as it was. Written with mem0ai 2.2.1's NeptuneAnalyticsVector and mem0 1.0.11's
statements; the graph is emptied for each example."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memerase.engine import Eraser
from memerase.models import Scope
from memerase.stores.base import Record
from memerase.stores.graph_scope import GRAPH
from memerase.stores.neptune_analytics import NeptuneAnalyticsStore
from memerase.stores.neptune_client import NeptuneGraph, make_client
from memerase.stores.neptune_graph_memory import NeptuneGraphMemoryStore
from memerase_local.neptune_standin.mem0_graph_v1 import write_graph
from memerase_local.neptune_standin.server import NeptuneGraphStandIn
from tests.support import mem0_neptune
from tests.support.mem0_data import entity, memory
from tests.support.neptune_targets import add_foreign_nodes, snapshot, target_stores

USERS = ["u1", "u2", "U1", "user", "o'neil"]
AGENTS: list[str | None] = [None, "a1", "a2"]
RUNS: list[str | None] = [None, "r1", "1"]
KEYS = ("user_id", "agent_id", "run_id")

Row = tuple[str, str | None, str | None]
rows = st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from(AGENTS), st.sampled_from(RUNS)), max_size=30)
graph_users = st.sets(st.sampled_from(USERS), max_size=3)
scopes = st.sets(st.sampled_from(KEYS), min_size=1).flatmap(
    lambda keys: st.fixed_dictionaries(
        {k: st.sampled_from([v for v in {"user_id": USERS, "agent_id": AGENTS, "run_id": RUNS}[k] if v]) for k in keys}
    )
)


def matches(payload: dict[str, Any], wanted: dict[str, str]) -> bool:
    return all(payload.get(k) == v for k, v in wanted.items())


def scope_of(row: Row) -> dict[str, str]:
    return {k: v for k, v in zip(KEYS, row, strict=True) if v}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows, users=graph_users, wanted=scopes, page_size=st.integers(2, 9), base_label=st.booleans())
def test_erasing_any_scope_removes_exactly_its_nodes(
    neptune_graph: NeptuneGraphStandIn,
    rows: list[Row],
    users: set[str],
    wanted: dict[str, str],
    page_size: int,
    base_label: bool,
) -> None:
    # Given random tenants' memories, one entity record per distinct scope linking that scope's memories, mem0 1.x
    # graph data of some users, and foreign data, all in one graph
    neptune_graph.reset()
    rng = random.Random(len(rows))
    data = [memory(f"m{i}", rng, **scope_of(row)) for i, row in enumerate(rows)]
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), data)
    ents = [
        entity(f"e{j}", [m.id for m, r in zip(data, rows, strict=True) if r == row], rng, **scope_of(row))
        for j, row in enumerate(sorted(set(rows), key=str))
    ]
    mem0_neptune.write(mem0_neptune.entity_store(neptune_graph.graph_id), ents)
    if users:
        write_graph(neptune_graph.graph_id, sorted(users), per_user=2, base_label=base_label)
    add_foreign_nodes(neptune_graph, wanted.get("user_id", "u1"))
    before_nodes, before_edges = snapshot(neptune_graph)
    graph = NeptuneGraph(make_client("us-east-1"), neptune_graph.graph_id)
    stores = target_stores(neptune_graph.graph_id)
    stores.memories = NeptuneAnalyticsStore(graph, "mem0", page_size)
    stores.entity_collection = NeptuneAnalyticsStore(graph, "mem0_entities", page_size)
    stores.graph = [(GRAPH, NeptuneGraphMemoryStore(graph, base_label, page_size))]

    # When the scope is erased
    result = Eraser([stores]).delete_matching(Scope.of(**wanted))

    # Then exactly the scope's memory and entity nodes, and (for a user-only scope) that user's graph nodes, are gone
    graph_scope = set(wanted) == {"user_id"}
    gone = {m.id for m in data + ents if matches(m.payload, wanted)}
    gone |= {
        k
        for k, (_, props) in before_nodes.items()
        if graph_scope and "mentions" in props and props.get("user_id") == wanted["user_id"]
    }
    after_nodes, after_edges = snapshot(neptune_graph)
    assert after_nodes == {k: v for k, v in before_nodes.items() if k not in gone}
    assert after_edges == {e for e in before_edges if e[0] not in gone and e[2] not in gone}
    assert result.verified and result.memories == sum(matches(m.payload, wanted) for m in data)
    assert [s.note is None for s in result.stores if s.role == GRAPH] == [graph_scope]


def test_a_record_is_matched_only_by_string_equality(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given memories whose user ids are a number and a string that look alike
    data = [memory("n", user_id="1"), memory("s", user_id="01")]
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), data)
    neptune_graph.cypher("CREATE (:MEM0_VECTOR_mem0 {`~id`: 'int-1', user_id: 1, data: 'x'})")
    neptune = NeptuneAnalyticsStore(NeptuneGraph(make_client("us-east-1"), neptune_graph.graph_id), "mem0")

    # When user "1" is counted and listed
    count = neptune.count_remaining({"user_id": "1"})
    listed: list[Record] = list(neptune.scan_scopes())

    # Then only the string "1" matches, though all three are stored
    assert count == 1 and len(listed) == 3
