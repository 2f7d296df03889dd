"""mem0 1.x graph memory on Neptune Analytics: a user's entity nodes and their relationships are erased by user id,
everything else stays; scopes mem0's graph cannot hold are reported as not applicable. Data written with mem0ai
1.0.11's own openCypher statements."""

from __future__ import annotations

import pytest

from memerase.engine import Eraser
from memerase.models import Scope
from memerase.stores.base import Partition
from memerase.stores.graph_scope import GRAPH, USER_ID_ONLY
from memerase.stores.neptune_client import NeptuneGraph, make_client
from memerase.stores.neptune_graph_memory import NeptuneGraphMemoryStore
from memerase_local.neptune_standin.mem0_graph_v1 import write_graph
from memerase_local.neptune_standin.server import NeptuneGraphStandIn
from tests.support import mem0_neptune
from tests.support.mem0_data import dataset
from tests.support.neptune_targets import add_foreign_nodes, eraser, graph_store, snapshot, target_stores


def nodes_of(standin: NeptuneGraphStandIn, user_id: str) -> set[str]:
    return {r["id"] for r in standin.cypher("MATCH (n {user_id: $u}) RETURN n.`~id` AS id", {"u": user_id})}


@pytest.mark.parametrize("base_label", [True, False])
def test_a_users_entity_nodes_and_relationships_are_erased_and_other_users_are_intact(
    neptune_graph: NeptuneGraphStandIn, base_label: bool
) -> None:
    # Given mem0 1.x graph data of three users (one is mem0's "user"), mem0 2.x memories and foreign data alongside
    write_graph(neptune_graph.graph_id, ["alice", "bob", "user"], per_user=3, base_label=base_label)
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), dataset(users=1, per_user=2))
    add_foreign_nodes(neptune_graph, "alice")
    before_nodes, before_edges = snapshot(neptune_graph)
    alice = nodes_of(neptune_graph, "alice") - {"c-1", "a-1"}

    # When alice is erased from a target carrying the graph_store block
    result = eraser(neptune_graph.graph_id, graph_store(neptune_graph.graph_id, base_label)).delete_matching(
        Scope.of(user_id="alice")
    )

    # Then her entity nodes (5 names; without base_label mem0 makes one node per name and type) and every
    # relationship touching them are gone; every other node and edge is as it was
    after_nodes, after_edges = snapshot(neptune_graph)
    assert len({before_nodes[k][1]["name"] for k in alice}) == 5
    assert after_nodes == {k: v for k, v in before_nodes.items() if k not in alice}
    assert after_edges == {e for e in before_edges if e[0] not in alice and e[2] not in alice}
    assert len(before_edges - after_edges) == 4
    [graph] = [s for s in result.stores if s.role == GRAPH]
    assert (graph.matched, graph.deleted, graph.remaining, graph.note) == (len(alice), len(alice), 0, None)


def test_a_scope_beyond_user_id_is_not_applicable_to_graph_data_and_deletes_nothing_there(
    neptune_graph: NeptuneGraphStandIn,
) -> None:
    # Given mem0 1.x graph data and mem0 2.x memories of alice
    write_graph(neptune_graph.graph_id, ["alice", "bob"], per_user=2)
    memories = dataset(users=1, per_user=4, agents=("agent-a",))
    for m in memories:
        m.payload["user_id"] = "alice"
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), memories)
    graph_before = nodes_of(neptune_graph, "alice") - {m.id for m in memories}
    engine = eraser(neptune_graph.graph_id, graph_store(neptune_graph.graph_id))

    # When alice with agent-a is erased, and counted
    result = engine.delete_matching(Scope.of(user_id="alice", agent_id="agent-a"))
    counts = engine.count_remaining(Scope.of(user_id="alice", agent_id="agent-a"))

    # Then her memories with that agent went, her graph data stayed, and the graph store says why
    assert nodes_of(neptune_graph, "alice") == graph_before
    [graph] = [s for s in result.stores if s.role == GRAPH]
    assert (graph.deleted, graph.note) == (0, USER_ID_ONLY)
    assert [s.note for s in counts if s.role == GRAPH] == [USER_ID_ONLY]
    assert [s.deleted for s in result.stores if s.role == "memories"] == [4]


def test_dry_run_counts_a_users_entity_nodes(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given two users' graph data
    write_graph(neptune_graph.graph_id, ["alice", "bob"], per_user=3)
    before = snapshot(neptune_graph)

    # When a dry run counts bob
    result = eraser(neptune_graph.graph_id, graph_store(neptune_graph.graph_id)).delete_matching(
        Scope.of(user_id="bob"), dry_run=True
    )

    # Then his 5 entity nodes are counted and nothing changed
    assert [s.matched for s in result.stores if s.role == GRAPH] == [5]
    assert snapshot(neptune_graph) == before


@pytest.mark.parametrize("base_label", [True, False])
def test_graph_reset_removes_only_mem0s_entity_nodes(neptune_graph: NeptuneGraphStandIn, base_label: bool) -> None:
    # Given two users' graph data, mem0 2.x memories and foreign data in the same graph
    write_graph(neptune_graph.graph_id, ["alice", "user"], per_user=2, base_label=base_label)
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), dataset(users=1, per_user=3))
    add_foreign_nodes(neptune_graph, "alice")
    before_nodes, before_edges = snapshot(neptune_graph)
    graph = NeptuneGraphMemoryStore(NeptuneGraph(make_client("us-east-1"), neptune_graph.graph_id), base_label)

    # When the graph store is reset
    removed = graph.reset()

    # Then every mem0 entity node (8 names) went with its relationships; the memories and foreign data stayed
    after_nodes, after_edges = snapshot(neptune_graph)
    entity_nodes = {k for k, v in before_nodes.items() if "mentions" in v[1]}
    assert removed == len(entity_nodes) and len({before_nodes[k][1]["name"] for k in entity_nodes}) == 8
    assert {k: v[0] for k, v in after_nodes.items()} == {
        k: v[0] for k, v in before_nodes.items() if "name" not in v[1] or k == "c-1"
    }
    assert [e[1] for e in after_edges] == ["OWNS"]


