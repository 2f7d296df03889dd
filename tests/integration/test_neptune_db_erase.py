"""The Neptune Database adapter against gremlite: gremlinpython bytecode evaluated over a mem0-1.x-shaped graph."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.traversal import Cardinality

from memerase.errors import RetryableStoreError, StoreError
from memerase.stores.base import Partition
from memerase.stores.gremlin_connection import GremlinSession, RetryPolicy
from memerase.stores.neptune_db import NOT_APPLICABLE, NeptuneDbGraph
from tests.support.gremlin_standin import GremlinGraph, add_edge, write_mem0_graph
from tests.support.neptune_db_scenarios import (
    FlakyConnection,
    erase,
    snapshot,
    write_entity_graph,
    write_foreign_vertices,
)

USERS = ["alice", "bob", "user"]
INJECTIONS = [
    "alice'",
    'alice"',
    "').drop();g.V('",
    "\\'); g.V().drop(); //",
    "alice\\",
    "al*",
    "~id",
    "ålice ✓ 名前",
]


@pytest.fixture
def graph(gremlin_graph: GremlinGraph) -> GremlinGraph:
    """gremlite's graph without an fsync per write (the default makes every test seconds slower)."""
    gremlin_graph.connection.con.execute("PRAGMA synchronous=OFF")
    return gremlin_graph


def graph_store(graph: GremlinGraph, base_label: bool = False, batch_size: int = 500) -> NeptuneDbGraph:
    store = NeptuneDbGraph.connected(lambda: graph.connection, base_label, numeric_ids=True)
    store.batch_size = batch_size
    return store


@pytest.mark.parametrize("batch_size", [2, 500])
def test_erasing_one_user_drops_exactly_its_entity_vertices_and_their_edges(
    graph: GremlinGraph, batch_size: int
) -> None:
    # Given three users' mem0 entities (one of them mem0's "user"), an edge across two users, and foreign vertices
    g = graph.g
    written = write_mem0_graph(g, USERS, per_user=5)
    add_edge(g, written.vertices["bob"][0], "knows", written.vertices["alice"][2])
    write_foreign_vertices(g, "alice")
    before = snapshot(g)
    store = graph_store(graph, batch_size=batch_size)

    # When alice is erased
    deleted = erase(store, {"user_id": "alice"})

    # Then exactly alice's five entity vertices and every edge touching them are gone; all else is untouched
    assert deleted == 5
    assert snapshot(g) == before.without(written.vertices["alice"])
    assert store.count_remaining({"user_id": "alice"}) == 0
    assert store.count_remaining({"user_id": "bob"}) == 5


def test_erasing_mem0s_default_user_leaves_named_users_alone(graph: GremlinGraph) -> None:
    # Given entities of named users and of mem0's "user" (data added without a user id)
    g = graph.g
    written = write_mem0_graph(g, USERS, per_user=3)
    before = snapshot(g)

    # When the scope {user_id: "user"} is erased
    erase(graph_store(graph), {"user_id": "user"})

    # Then only "user"'s vertices went
    assert snapshot(g) == before.without(written.vertices["user"])


def test_base_label_scope_only_takes_entity_labelled_vertices(graph: GremlinGraph) -> None:
    # Given `__Entity__` vertices of two users, and a differently labelled vertex with alice's name and user id
    g = graph.g
    written = write_entity_graph(g, ["alice", "bob"], per_user=4)
    g.add_v("note").property("name", "kept").property("user_id", "alice").iterate()
    before = snapshot(g)
    store = graph_store(graph, base_label=True)

    # When alice is erased
    deleted = erase(store, {"user_id": "alice"})

    # Then only alice's `__Entity__` vertices are gone
    assert deleted == 4
    assert snapshot(g) == before.without(written.vertices["alice"])


