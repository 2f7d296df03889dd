"""The Neptune Database adapter's erase scenarios against a real Gremlin Server (TinkerGraph, JanusGraph, Neptune
without IAM), over gremlinpython's own WebSocket driver: set `MEMERASE_TEST_GREMLIN_URL`, e.g.
`ws://localhost:8182/gremlin`. Skipped otherwise.

The graph behind that URL is a test graph: every user id written here carries a fresh prefix, nothing else is
deleted, and what a test wrote is dropped afterwards (reset, which drops every mem0-shaped vertex, is not run here).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import GraphTraversalSource

from memerase.stores.gremlin_connection import GremlinSession, RetryPolicy
from memerase.stores.neptune_db import NOT_APPLICABLE, NeptuneDbGraph
from tests.support.gremlin_standin import add_edge, write_mem0_graph
from tests.support.neptune_db_scenarios import FlakyConnection, erase, snapshot

GREMLIN_URL = os.environ.get("MEMERASE_TEST_GREMLIN_URL", "")

pytestmark = pytest.mark.skipif(
    not GREMLIN_URL, reason="MEMERASE_TEST_GREMLIN_URL is not set (a Gremlin Server, e.g. ws://localhost:8182/gremlin)"
)


@dataclass
class Server:
    connection: DriverRemoteConnection
    g: GraphTraversalSource
    prefix: str

    def user(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def store(self, first_id: object, connection: RemoteConnection | None = None) -> NeptuneDbGraph:
        """Neptune's ids are strings; TinkerGraph's and JanusGraph's are numbers."""
        remote: RemoteConnection = connection or self.connection
        session = GremlinSession(lambda: remote, RetryPolicy(), lambda _: None)
        return NeptuneDbGraph(session, False, numeric_ids=isinstance(first_id, int))


@pytest.fixture
def server() -> Iterator[Server]:
    connection = DriverRemoteConnection(GREMLIN_URL, "g")
    prefix = f"memerase-test-{uuid.uuid4().hex[:8]}-"
    g = traversal().with_remote(connection)
    try:
        yield Server(connection, g, prefix)
    finally:
        g.V().has("user_id", prefix + "alice").drop().iterate()
        for user in (prefix + "bob", prefix + "user", prefix + "').drop();g.V('", prefix + "\\'\"ü"):
            g.V().has("user_id", user).drop().iterate()
        connection.close()


def test_erasing_one_user_drops_exactly_its_vertices_and_edges_on_a_gremlin_server(server: Server) -> None:
    # Given three users' mem0 entities and an edge across two of them
    g = server.g
    users = [server.user(n) for n in ("alice", "bob", "user")]
    written = write_mem0_graph(g, users, per_user=5)
    add_edge(g, written.vertices[users[1]][0], "knows", written.vertices[users[0]][2])
    before = snapshot(g)
    store = server.store(written.vertices[users[0]][0])
    store.batch_size = 2

    # When alice is erased page by page
    deleted = erase(store, {"user_id": users[0]})

    # Then exactly her vertices and their edges are gone
    assert deleted == 5
    assert snapshot(g) == before.without(written.vertices[users[0]])
    assert store.count_remaining({"user_id": users[0]}) == 0


def test_hostile_user_ids_stay_values_on_a_gremlin_server(server: Server) -> None:
    # Given a user whose id is a Gremlin fragment, another with quotes and a backslash, and alice
    g = server.g
    users = [server.user(n) for n in ("alice", "').drop();g.V('", "\\'\"ü")]
    written = write_mem0_graph(g, users, per_user=3)
    before = snapshot(g)
    store = server.store(written.vertices[users[0]][0])

    # When the hostile users are erased
    for hostile in users[1:]:
        erase(store, {"user_id": hostile})

    # Then only their vertices went
    assert snapshot(g) == before.without(written.vertices[users[1]] + written.vertices[users[2]])


def test_other_scopes_are_not_applicable_on_a_gremlin_server(server: Server) -> None:
    # Given alice's entities
    g = server.g
    alice = server.user("alice")
    written = write_mem0_graph(g, [alice], per_user=3)
    before = snapshot(g)
    store = server.store(written.vertices[alice][0])

    # When a user+agent scope is asked for
    reason = store.not_applicable({"user_id": alice, "agent_id": "a1"})

    # Then it is not applicable and nothing changed
    assert reason == NOT_APPLICABLE
    assert erase(store, {"user_id": alice, "agent_id": "a1"}) == 0
    assert snapshot(g) == before


def test_concurrent_modification_is_retried_on_a_gremlin_server(server: Server) -> None:
    # Given a connection whose first two drops fail with ConcurrentModificationException
    g = server.g
    alice = server.user("alice")
    written = write_mem0_graph(g, [alice, server.user("bob")], per_user=3)
    before = snapshot(g)
    flaky = FlakyConnection(server.connection, failures=2)
    store = server.store(written.vertices[alice][0], flaky)

    # When alice is erased
    erase(store, {"user_id": alice})

    # Then the drop went through on the third attempt
    assert flaky.attempts == 3
    assert snapshot(g) == before.without(written.vertices[alice])