@pytest.mark.parametrize("value", ["' OR 1=1 //", "}) DETACH DELETE n //", "`~id`", "user"])
def test_injection_strings_as_user_ids_never_widen_a_graph_deletion(
    neptune_graph: NeptuneGraphStandIn, value: str
) -> None:
    # Given graph data of ordinary users and of one whose id is an injection string (or mem0's "user")
    write_graph(neptune_graph.graph_id, ["alice", value], per_user=2)
    graph = NeptuneGraphMemoryStore(NeptuneGraph(make_client("us-east-1"), neptune_graph.graph_id), True)
    alice = nodes_of(neptune_graph, "alice")

    # When that user's nodes are listed and deleted
    records = graph.list_matching({"user_id": value}, Partition(), None).records
    graph.delete_batch([r.native_id for r in records])

    # Then only that user's 4 nodes went
    assert len(records) == 4
    assert nodes_of(neptune_graph, value) == set() and nodes_of(neptune_graph, "alice") == alice


def test_resetting_a_neptune_target_resets_its_graph_data_too_and_reports_each_collection(
    neptune_graph: NeptuneGraphStandIn,
) -> None:
    # Given a Neptune target with mem0 2.x memories and mem0 1.x graph data, and foreign data in the same graph
    write_graph(neptune_graph.graph_id, ["alice", "bob"], per_user=2)
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), dataset(users=1, per_user=3))
    add_foreign_nodes(neptune_graph, "alice")
    stores = target_stores(neptune_graph.graph_id, graph_store(neptune_graph.graph_id))
    # When the target is reset
    result = Eraser([stores], allow_reset=True).reset(stores.name, stores.name)
    # Then its memories and its graph data are gone (each reported), and the foreign nodes stayed
    removed = {s.role: s.deleted for s in result.stores}
    assert removed["memories"] == 3 and removed[GRAPH] > 0
    left = neptune_graph.cypher("MATCH (n) WHERE n.mentions IS NOT NULL OR n.hash IS NOT NULL RETURN count(n) AS c")
    assert left == [{"c": 0}]
    assert neptune_graph.cypher("MATCH (n) RETURN count(n) AS c")[0]["c"] > 0


# Another application's nodes beside mem0's, without base_label: each carries `user_id`, `name` and `mentions`, but
# not everything mem0 1.0.11 writes on every entity node (numbers `created` and `mentions`, `updated` a number if set)
LOOKALIKES = (
    "CREATE (:Customer {`~id`: 'f-1', user_id: $u, name: 'acme', mentions: 3})"
    " CREATE (:Ticket {`~id`: 'f-2', user_id: $u, name: 'refund', mentions: 1, created: '2024-01-01'})"
    " CREATE (:Doc {`~id`: 'f-3', user_id: $u, name: 'cv', mentions: 2, created: 1700000000000, updated: 'today'})"
    " CREATE (:Tally {`~id`: 'f-4', user_id: $u, name: 'visits', mentions: '2', created: 1700000000000})"
)


@pytest.mark.parametrize("operation", ["scope_erasure", "reset"])
def test_without_base_label_nodes_lacking_mem0s_numeric_created_are_not_taken_for_mem0s(
    neptune_graph: NeptuneGraphStandIn, operation: str
) -> None:
    """Before the fix all four look-alikes went (they have `user_id`, `name` and `mentions`), by scope and by reset."""
    # Given alice's mem0 1.x graph data without base_label, and another application's look-alike nodes of alice
    write_graph(neptune_graph.graph_id, ["alice", "bob"], per_user=2, base_label=False)
    neptune_graph.cypher(LOOKALIKES, {"u": "alice"})
    mem0_nodes = nodes_of(neptune_graph, "alice") - {"f-1", "f-2", "f-3", "f-4"}
    graph = NeptuneGraphMemoryStore(NeptuneGraph(make_client("us-east-1"), neptune_graph.graph_id), False)
    # When alice is erased from the graph, or the graph store is reset
    if operation == "reset":
        graph.reset()
    else:
        eraser(neptune_graph.graph_id, graph_store(neptune_graph.graph_id, False)).delete_matching(
            Scope.of(user_id="alice")
        )
    # Then every one of mem0's nodes of alice went, and the look-alikes stayed
    assert mem0_nodes and nodes_of(neptune_graph, "alice") == {"f-1", "f-2", "f-3", "f-4"}
    assert bool(nodes_of(neptune_graph, "bob")) == (operation != "reset")
