"""mem0's own SQLite history database, written by mem0ai 2.2.1's own `SQLiteManager`, scrubbed by Mem0HistoryDb."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mem0.memory.main import _build_session_scope
from mem0.memory.storage import SQLiteManager

from memerase.errors import ConfigError, InvalidRequest, RetryableStoreError
from memerase.mem0_history import Mem0HistoryDb, delete_row_id, parse_session_scope
from tests.support.mem0_memory import add_said_by, mem0_memory, update
from tests.support.s3vectors_limits import S3VectorsLimits

TEXTS = {
    "m-alice-1": ["alice likes tea", "alice likes green tea"],
    "m-alice-2": ["alice lives in Paris"],
    "m-bob-1": ["bob plays chess"],
    "m-carol-1": ["carol \u00fcn\u00efcode \u732b"],
}
SESSIONS: list[dict[str, str]] = [
    {"user_id": "a"},
    {"user_id": "a&b"},
    {"user_id": "a", "agent_id": "x=y"},
    {"user_id": "a", "agent_id": "bot"},
    {"user_id": "a", "agent_id": "bot", "run_id": "r1"},
    {"user_id": "a", "run_id": "r1"},
    {"user_id": "100%"},
    {"user_id": "%26"},
    {"user_id": "&"},
    {"agent_id": "bot"},
    {"agent_id": "bot", "run_id": "r1"},
    {"run_id": "r1"},
    {"user_id": "\u00fc\u732b"},
    {"user_id": "b", "run_id": "a"},
    {"user_id": "user_id=a"},
    {"user_id": "a&b", "agent_id": "bot"},
]
MALFORMED = [
    "user_id=a&user_id=a",
    "user_id=a&",
    "&user_id=a",
    "user_id=a%2",
    "user_id=a%3d",
    "user_id=a&foo=1",
    "user_id=a&agent_id=bot",  # not in mem0's sorted order
    "USER_ID=a",
    "user_id==a",
    "user_id=",
    "user_id",
    "",
]


def write_with_mem0(path: Path) -> None:
    """ADD/UPDATE/DELETE history of several memories and users, and sessions of many scopes, by mem0's own code."""
    db = SQLiteManager(str(path))
    created = "2026-01-02T03:04:05.123456-08:00"
    for memory_id, texts in TEXTS.items():
        db.add_history(memory_id, None, texts[0], "ADD", created_at=created, updated_at=created, actor_id="al")
        for old, new in zip(texts, texts[1:], strict=False):
            db.add_history(memory_id, old, new, "UPDATE", created_at=created, updated_at="2026-01-03T00:00:00+00:00")
    db.add_history("m-bob-1", TEXTS["m-bob-1"][0], None, "DELETE", created_at=created, is_deleted=1)
    for n, filters in enumerate(SESSIONS):
        chat = [{"role": "user", "content": f"chat {n} of {filters}"}, {"role": "assistant", "content": f"ok {n}"}]
        db.save_messages(chat, _build_session_scope(filters))
    db.connection.executemany(
        "INSERT INTO messages (id, session_scope, role, content, name, created_at) VALUES (?, ?, 'user', ?, NULL, 'x')",
        [(f"bad-{n}", scope, f"malformed {n}") for n, scope in enumerate(MALFORMED)],
    )
    db.connection.commit()
    db.close()


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT rowid, * FROM {t} ORDER BY rowid").fetchall() for t in ("history", "messages")}
    finally:
        conn.close()


def scopes_left(path: Path) -> list[str]:
    return [row[2] for row in dump(path)["messages"]]


@pytest.fixture
def mem0_db(tmp_path: Path) -> Path:
    path = tmp_path / "history.db"
    write_with_mem0(path)
    return path


@pytest.fixture
def history(mem0_db: Path) -> Iterator[Mem0HistoryDb]:
    with Mem0HistoryDb(str(mem0_db), busy_timeout_ms=2_000) as db:
        yield db


