"""A target with mem0's own history database (`history_db_path`): every erasure scrubs it, written by mem0ai
2.2.1's own SQLiteManager, over S3 Vectors in moto."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from mem0.memory.main import _build_session_scope
from mem0.memory.storage import SQLiteManager

from memerase.engine import Eraser
from memerase.mem0_history import Mem0History
from memerase.models import Scope
from memerase.settings import Target
from memerase.stores.factory import build_target
from tests.support import mem0_data as m0
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.targets import s3_target


@pytest.fixture
def world(s3_limits: S3VectorsLimits, tmp_path: Path) -> tuple[list[m0.Memory], Path]:
    """Memories of alice (with agent "bot" and "cook") and bob in S3 Vectors; mem0's history of each, and chat
    sessions of several scopes, in mem0's SQLite database."""
    data = [m0.memory(f"alice {i}", user_id="alice", agent_id="bot" if i % 2 else "cook") for i in range(6)]
    data += [m0.memory(f"bob {i}", user_id="bob") for i in range(3)]
    m0.write(m0.s3_store(), data)
    path = tmp_path / "history.db"
    db = SQLiteManager(str(path))
    for memory in data:
        db.add_history(memory.id, None, memory.payload["data"], "ADD", created_at="2026-01-01T00:00:00+00:00")
    for scope in ({"user_id": "alice", "agent_id": "bot"}, {"user_id": "alice"}, {"user_id": "bob"}):
        db.save_messages([{"role": "user", "content": f"raw chat of {scope}"}], _build_session_scope(scope))
    db.close()
    return data, path


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute(sql))


def texts_of(path: Path, memory_ids: list[str]) -> list[Any]:
    found = rows(path, "SELECT memory_id, old_memory, new_memory FROM history")
    return [t for memory_id, old, new in found if memory_id in memory_ids for t in (old, new) if t is not None]


def test_a_scope_erasure_scrubs_the_scopes_text_and_sessions_from_mem0s_history_only(
    world: tuple[list[m0.Memory], Path],
) -> None:
    # Given alice's and bob's memories, history and chat
    data, path = world
    target = s3_target()
    target.mem0_history = Mem0History(str(path))
    bob_ids = {m.id for m in data if m.payload["user_id"] == "bob"}
    bob_before = [r for r in rows(path, "SELECT * FROM history ORDER BY id") if r[1] in bob_ids]
    # When alice + agent "bot" is erased
    Eraser([target]).delete_matching(Scope.of(user_id="alice", agent_id="bot"))
    # Then the text of alice/bot's memories is gone (a DELETE row each), their session is gone, and alice's own
    # session, her "cook" memories and bob's rows are untouched
    gone = [m.id for m in data if m.payload.get("agent_id") == "bot"]
    kept = [m.id for m in data if m.id not in gone]
    assert texts_of(path, gone) == [] and len(texts_of(path, kept)) == len(kept)
    deletes = rows(path, "SELECT memory_id, old_memory, new_memory, is_deleted FROM history WHERE event = 'DELETE'")
    assert sorted(deletes) == sorted((m, None, None, 1) for m in gone)
    sessions = sorted(s for (s,) in rows(path, "SELECT session_scope FROM messages"))
    assert sessions == ["user_id=alice", "user_id=bob"]
    bob_after = [r for r in rows(path, "SELECT * FROM history ORDER BY id") if r[1] in bob_ids]
    assert bob_after == bob_before


def test_a_user_erasure_removes_every_session_of_that_user(world: tuple[list[m0.Memory], Path]) -> None:
    # Given alice's two sessions and bob's
    _, path = world
    target = s3_target()
    target.mem0_history = Mem0History(str(path))
    # When alice is erased
    Eraser([target]).delete_matching(Scope.of(user_id="alice"))
    # Then only bob's session is left
    assert [s for (s,) in rows(path, "SELECT session_scope FROM messages")] == ["user_id=bob"]


def test_deleting_by_id_scrubs_that_memorys_history(world: tuple[list[m0.Memory], Path]) -> None:
    # Given one of bob's memories
    data, path = world
    target = s3_target()
    target.mem0_history = Mem0History(str(path))
    victim = next(m for m in data if m.payload["user_id"] == "bob")
    # When it is deleted by id
    Eraser([target]).delete_memory(victim.id)
    # Then its text is gone from mem0's history, a DELETE row stands for it, and the sessions are untouched
    assert texts_of(path, [victim.id]) == []
    assert rows(path, "SELECT COUNT(*) FROM history WHERE event = 'DELETE'") == [(1,)]
    assert len(rows(path, "SELECT * FROM messages")) == 3


def test_reset_empties_mem0s_history_and_reports_it(world: tuple[list[m0.Memory], Path]) -> None:
    # Given a target with mem0's history database, reset allowed
    _, path = world
    target = s3_target()
    target.mem0_history = Mem0History(str(path))
    # When the target is reset
    result = Eraser([target], allow_reset=True).reset("s3", "s3")
    # Then the history database is empty and the result says how many rows went
    assert rows(path, "SELECT COUNT(*) FROM history") == [(0,)] and rows(path, "SELECT COUNT(*) FROM messages") == [
        (0,)
    ]
    assert [(s.store, s.deleted) for s in result.stores if s.role == "history"] == [("mem0_history", 12)]


def test_a_target_names_mem0s_history_database_in_mem0s_own_key(tmp_path: Path) -> None:
    # Given a target configuration with mem0's `history_db_path` beside its vector store
    config = {
        "name": "s3",
        "vector_store": {
            "provider": "s3_vectors",
            "config": {"vector_bucket_name": "mem0-bucket", "collection_name": "mem0"},
        },
        "history_db_path": str(tmp_path / "history.db"),
    }
    # When the target is built
    stores = build_target(Target.model_validate(config))
    # Then its mem0 history points at that file
    assert stores.mem0_history is not None and stores.mem0_history.path == config["history_db_path"]
