"""Ids mem0 accepts that memerase used to refuse (`?` or `*` inside an id, more than 1,024 characters) erase exactly
that id in every store memerase queries: no adapter builds a wildcard, pattern or LIKE query. Neptune Analytics
(openCypher parameters, mem0 1.x graph data and mem0 2.x memories), Neptune Database (Gremlin bytecode arguments)
and mem0's SQLite history (plain substring narrowing, exact parse); S3 Vectors and OpenSearch (term and phrase
queries, exact re-check) are in test_adversarial_filters."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from mem0.memory.main import _build_session_scope
from mem0.memory.storage import SQLiteManager

from memerase.mem0_history import Mem0HistoryDb
from memerase.models import Scope
from memerase.stores.neptune_db import NeptuneDbGraph
from memerase_local.neptune_standin.mem0_graph_v1 import write_graph
from memerase_local.neptune_standin.server import NeptuneGraphStandIn
from tests.support import mem0_neptune
from tests.support.gremlin_standin import GremlinGraph, write_mem0_graph
from tests.support.mem0_data import memory
from tests.support.neptune_db_scenarios import erase, snapshot
from tests.support.neptune_targets import eraser, graph_store

ACCEPTED = ["a?b", "a*b", "?", "a*", "m" * 1500]
LOOKALIKES = ["ab", "aXb", "a", "a?", "b", "m" * 1499, "a?b?"]
BEFORE = 'refused before the fix: "wildcard characters (* ?) are not allowed" / "longer than 1024 characters"'


def users_besides(user: str) -> list[str]:
    return [user, *(other for other in LOOKALIKES if other != user)]


@pytest.mark.parametrize("user", ACCEPTED)
def test_neptune_analytics_erases_exactly_that_users_memories_and_graph_nodes(
    neptune_graph: NeptuneGraphStandIn, user: str
) -> None:
    """Before the fix each of these ids was refused ("wildcard characters (* ?) are not allowed", "longer than 1024
    characters"), so the user could not be erased."""
    # Given mem0 2.x memories and mem0 1.x graph data of that user and of users whose ids look like it
    users = users_besides(user)
    write_graph(neptune_graph.graph_id, users, per_user=1, base_label=True)
    memories = [memory(f"memory of {n}", user_id=u) for n, u in enumerate(users)]
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), memories)

    def owners() -> list[str]:
        rows = neptune_graph.cypher("MATCH (n) WHERE n.user_id IS NOT NULL RETURN n.user_id AS u")
        return sorted(row["u"] for row in rows)

    before = owners()
    # When that user is erased
    result = eraser(neptune_graph.graph_id, graph_store(neptune_graph.graph_id)).delete_matching(Scope.of(user_id=user))
    # Then exactly that user's memory and graph nodes are gone, every look-alike's are there
    assert owners() == [u for u in before if u != user] and user in before, BEFORE
    assert result.verified and {s.role: s.deleted for s in result.stores}["memories"] == 1


@pytest.mark.parametrize("user", ACCEPTED)
def test_neptune_database_erases_exactly_that_users_vertices(gremlin_graph: GremlinGraph, user: str) -> None:
    """Before the fix each of these ids was refused ("wildcard characters (* ?) are not allowed", "longer than 1024
    characters"), so the user could not be erased."""
    # Given mem0 1.x entity vertices of that user and of users whose ids look like it
    g = gremlin_graph.g
    written = write_mem0_graph(g, users_besides(user), per_user=2)
    before = snapshot(g)
    store = NeptuneDbGraph.connected(lambda: gremlin_graph.connection, False, numeric_ids=True)
    # When that user is erased
    deleted = erase(store, Scope.of(user_id=user).filters())
    # Then exactly its vertices are gone
    assert deleted == 2, BEFORE
    assert snapshot(g) == before.without(written.vertices[user])


@pytest.mark.parametrize("user", ACCEPTED)
def test_mem0s_history_loses_exactly_that_users_sessions(tmp_path: Path, user: str) -> None:
    """Before the fix each of these ids was refused ("wildcard characters (* ?) are not allowed", "longer than 1024
    characters"), so the user's sessions stayed."""
    # Given mem0's chat sessions of that user, of look-alikes and of that user with an agent
    path = tmp_path / "history.db"
    db = SQLiteManager(str(path))
    scopes = [{"user_id": u} for u in users_besides(user)] + [{"user_id": user, "agent_id": "a*"}]
    for scope in scopes:
        db.save_messages([{"role": "user", "content": "hello"}], _build_session_scope(scope))
    db.close()
    # When that user's messages are erased
    with Mem0HistoryDb(str(path)) as history:
        deleted = history.erase_messages(Scope.of(user_id=user).filters())
    # Then exactly its two sessions are gone
    conn = sqlite3.connect(path)
    left = sorted(row[0] for row in conn.execute("SELECT session_scope FROM messages"))
    conn.close()
    assert deleted == 2, BEFORE
    assert left == sorted(_build_session_scope(s) for s in scopes if s.get("user_id") != user)