@pytest.mark.parametrize("filters", [{"user_id": "alice", "agent_id": "a1"}, {"agent_id": "a1"}, {"run_id": "r1"}])
def test_scopes_other_than_a_user_id_alone_are_not_applicable_and_delete_nothing(
    graph: GremlinGraph, filters: dict[str, str]
) -> None:
    # Given alice's entities
    g = graph.g
    write_mem0_graph(g, ["alice"], per_user=3)
    before = snapshot(g)
    store = graph_store(graph)

    # When a scope with an agent or run id is asked for
    reason = store.not_applicable(filters)
    page = store.list_matching(filters, Partition(), None)

    # Then the store says why, lists nothing, counts nothing, and the graph is untouched
    assert reason == NOT_APPLICABLE
    assert page.records == [] and page.cursor is None
    assert store.count_remaining(filters) == 0
    assert snapshot(g) == before
    assert store.not_applicable({"user_id": "alice"}) is None


@pytest.mark.parametrize("hostile", INJECTIONS)
def test_injection_strings_as_user_ids_never_widen_an_erasure(graph: GremlinGraph, hostile: str) -> None:
    # Given alice and bob, and a user whose id is a hostile string
    g = graph.g
    written = write_mem0_graph(g, ["alice", "bob", hostile], per_user=3)
    before = snapshot(g)
    store = graph_store(graph)

    # When the hostile user is erased
    deleted = erase(store, {"user_id": hostile})

    # Then exactly that user's vertices went: the string was a value, never part of a traversal
    assert deleted == 3
    assert snapshot(g) == before.without(written.vertices[hostile])


@pytest.mark.parametrize("hostile", INJECTIONS)
def test_an_unknown_hostile_user_id_matches_nothing(graph: GremlinGraph, hostile: str) -> None:
    # Given alice and bob only
    g = graph.g
    write_mem0_graph(g, ["alice", "bob"], per_user=3)
    before = snapshot(g)

    # When a hostile id nobody has is erased
    deleted = erase(graph_store(graph), {"user_id": hostile})

    # Then nothing was deleted
    assert deleted == 0
    assert snapshot(g) == before


def test_a_multi_valued_user_id_is_skipped_by_the_cursor_never_deleted(
    graph: GremlinGraph,
) -> None:
    # Given alice's entities after a vertex the server selects for alice (user ids alice and bob) that the exact
    # check refuses
    g = graph.g
    two_ids = (
        g.add_v("person")
        .property("name", "shared")
        .property("user_id", "alice")
        .property("mentions", 1)
        .property("created", 1_700_000_000_000)
        .id_()
        .next()
    )
    g.V(two_ids).property(Cardinality.list_, "user_id", "bob").iterate()
    written = write_mem0_graph(g, ["alice", "carol"], per_user=5)
    before = snapshot(g)
    store = graph_store(graph, batch_size=2)
    assert sorted(before.vertices[two_ids][1]["user_id"]) == ["alice", "bob"]

    # When alice is erased page by page
    first = store.list_matching({"user_id": "alice"}, Partition(), None)
    deleted = erase(store, {"user_id": "alice"})

    # Then the refused vertex is counted in the cursor and kept; alice's own vertices are gone
    assert json.loads(first.cursor or "{}") == {"rejected": 1}
    assert deleted == 5
    assert snapshot(g) == before.without(written.vertices["alice"])
    assert store.count_remaining({"user_id": "alice"}) == 0


def test_concurrent_modification_is_retried_with_jittered_backoff(graph: GremlinGraph) -> None:
    # Given a connection on which the first three drops fail with ConcurrentModificationException
    g = graph.g
    written = write_mem0_graph(g, USERS, per_user=3)
    before = snapshot(g)
    flaky = FlakyConnection(graph.connection, failures=3)
    slept: list[float] = []
    policy = RetryPolicy(attempts=6, base_s=0.1, cap_s=0.3)
    store = NeptuneDbGraph(GremlinSession(lambda: flaky, policy, slept.append), False, numeric_ids=True)

    # When alice is erased
    erase(store, {"user_id": "alice"})

    # Then the drop was retried until it went through, with full-jitter sleeps under the growing, capped bound
    assert flaky.attempts == 4
    assert len(slept) == 3
    assert all(0 <= s <= bound for s, bound in zip(slept, [0.1, 0.2, 0.3], strict=True))
    assert snapshot(g) == before.without(written.vertices["alice"])


