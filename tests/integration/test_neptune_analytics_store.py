"""mem0 2.x's Neptune Analytics vector store: memerase erases by id and by scope exactly, through boto3 `neptune-graph`
ExecuteQuery against the stand-in (FalkorDB), on data written by mem0ai 2.2.1's own NeptuneAnalyticsVector."""

from __future__ import annotations

import random

import pytest

from memerase.engine import MEMORIES, PartitionProgress, StoreRef
from memerase.errors import RetryableStoreError, StoreError, Throttled
from memerase.models import Scope
from memerase.stores.base import Partition, scan
from memerase.stores.neptune_analytics import NeptuneAnalyticsStore
from memerase.stores.neptune_client import NeptuneGraph, RetryPolicy, make_client
from memerase_local.neptune_standin.server import NeptuneGraphStandIn
from tests.support import mem0_neptune
from tests.support.mem0_data import dataset, entity, memory
from tests.support.neptune_targets import TARGET, add_foreign_nodes, eraser, snapshot, target_stores

INJECTIONS = [
    "' OR 1=1 //",
    "}) DETACH DELETE n //",
    "x' OR n.user_id <> '",
    'quote " double',
    "back\\slash\\'",
    "`~id`",
    "~id",
    "user-0') MATCH (m) DETACH DELETE m //",
]


def no_sleep(_: float) -> None:
    pass


def store(standin: NeptuneGraphStandIn, collection: str = "mem0", page_size: int = 1000) -> NeptuneAnalyticsStore:
    graph = NeptuneGraph(make_client("us-east-1"), standin.graph_id, RetryPolicy(attempts=4), sleep=no_sleep)
    return NeptuneAnalyticsStore(graph, collection, page_size)


def test_delete_memory_erases_its_node_and_strips_entity_links(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given mem0's memories and entity records, one entity linking the memory and another one
    data = dataset(users=2, per_user=3)
    victim, kept = data[0], data[1]
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), data)
    entities = mem0_neptune.entity_store(neptune_graph.graph_id)
    scope = {k: victim.payload[k] for k in ("user_id", "agent_id", "run_id") if victim.payload.get(k)}
    linked = entity("Alice", [victim.id, kept.id], **scope)  # as mem0 links entities: in the memory's own scope
    only = entity("Tea", [victim.id], **scope)
    mem0_neptune.write(entities, [linked, only])
    before = snapshot(neptune_graph)

    # When the memory is deleted by id
    result = eraser(neptune_graph.graph_id).delete_memory(victim.id)

    # Then its node is gone, the entity linking only it is gone, the other keeps its other link, nothing else changed
    assert result.deleted == 1 and result.verified
    memories = mem0_neptune.contents(mem0_neptune.memories_store(neptune_graph.graph_id))
    assert set(memories) == {m.id for m in data[1:]}
    assert {i: p["linked_memory_ids"] for i, p in mem0_neptune.contents(entities).items()} == {linked.id: [kept.id]}
    after = snapshot(neptune_graph)
    assert {k: v for k, v in after[0].items() if k != linked.id} == {
        k: v for k, v in before[0].items() if k not in (victim.id, only.id, linked.id)
    }
    assert after[0][linked.id][0] == before[0][linked.id][0]  # mem0's label and `label` property kept
    assert after[0][linked.id][1]["label"] == mem0_neptune.label(entities=True)


def test_bulk_delete_erases_exactly_one_user_and_leaves_everything_else_byte_identical(
    neptune_graph: NeptuneGraphStandIn,
) -> None:
    # Given four users' memories and entity records, and data that is not mem0's in the same graph
    data = dataset(users=4, per_user=30)
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), data)
    rng = random.Random(3)
    ents = [entity(f"e{u}", [data[u * 30].id], rng, user_id=f"user-{u}") for u in range(4)]
    mem0_neptune.write(mem0_neptune.entity_store(neptune_graph.graph_id), ents)
    add_foreign_nodes(neptune_graph, "user-1")
    before_nodes, before_edges = snapshot(neptune_graph)
    victims = {m.id for m in data if m.payload["user_id"] == "user-1"} | {ents[1].id}

    # When user-1 is erased
    result = eraser(neptune_graph.graph_id).delete_matching(Scope.of(user_id="user-1"))

    # Then exactly user-1's memory and entity nodes are gone; every other node and relationship is as it was
    after_nodes, after_edges = snapshot(neptune_graph)
    assert after_nodes == {k: v for k, v in before_nodes.items() if k not in victims}
    assert after_edges == before_edges
    assert result.memories == 30 and result.verified
    assert {(s.role, s.deleted, s.remaining) for s in result.stores} == {("memories", 30, 0), ("entities", 1, 0)}