def test_erased_memories_lose_all_text_and_get_one_mem0_delete_row_each(mem0_db: Path, history: Mem0HistoryDb) -> None:
    # Given mem0's history of four memories
    before = dump(mem0_db)
    # When two of them are erased
    added = history.erase_memories(["m-alice-1", "m-bob-1"])
    # Then their rows carry no text, each got one DELETE row, and every other row is byte for byte what it was
    after = dump(mem0_db)
    assert added == 2
    erased = [r for r in after["history"] if r[2] in {"m-alice-1", "m-bob-1"}]
    assert all(r[3] is None and r[4] is None for r in erased)
    ours = [r for r in after["history"] if r[1] in {delete_row_id("m-alice-1"), delete_row_id("m-bob-1")}]
    assert sorted(r[2] for r in ours) == ["m-alice-1", "m-bob-1"]
    assert [r for r in after["history"] if r[2] not in {"m-alice-1", "m-bob-1"}] == [
        r for r in before["history"] if r[2] not in {"m-alice-1", "m-bob-1"}
    ]
    assert [r[1:] for r in erased if r not in ours] == [
        (*r[1:3], None, None, *r[5:9], None, None) for r in before["history"] if r[2] in {"m-alice-1", "m-bob-1"}
    ]
    assert after["messages"] == before["messages"]


def test_erased_memories_keep_no_speaker_in_the_file_after_vacuum(s3_limits: S3VectorsLimits, tmp_path: Path) -> None:
    """Before the fix the rows kept `actor_id` "Alice Smith" (and `role`): the file still named the speaker."""
    # Given alice's memories added, updated and deleted through mem0's own Memory paths, from messages carrying her
    # name, and bob's beside them
    path = tmp_path / "history.db"
    memory = mem0_memory(str(path))
    moved = add_said_by(memory, "I live in Lyon", "Alice Smith", user_id="alice")
    update(memory, moved, "I live in Paris")
    gone = add_said_by(memory, "I have a cat", "Alice Smith", user_id="alice")
    memory._delete_memory(gone)
    kept = add_said_by(memory, "I play chess", "Bob Jones", user_id="bob")
    memory.db.close()
    before = dump(path)["history"]
    assert {(r[5], r[9], r[10]) for r in before if r[2] in {moved, gone}} == {
        (event, "Alice Smith", "user") for event in ("ADD", "UPDATE", "DELETE")
    }
    # When alice's two memories are erased from mem0's history and the file is vacuumed
    with Mem0HistoryDb(str(path)) as history:
        history.erase_memories([moved, gone])
        history.vacuum()
    # Then their rows keep only mem0's bookkeeping, her name is nowhere in the file's bytes, and bob's rows are intact
    after = dump(path)["history"]
    assert all(r[3:5] == (None, None) and r[9:] == (None, None) for r in after if r[2] in {moved, gone})
    raw = path.read_bytes()
    assert b"Alice Smith" not in raw and b"Lyon" not in raw and b"Paris" not in raw and b"cat" not in raw
    assert b"Bob Jones" in raw and [r for r in after if r[2] == kept] == [r for r in before if r[2] == kept]


def test_delete_row_has_mem0s_shape(mem0_db: Path, history: Mem0HistoryDb) -> None:
    # Given a memory mem0 created at a timestamp with an offset
    # When it is erased
    history.erase_memories(["m-carol-1"])
    # Then the new row reads like mem0 2.2.1's own DELETE: no text, created_at in UTC, updated_at now, no actor/role
    rows = SQLiteManager(str(mem0_db)).get_history("m-carol-1")
    delete = [r for r in rows if r["event"] == "DELETE"]
    assert len(delete) == 1
    row = delete[0]
    assert row["id"] == delete_row_id("m-carol-1")
    assert (row["old_memory"], row["new_memory"], row["is_deleted"]) == (None, None, True)
    assert (row["actor_id"], row["role"]) == (None, None)
    assert row["created_at"] == "2026-01-02T11:04:05.123456+00:00"
    assert datetime.fromisoformat(row["updated_at"]).utcoffset() is not None


def test_repeat_erasure_adds_nothing_and_changes_nothing(mem0_db: Path, history: Mem0HistoryDb) -> None:
    # Given memories erased once
    history.erase_memories(["m-alice-1", "m-alice-2"])
    once = dump(mem0_db)
    # When the same erasure runs again
    added = history.erase_memories(["m-alice-2", "m-alice-1", "m-alice-1"])
    # Then no row is added or changed
    assert added == 0
    assert dump(mem0_db) == once