def test_persistent_concurrent_modification_gives_up_as_retryable(graph: GremlinGraph) -> None:
    # Given a connection on which every drop conflicts
    g = graph.g
    write_mem0_graph(g, USERS, per_user=3)
    before = snapshot(g)
    flaky = FlakyConnection(graph.connection, failures=100)
    store = NeptuneDbGraph(
        GremlinSession(lambda: flaky, RetryPolicy(attempts=4), lambda _: None), False, numeric_ids=True
    )

    # When alice is erased
    with pytest.raises(RetryableStoreError, match="ConcurrentModificationException") as raised:
        erase(store, {"user_id": "alice"})

    # Then it gave up after the bounded attempts, as the error the state machine retries, and deleted nothing
    assert flaky.attempts == 4
    assert raised.value.code == "store_unavailable"
    assert snapshot(g) == before


def test_other_server_errors_are_store_errors_without_values(graph: GremlinGraph) -> None:
    # Given a server that refuses every listing, quoting the traversal in its message
    g = graph.g
    write_mem0_graph(g, ["secret-user"], per_user=2)

    def refused() -> GremlinServerError:
        return GremlinServerError(
            {"code": 597, "message": "bad traversal has('user_id','secret-user')", "attributes": {}}
        )

    flaky = FlakyConnection(graph.connection, 100, fails_on=lambda b: "limit" in str(b), error=refused)
    store = NeptuneDbGraph(GremlinSession(lambda: flaky), False, numeric_ids=True)

    # When the user is listed
    with pytest.raises(StoreError) as raised:
        store.list_matching({"user_id": "secret-user"}, Partition(), None)

    # Then the error is a non-retryable store error with the server's code and not the user id
    assert type(raised.value) is StoreError
    assert "597" in str(raised.value)
    assert "secret-user" not in str(raised.value)


def test_a_broken_connection_is_replaced_once(graph: GremlinGraph) -> None:
    # Given a first connection whose socket fails, and a healthy second one
    g = graph.g
    written = write_mem0_graph(g, USERS, per_user=2)
    before = snapshot(g)
    broken = FlakyConnection(graph.connection, 1, fails_on=lambda b: True, error=lambda: OSError("reset"))
    opened = iter([broken, graph.connection])
    store = NeptuneDbGraph(GremlinSession(lambda: next(opened)), False, numeric_ids=True)

    # When alice is erased
    erase(store, {"user_id": "alice"})

    # Then the session reconnected once and finished the work
    assert next(opened, None) is None
    assert snapshot(g) == before.without(written.vertices["alice"])


def test_a_connection_that_keeps_breaking_is_a_retryable_error(graph: GremlinGraph) -> None:
    # Given connections that all fail on their first traversal
    opened = 0

    def connect() -> FlakyConnection:
        nonlocal opened
        opened += 1
        return FlakyConnection(graph.connection, 1, fails_on=lambda b: True, error=lambda: OSError("reset"))

    store = NeptuneDbGraph(GremlinSession(connect), False, numeric_ids=True)

    # When anything is asked
    with pytest.raises(RetryableStoreError, match="unreachable"):
        store.count_remaining({"user_id": "alice"})

    # Then it reconnected exactly once before giving up
    assert opened == 2


@pytest.mark.parametrize("base_label", [False, True])
def test_reset_drops_only_mem0s_entity_vertices(graph: GremlinGraph, base_label: bool) -> None:
    # Given mem0 entities of several users (labelled as mem0 labels them) and another application's vertices
    g = graph.g
    writer = write_entity_graph if base_label else write_mem0_graph
    written = writer(g, USERS, per_user=4)
    write_foreign_vertices(g, "alice")
    before = snapshot(g)
    mem0_vertices = [v for ids in written.vertices.values() for v in ids]
    store = graph_store(graph, base_label=base_label, batch_size=5)

    # When the graph store is reset
    removed = store.reset()

    # Then mem0's twelve entity vertices are gone, in several batches, and every other vertex is intact
    assert removed == 12
    assert snapshot(g) == before.without(mem0_vertices)
    assert store.reset() == 0