def test_dry_run_counts_a_scope_and_deletes_nothing(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given two users' memories
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), dataset(users=2, per_user=5))
    before = snapshot(neptune_graph)

    # When a dry run counts user-0 with agent-a
    result = eraser(neptune_graph.graph_id).delete_matching(Scope.of(user_id="user-0"), dry_run=True)

    # Then it counts that user's memories and the graph is unchanged
    assert [(s.role, s.matched) for s in result.stores] == [("memories", 5), ("entities", 0)]
    assert snapshot(neptune_graph) == before


def test_the_scan_resumes_from_its_cursor_across_pages(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given 25 memories of one user among others
    data = dataset(users=3, per_user=25)
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), data)
    small = store(neptune_graph, page_size=7)

    # When the scope is scanned page by page
    pages = list(scan(small, {"user_id": "user-2"}, Partition()))

    # Then the pages (4, in id order) hold each of the user's memories once
    ids = [r.native_id for p in pages for r in p.records]
    assert len(pages) == 4 and ids == sorted(ids)
    assert set(ids) == {m.id for m in data if m.payload["user_id"] == "user-2"} and len(ids) == 25
    assert "LIMIT 7" in neptune_graph.queries[-1].query and neptune_graph.queries[-1].parameters["after"] == ids[20]


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_strings_as_filter_values_never_widen_a_deletion(
    neptune_graph: NeptuneGraphStandIn, value: str
) -> None:
    # Given memories of ordinary users and of a user whose id is an injection string
    data = dataset(users=2, per_user=4) + [memory("odd", user_id=value), memory("odd 2", user_id=value, run_id=value)]
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), data)
    before = snapshot(neptune_graph)
    first = len(neptune_graph.queries)

    # When that user is erased through the engine's page loop (and a run id carrying the same string), with the
    # filter values as they reach the adapter (the API refuses some of them earlier)
    engine = eraser(neptune_graph.graph_id)
    ref = StoreRef(TARGET, MEMORIES)
    engine.runner.erase(ref, {"user_id": value, "run_id": value}, Partition(), PartitionProgress())
    after_run = snapshot(neptune_graph)
    engine.runner.erase(ref, {"user_id": value}, Partition(), PartitionProgress())

    # Then exactly that scope's memories went, each time, and the text travelled only as a parameter
    assert set(after_run[0]) == set(before[0]) - {data[-1].id}
    assert set(snapshot(neptune_graph)[0]) == {m.id for m in data[:-2]}
    assert all(value not in q.query for q in neptune_graph.queries[first:])


def test_a_filter_key_other_than_mem0s_scope_keys_is_refused() -> None:
    # Given a store on a graph that is never reached
    graph = NeptuneGraph(object(), "g-unreached", sleep=no_sleep)
    neptune = NeptuneAnalyticsStore(graph, "mem0")

    # When a scan names a key outside user_id/agent_id/run_id
    with pytest.raises(ValueError, match="filter keys") as refused:
        neptune.list_matching({"`~id`": "x"}, Partition(), None)

    # Then it is refused before any query, naming no value
    assert "x" not in str(refused.value).replace("keys", "")


def test_a_collection_name_outside_mem0s_rule_is_refused() -> None:
    # Given a graph that is never reached
    graph = NeptuneGraph(object(), "g-unreached", sleep=no_sleep)

    # When a store is built for a collection name that could break out of a backticked label
    # Then it is refused
    with pytest.raises(ValueError, match="label"):
        NeptuneAnalyticsStore(graph, "mem0`) DETACH DELETE (n")