def start_connections_without_secure_delete(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on connections start with secure_delete off, as in SQLite builds without SQLITE_SECURE_DELETE."""
    connect = sqlite3.connect

    def insecure(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.execute("PRAGMA secure_delete = OFF")
        return conn

    monkeypatch.setattr(sqlite3, "connect", insecure)


def test_erased_text_is_gone_from_the_file_bytes(mem0_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the text of memories and of a session in the database file, on an SQLite that keeps freed bytes
    memory_text = TEXTS["m-carol-1"][0].encode()
    chat_text = f"chat 0 of {SESSIONS[0]}".encode()
    assert memory_text in mem0_db.read_bytes() and chat_text in mem0_db.read_bytes()
    start_connections_without_secure_delete(monkeypatch)
    # When the memory and the session's scope are erased
    with Mem0HistoryDb(str(mem0_db)) as history:
        history.erase_memories(["m-carol-1"])
        history.erase_messages(SESSIONS[0])
    # Then their bytes are nowhere in the file (secure_delete zeroes the freed space), other text still is
    raw = mem0_db.read_bytes()
    assert memory_text not in raw and chat_text not in raw
    assert TEXTS["m-alice-2"][0].encode() in raw


def test_vacuum_removes_copies_mem0s_own_writes_left_in_free_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a database mem0 wrote on an SQLite without secure_delete: page splits leave stale copies of rows
    start_connections_without_secure_delete(monkeypatch)
    path = tmp_path / "insecure.db"
    write_with_mem0(path)
    memory_text = TEXTS["m-carol-1"][0].encode()
    with Mem0HistoryDb(str(path)) as history:
        history.erase_memories(["m-carol-1"])
        history.erase_messages(SESSIONS[0])
        # When the file is vacuumed after the erasure
        history.vacuum()
    # Then no copy of the erased text is left, and the rows are what the erasure left
    raw = path.read_bytes()
    assert memory_text not in raw and f"chat 0 of {SESSIONS[0]}".encode() not in raw
    assert TEXTS["m-alice-2"][0].encode() in raw


def test_erasing_more_ids_than_sqlites_variable_limit_works_in_one_call(
    mem0_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an SQLite that allows 999 bound variables per statement (the limit before 3.32), and 2,500 ids to erase
    connect = sqlite3.connect

    def limited(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        return conn

    monkeypatch.setattr(sqlite3, "connect", limited)
    ids = [f"m-unknown-{n}" for n in range(2_498)] + ["m-alice-2", "m-bob-1"]
    # When they are erased together
    with Mem0HistoryDb(str(mem0_db)) as history:
        added = history.erase_memories(ids)
    # Then every id gets its DELETE row and the known ones lose their text
    assert added == 2_500
    rows = dump(mem0_db)["history"]
    assert all(r[3] is None and r[4] is None for r in rows if r[2] in {"m-alice-2", "m-bob-1"})
    assert sum(1 for r in rows if r[5] == "DELETE") == 2_501  # plus mem0's own DELETE of m-bob-1


@pytest.mark.parametrize(
    ("filters", "erased"),
    [
        ({"user_id": "a"}, [0, 2, 3, 4, 5]),
        ({"user_id": "a", "agent_id": "bot"}, [3, 4]),
        ({"agent_id": "bot"}, [3, 4, 9, 10, 15]),
        ({"run_id": "r1"}, [4, 5, 10, 11]),
        ({"user_id": "a", "agent_id": "bot", "run_id": "r1"}, [4]),
        ({"user_id": "a&b"}, [1, 15]),
        ({"agent_id": "x=y"}, [2]),
        ({"user_id": "100%"}, [6]),
        ({"user_id": "%26"}, [7]),
        ({"user_id": "&"}, [8]),
        ({"user_id": "\u00fc\u732b"}, [12]),
        ({"run_id": "a"}, [13]),
        ({"user_id": "user_id=a"}, [14]),
        ({"user_id": "b"}, [13]),
        ({"user_id": "ghost"}, []),
    ],
)
def test_messages_of_exactly_the_erased_scope_go(
    mem0_db: Path, history: Mem0HistoryDb, filters: dict[str, str], erased: list[int]
) -> None:
    # Given sessions of many scopes written by mem0, values needing mem0's escaping among them, and malformed scopes
    before = dump(mem0_db)["messages"]
    gone = {_build_session_scope(SESSIONS[n]) for n in erased}
    # When the messages of one scope are erased
    deleted = history.erase_messages(filters)
    # Then exactly the sessions inside that scope are gone, and every other row is byte for byte what it was
    assert dump(mem0_db)["messages"] == [r for r in before if r[2] not in gone]
    assert deleted == 2 * len(erased)


def test_malformed_scope_strings_are_never_matched() -> None:
    # Given scope strings mem0 could not have built
    # When they are parsed
    parsed = [parse_session_scope(scope) for scope in MALFORMED]
    # Then none of them is understood as a scope
    assert parsed == [None] * len(MALFORMED)


def test_malformed_scopes_survive_erasures_that_look_like_them(mem0_db: Path, history: Mem0HistoryDb) -> None:
    # Given malformed session scopes beside mem0's
    # When the scopes they resemble are erased
    for filters in ({"user_id": "a"}, {"agent_id": "bot"}, {"user_id": "a", "agent_id": "bot"}):
        history.erase_messages(filters)
    # Then every malformed one is still there
    assert set(MALFORMED) <= set(scopes_left(mem0_db))


@pytest.mark.parametrize(
    "filters", [{}, {"actor_id": "a"}, {"user_id": ""}, {"user_id": "a", "memory_id": "x"}, {"user_id": None}]
)
def test_filters_mem0_could_not_scope_a_session_by_are_refused(
    mem0_db: Path, history: Mem0HistoryDb, filters: dict[str, Any]
) -> None:
    # Given mem0's sessions
    before = dump(mem0_db)
    # When messages are erased with no usable filter
    with pytest.raises(InvalidRequest):
        history.erase_messages(filters)
    # Then nothing changed
    assert dump(mem0_db) == before


VALUE = st.text(alphabet=st.sampled_from(list("ab%&=23D\u00fc")), min_size=1, max_size=6)
SCOPE = st.dictionaries(st.sampled_from(["user_id", "agent_id", "run_id"]), VALUE, min_size=1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scopes=st.lists(SCOPE, min_size=1, max_size=12), pick=st.data())
def test_property_erase_messages_removes_exactly_the_sessions_inside_the_filters(
    tmp_path: Path, scopes: list[dict[str, str]], pick: st.DataObject
) -> None:
    # Given sessions of random scopes written by mem0, and a filter (often a subset of one stored scope)
    path = tmp_path / f"prop-{time.monotonic_ns()}.db"
    db = SQLiteManager(str(path))
    for n, scope in enumerate(scopes):
        db.save_messages([{"role": "user", "content": f"chat {n}"}], _build_session_scope(scope))
    db.close()
    base = pick.draw(st.sampled_from(scopes))
    filters = pick.draw(st.one_of(SCOPE, st.just(base), st.dictionaries(st.sampled_from(sorted(base)), VALUE)))
    filters = filters or base
    before = dump(path)["messages"]
    # When the messages of that filter are erased
    with Mem0HistoryDb(str(path)) as history:
        history.erase_messages(filters)
    # Then a session went exactly when all the filter's pairs are in its scope, and mem0's strings parse back
    inside = {_build_session_scope(s) for s in scopes if filters.items() <= s.items()}
    assert dump(path)["messages"] == [r for r in before if r[2] not in inside]
    assert all(parse_session_scope(_build_session_scope(s)) == s for s in scopes)


def hold_write_lock(path: Path, seconds: float) -> tuple[threading.Thread, threading.Event]:
    """Another connection takes the write lock, holds it `seconds` (or until released), then rolls back."""
    locked, release = threading.Event(), threading.Event()

    def run() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE messages SET content = content")
        locked.set()
        release.wait(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=run)
    thread.start()
    locked.wait(5)
    return thread, release


def test_a_briefly_held_lock_is_waited_for(mem0_db: Path) -> None:
    # Given another connection holding the write lock for 0.3 s
    history = Mem0HistoryDb(str(mem0_db), busy_timeout_ms=5_000)
    thread, _ = hold_write_lock(mem0_db, 0.3)
    # When an erasure runs meanwhile
    added = history.erase_memories(["m-alice-2"])
    thread.join()
    # Then it waited and did its work
    assert added == 1
    assert all(r[3] is None and r[4] is None for r in dump(mem0_db)["history"] if r[2] == "m-alice-2")


def test_a_lock_held_longer_than_the_busy_timeout_is_retried_with_backoff(mem0_db: Path) -> None:
    # Given another connection holding the write lock for 0.3 s, longer than the 20 ms busy timeout
    history = Mem0HistoryDb(str(mem0_db), busy_timeout_ms=20, attempts=10, backoff_s=0.05)
    thread, _ = hold_write_lock(mem0_db, 0.3)
    # When an erasure runs meanwhile
    deleted = history.erase_messages({"user_id": "a"})
    thread.join()
    # Then a later attempt got through and did its work
    assert deleted == 10
    assert "user_id=a" not in scopes_left(mem0_db)


def test_a_lock_held_too_long_raises_retryable_with_nothing_changed(mem0_db: Path) -> None:
    # Given another connection holding the write lock longer than the busy timeout and every retry
    before = dump(mem0_db)
    history = Mem0HistoryDb(str(mem0_db), busy_timeout_ms=50, attempts=3, backoff_s=0.01)
    thread, release = hold_write_lock(mem0_db, 30)
    # When an erasure runs
    try:
        with pytest.raises(RetryableStoreError):
            history.erase_memories(["m-alice-1", "m-alice-2"])
        with pytest.raises(RetryableStoreError):
            history.erase_messages({"user_id": "a"})
    finally:
        release.set()
        thread.join()
    # Then it gave up without touching a row, and works once the lock is gone
    assert dump(mem0_db) == before
    assert history.erase_memories(["m-alice-1"]) == 1


def test_reset_leaves_the_file_as_mem0s_reset_does(mem0_db: Path, tmp_path: Path) -> None:
    # Given two copies of the same mem0 database
    theirs = tmp_path / "theirs.db"
    shutil.copy(mem0_db, theirs)
    rows = sum(len(t) for t in dump(mem0_db).values())
    # When mem0's Memory.reset sequence (reset, close, new SQLiteManager) runs on one and ours on the other
    manager = SQLiteManager(str(theirs))
    manager.reset()
    manager.close()
    SQLiteManager(str(theirs)).close()
    with Mem0HistoryDb(str(mem0_db)) as history:
        removed = history.reset()
    # Then both hold the same, empty, tables with the same schema, and ours counted what it removed
    assert removed == rows
    assert dump(mem0_db) == dump(theirs) == {"history": [], "messages": []}
    schema = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    assert sqlite3.connect(mem0_db).execute(schema).fetchall() == sqlite3.connect(theirs).execute(schema).fetchall()


def test_a_missing_file_is_a_config_error_and_is_not_created(tmp_path: Path) -> None:
    # Given no file at the configured path
    path = tmp_path / "nowhere.db"
    # When the history database is opened
    with pytest.raises(ConfigError):
        Mem0HistoryDb(str(path))
    # Then the error is a configuration error and no file appeared
    assert not path.exists()


def test_a_file_that_is_not_sqlite_is_a_config_error(tmp_path: Path) -> None:
    # Given a file that is not a database
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just some words " * 100)
    # When it is opened as mem0's history database
    # Then it is refused as a configuration error
    with pytest.raises(ConfigError):
        Mem0HistoryDb(str(path))


def test_missing_tables_are_a_no_op_and_never_created(tmp_path: Path) -> None:
    # Given an SQLite file with a history table but no messages table (as older mem0 versions left it)
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE history (id TEXT PRIMARY KEY, memory_id TEXT, old_memory TEXT, new_memory TEXT,"
        " event TEXT, created_at DATETIME, updated_at DATETIME, is_deleted INTEGER, actor_id TEXT, role TEXT)"
    )
    conn.commit()
    conn.close()
    # When messages are erased and the database reset
    with Mem0HistoryDb(str(path)) as history:
        deleted = history.erase_messages({"user_id": "a"})
        removed = history.reset()
    # Then nothing was done and no table was created
    assert (deleted, removed) == (0, 0)
    tables = sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("history",), ("sqlite_autoindex_history_1",)]


def test_the_journal_mode_mem0_leaves_is_kept(mem0_db: Path, history: Mem0HistoryDb) -> None:
    # Given a database written by mem0 (which sets no journal mode)
    # When it is erased from
    history.erase_memories(["m-alice-1"])
    history.erase_messages({"user_id": "a"})
    # Then it is still in SQLite's default rollback journal mode, never WAL
    assert history.journal_mode == "delete"
    assert sqlite3.connect(mem0_db).execute("PRAGMA journal_mode").fetchone()[0] == "delete"