def test_a_numeric_user_id_is_not_the_same_user_as_its_digits(graph: GremlinGraph) -> None:
    # Given a user "7" and a vertex whose user id is the number 7
    g = graph.g
    written = write_mem0_graph(g, ["7"], per_user=3)
    g.add_v("person").property("name", "numeric").property("user_id", 7).iterate()
    before = snapshot(g)

    # When user "7" is erased
    deleted = erase(graph_store(graph), {"user_id": "7"})

    # Then the numeric one stays
    assert deleted == 3
    assert snapshot(g) == before.without(written.vertices["7"])


def test_one_connection_serves_every_traversal_of_a_session(graph: GremlinGraph) -> None:
    # Given a session that counts the connections it opens
    g = graph.g
    write_mem0_graph(g, USERS, per_user=4)
    opened: list[RemoteConnection] = []

    def connect() -> RemoteConnection:
        opened.append(graph.connection)
        return graph.connection

    store = NeptuneDbGraph(GremlinSession(connect), False, numeric_ids=True, batch_size=2)

    # When a user is erased page by page, counted and the store reset
    erase(store, {"user_id": "alice"})
    store.count_remaining({"user_id": "alice"})
    store.reset()

    # Then all those traversals went over one connection, opened on first use
    assert len(opened) == 1


def test_the_graph_is_one_partition_and_any_other_partition_is_empty(graph: GremlinGraph) -> None:
    # Given alice's entities
    write_mem0_graph(graph.g, ["alice"], per_user=3)
    store = graph_store(graph)

    # When the first and a second partition are listed
    first = store.list_matching({"user_id": "alice"}, Partition(0, 2), None)
    second = store.list_matching({"user_id": "alice"}, Partition(1, 2), None)

    # Then the store asks for one partition; the first holds every match, a second none (never listed twice)
    assert store.partitions() == 1
    assert len(first.records) == 3 and first.cursor is None
    assert second.records == [] and second.cursor is None


@pytest.mark.parametrize("code", ["ThrottlingException", "MemoryLimitExceededException"])
def test_neptunes_other_retriable_errors_are_retried(graph: GremlinGraph, code: str) -> None:
    # Given a connection whose first two listings fail with a retriable Neptune error
    g = graph.g
    written = write_mem0_graph(g, USERS, per_user=3)
    before = snapshot(g)

    def retriable() -> GremlinServerError:
        return GremlinServerError({"code": 500, "message": json.dumps({"code": code}), "attributes": {}})

    flaky = FlakyConnection(graph.connection, 2, fails_on=lambda b: "limit" in str(b), error=retriable)
    store = NeptuneDbGraph(GremlinSession(lambda: flaky, sleep=lambda _: None), False, numeric_ids=True)

    # When alice is erased
    erase(store, {"user_id": "alice"})

    # Then the listing was retried and the erasure completed
    assert flaky.attempts >= 3
    assert snapshot(g) == before.without(written.vertices["alice"])


def test_a_read_only_writer_after_failover_is_retried_on_a_new_connection(graph: GremlinGraph) -> None:
    # Given a first connection to a writer that has turned read-only, and a healthy second connection
    g = graph.g
    written = write_mem0_graph(g, USERS, per_user=3)
    before = snapshot(g)

    def read_only() -> GremlinServerError:
        message = json.dumps({"code": "ReadOnlyViolationException"})
        return GremlinServerError({"code": 500, "message": message, "attributes": {}})

    stale = FlakyConnection(graph.connection, 1, error=read_only)
    opened = iter([stale, FlakyConnection(graph.connection, 0)])
    store = NeptuneDbGraph(GremlinSession(lambda: next(opened), sleep=lambda _: None), False, numeric_ids=True)

    # When alice is erased
    erase(store, {"user_id": "alice"})

    # Then the drop went through on a new connection
    assert next(opened, None) is None
    assert snapshot(g) == before.without(written.vertices["alice"])