@pytest.mark.parametrize("code", ["ConflictException", "ThrottlingException"])
def test_conflicts_and_throttling_are_retried_with_backoff(neptune_graph: NeptuneGraphStandIn, code: str) -> None:
    # Given one user's memories, and a graph that answers the next three requests with a retriable error
    data = dataset(users=2, per_user=3)
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), data)
    waits: list[float] = []
    graph = NeptuneGraph(make_client("us-east-1"), neptune_graph.graph_id, RetryPolicy(attempts=4), waits.append)
    neptune = NeptuneAnalyticsStore(graph, "mem0")
    neptune_graph.fail_next(code, 3)

    # When the user's memories are listed and deleted
    records = neptune.list_matching({"user_id": "user-0"}, Partition(), None).records
    neptune.delete_batch([r.native_id for r in records])

    # Then the listing succeeded on its fourth attempt after three jittered waits, and the deletion went through
    assert len(records) == 3 and len(waits) == 3
    assert all(0 <= w <= 0.05 * 2**i for i, w in enumerate(waits, start=1))
    assert neptune.count_remaining({"user_id": "user-0"}) == 0


@pytest.mark.parametrize(
    ("code", "error"),
    [("ThrottlingException", Throttled), ("ConflictException", RetryableStoreError)],
)
def test_retries_are_bounded_then_raise_what_the_state_machine_retries(
    neptune_graph: NeptuneGraphStandIn, code: str, error: type[Exception]
) -> None:
    # Given a graph that keeps answering with a retriable error
    neptune = store(neptune_graph)
    neptune_graph.fail_next(code, 10)

    # When a scan is asked for
    with pytest.raises(error) as raised:
        neptune.count_remaining({"user_id": "user-0"})

    # Then after the bounded attempts it raises the retriable error naming the code, not the query or values
    assert neptune_graph.requests == 4
    assert code in str(raised.value) and "user-0" not in str(raised.value) and "MATCH" not in str(raised.value)


def test_other_errors_become_store_errors_with_the_code_only(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given a graph id the service does not know
    graph = NeptuneGraph(make_client("us-east-1"), "g-missing0001", sleep=no_sleep)

    # When a scan is asked of it
    with pytest.raises(StoreError) as raised:
        NeptuneAnalyticsStore(graph, "mem0").count_remaining({"user_id": "secret-user"})

    # Then the error is not retried and names the code, never the value
    assert type(raised.value) is StoreError
    assert "ResourceNotFoundException" in str(raised.value) and "secret-user" not in str(raised.value)
    assert neptune_graph.requests == 1


def test_reset_removes_only_mem0s_labels_and_reports_counts(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given 520 memories (more than one delete batch), two entity records, another collection and foreign data
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), dataset(users=4, per_user=130))
    ents = [entity("a", ["x"], user_id="u"), entity("b", ["y"], user_id="u")]
    mem0_neptune.write(mem0_neptune.entity_store(neptune_graph.graph_id), ents)
    other = mem0_neptune.memories_store(neptune_graph.graph_id, collection="other")
    mem0_neptune.write(other, dataset(users=1, per_user=3, seed=9))
    add_foreign_nodes(neptune_graph, "u")
    before = snapshot(neptune_graph)

    # When the target is reset
    result = eraser(neptune_graph.graph_id).reset(TARGET, confirm=TARGET)

    # Then exactly the two mem0 labels of this collection are empty, with counts, and the rest is untouched
    assert [(s.role, s.deleted) for s in result.stores] == [("memories", 520), ("entities", 2)]
    left = {k: v for k, v in before[0].items() if not v[0][0].startswith("MEM0_VECTOR_mem0")}
    assert snapshot(neptune_graph) == (left, before[1])
    assert len(mem0_neptune.contents(other)) == 3


def test_entities_and_scopes_are_read_from_the_memories_label(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given two users' memories
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), dataset(users=2, per_user=4))

    # When the target's scopes are listed
    stores = target_stores(neptune_graph.graph_id)
    scopes = {r.payload["user_id"] for r in stores.memories.scan_scopes()}

    # Then both users are seen, and payloads carry no mem0 `label` property
    assert scopes == {"user-0", "user-1"}
    assert all("label" not in r.payload for r in stores.memories.scan_scopes())