def test_another_applications_vertex_with_a_name_and_a_user_id_is_never_erased_nor_reset(graph: GremlinGraph) -> None:
    # Given mem0 entities of alice and bob, and another application's vertices carrying a name and a user id but not
    # mem0's `mentions`
    g = graph.g
    write_mem0_graph(g, ["alice", "bob"], per_user=3)
    customers = [
        g.add_v("customer").property("name", name).property("user_id", user).id_().next()
        for name, user in (("Alice Smith", "alice"), ("Bob Jones", "bob"))
    ]
    store = graph_store(graph)
    # When alice is erased, and then the graph store is reset
    erased = erase(store, {"user_id": "alice"})
    removed = store.reset()
    # Then only mem0's entities went (3 of alice's, then 3 of bob's), and both customer vertices are still there
    assert (erased, removed) == (3, 3)
    assert [g.V(c).count().next() for c in customers] == [1, 1]


def test_a_drop_by_ids_drops_only_mem0_entities_whatever_ids_it_is_given(graph: GremlinGraph) -> None:
    # Given a foreign vertex with a name and a user id, and a mem0 entity
    g = graph.g
    written = write_mem0_graph(g, ["alice"], per_user=1)
    foreign = g.add_v("customer").property("name", "Alice Smith").property("user_id", "alice").id_().next()
    # When a batch naming both ids is dropped (as a replayed pending batch would name them)
    graph_store(graph).delete_batch([str(foreign), str(written.vertices["alice"][0])])
    # Then the mem0 entity is gone and the foreign vertex is not
    assert g.V(foreign).count().next() == 1 and g.V(written.vertices["alice"][0]).count().next() == 0


def write_lookalikes(g: Any, user: str) -> list[Any]:
    """Another application's vertices of `user` with `name`, `user_id` and `mentions`, but not mem0's numbers."""
    rows: list[dict[str, Any]] = [
        {"name": "acme", "mentions": 3},
        {"name": "refund", "mentions": 1, "created": "2024-01-01"},
        {"name": "cv", "mentions": 2, "created": 1_700_000_000_000, "updated": "today"},
        {"name": "visits", "mentions": "2", "created": 1_700_000_000_000},
    ]
    ids = []
    for properties in rows:
        vertex = g.add_v("customer").property("user_id", user)
        for key, value in properties.items():
            vertex = vertex.property(key, value)
        ids.append(vertex.id_().next())
    return ids


def write_new_entities_as_mem0_does(g: Any, user: str) -> list[Any]:
    """mem0 1.0.11's Neptune Database `_add_new_entities_cypher`: ON CREATE sets `created` and `mentions`, no
    `updated`."""
    return [
        g.add_v("person")
        .property("name", f"new {i}")
        .property("user_id", user)
        .property("mentions", 1)
        .property("created", 1_700_000_000_000 + i)
        .id_()
        .next()
        for i in range(2)
    ]


@pytest.mark.parametrize("operation", ["scope_erasure", "reset"])
def test_without_base_label_vertices_lacking_mem0s_numeric_created_are_not_taken_for_mem0s(
    graph: GremlinGraph, operation: str
) -> None:
    """Before the fix all four look-alikes were dropped (they have `user_id`, `name` and `mentions`)."""
    # Given alice's mem0 entities (two as mem0's Neptune Database writes new ones, without `updated`), bob's, and
    # another application's look-alike vertices of alice
    g = graph.g
    written = write_mem0_graph(g, ["alice", "bob"], per_user=3)
    fresh = write_new_entities_as_mem0_does(g, "alice")
    lookalikes = write_lookalikes(g, "alice")
    before = snapshot(g)
    store = graph_store(graph, batch_size=2)
    # When alice is erased, or the graph store reset
    if operation == "reset":
        removed = store.reset()
        gone = [*written.vertices["alice"], *fresh, *written.vertices["bob"]]
    else:
        removed = erase(store, {"user_id": "alice"})
        gone = [*written.vertices["alice"], *fresh]
    # Then exactly mem0's vertices went (those without `updated` too), and every look-alike stayed
    assert removed == len(gone)
    assert snapshot(g) == before.without(gone)
    assert set(lookalikes) <= set(snapshot(g).vertices)
