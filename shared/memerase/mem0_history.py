"""mem0's own SQLite history database (`history_db_path`): scrub erased text and raw chat, in place.

mem0ai 2.2.1 (`mem0/memory/storage.py`, `SQLiteManager`) keeps two tables in that file:
`history(id, memory_id, old_memory, new_memory, event, created_at, updated_at, is_deleted, actor_id, role)`, whose
rows carry the memory text (a DELETE keeps it in `old_memory`), and `messages(id, session_scope, role, content, name,
created_at)`, the last raw conversation messages of every session scope (`_build_session_scope` in `memory/main.py`).

Decisions:
- A missing file, or a file that is not an SQLite database, is a ConfigError: the target names a history database,
  and silently skipping it would leave the text behind. A missing table is a no-op (0): nothing of mem0 is in it,
  and this module never creates tables.
- The journal mode is whatever the file has (mem0 sets none, so SQLite's default rollback journal, `delete`); it is
  never switched to WAL, which is unsafe on a network file system (EFS/NFS).
- `secure_delete` is on for this connection, so the freed space of rewritten or deleted rows is zeroed in the file:
  the erased text is gone from the bytes of the database, not only from its queries. Stale copies that mem0's own
  writes left in free space (only on an SQLite built without SQLITE_SECURE_DELETE) go with `vacuum()`.
- An erased memory's rows keep only mem0's bookkeeping (`id, memory_id, event, created_at, updated_at,
  is_deleted`); every other column is nulled: the text (`old_memory`, `new_memory`) and who said it (`actor_id`, the
  message's `name`, and its `role`), and any column an older mem0 layout had beyond those (mem0ai 1.0.11 and 2.2.1
  create the same `history` table; `_migrate_history_table` rebuilds older ones into it).
- Every write runs in one `BEGIN IMMEDIATE` transaction; `database is locked` is waited for (busy timeout), retried
  a bounded number of times with backoff, then raised as RetryableStoreError with nothing changed.
"""

from __future__ import annotations

import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from memerase.errors import ConfigError, InvalidRequest, RetryableStoreError, StoreError
from memerase.mem0_session_scope import (
    SCOPE_KEYS,
    build_session_scope,
    escape_scope_value,
    parse_session_scope,
    scope_matches,
)

__all__ = ["Mem0History", "Mem0HistoryDb", "build_session_scope", "delete_row_id", "parse_session_scope"]

T = TypeVar("T")

BOOKKEEPING = frozenset({"id", "memory_id", "event", "created_at", "updated_at", "is_deleted"})  # all else: nulled
DELETE_ROW_NAMESPACE = uuid.UUID("0b6f4a8e-2f4d-5c1e-9a53-7d0c6e2b1f94")
CHUNK = 500  # bound parameters per statement, well under SQLite's limit (999 before 3.32)
_BUSY_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def delete_row_id(memory_id: str) -> str:
    """The id of the DELETE row memerase adds for a memory: deterministic, so a repeat adds nothing."""
    return str(uuid.uuid5(DELETE_ROW_NAMESPACE, memory_id))


def _utc(timestamp: str | None) -> str | None:
    """mem0 2.2.1's `_normalize_iso_timestamp_to_utc`."""
    if not timestamp:
        return timestamp
    try:
        parsed = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    return timestamp if parsed.tzinfo is None else parsed.astimezone(UTC).isoformat()


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _check_filters(filters: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(filters) - set(SCOPE_KEYS))
    if unknown:
        raise InvalidRequest(f"Unknown session scope key(s): {', '.join(unknown)}; allowed: {', '.join(SCOPE_KEYS)}")
    checked = {key: value for key, value in filters.items() if value is not None}
    if not checked:
        raise InvalidRequest("At least one of user_id, agent_id, run_id is required to erase mem0's messages")
    if any(not isinstance(value, str) or not value for value in checked.values()):
        raise InvalidRequest("user_id, agent_id and run_id must be non-empty strings")
    return checked


class Mem0HistoryDb:
    """One mem0 history database file. Not thread-safe: one instance per thread (or per Lambda invocation)."""

    def __init__(self, path: str, busy_timeout_ms: int = 30_000, *, attempts: int = 4, backoff_s: float = 0.2) -> None:
        if busy_timeout_ms < 0 or attempts < 1:
            raise ConfigError("busy_timeout_ms must be >= 0 and attempts >= 1")
        if not Path(path).is_file():
            raise ConfigError("mem0 history database (history_db_path) not found or not a file")
        self._attempts = attempts
        self._backoff_s = backoff_s
        uri = Path(path).absolute().as_uri() + "?mode=rw"
        self._conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout_ms / 1000, isolation_level=None)
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self._conn.execute("PRAGMA secure_delete = ON")
            self._tables = self._retry(self._read_tables)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            if _is_busy(exc):
                raise RetryableStoreError("mem0 history database is locked") from None
            raise ConfigError("mem0 history database (history_db_path) is not a readable SQLite database") from None

    @property
    def journal_mode(self) -> str:
        """The file's journal mode, as mem0 left it (never changed here)."""
        return str(self._conn.execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Mem0HistoryDb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def erase_memories(self, memory_ids: Sequence[str]) -> int:
        """Null the text and the speaker (every column but mem0's bookkeeping) of every history row of these
        memories, and add mem0's DELETE row for each.

        Returns the number of DELETE rows added (0 for ids already erased by an earlier call).
        """
        ids = list(dict.fromkeys(memory_ids))
        if any(not isinstance(memory_id, str) or not memory_id for memory_id in ids):
            raise InvalidRequest("memory ids must be non-empty strings")
        if not ids or "history" not in self._tables:
            return 0
        return self._write(lambda cur: self._erase_memories(cur, ids))

    def erase_messages(self, filters: Mapping[str, str]) -> int:
        """Delete the `messages` rows of every session scope inside `filters`. Returns the rows deleted."""
        checked = _check_filters(filters)
        if "messages" not in self._tables:
            return 0
        return self._write(lambda cur: self._erase_messages(cur, checked))

    def reset(self) -> int:
        """Empty `history` and `messages`, as mem0's `reset` leaves them (it drops both and recreates them empty).

        The tables and their schema stay; returns the rows removed.
        """
        return self._write(self._reset)

    def vacuum(self) -> None:
        """Rebuild the file (SQLite `VACUUM`): removes stale copies of rows that writes made without secure_delete
        (mem0's own, on an SQLite built without SQLITE_SECURE_DELETE) left in free space. Rewrites the whole file
        under an exclusive lock: for after a reset or a large erasure, not for every batch."""
        try:
            self._retry(lambda: self._conn.execute("VACUUM"))
        except sqlite3.Error as exc:
            raise StoreError(f"mem0 history database: {exc}") from None

    # -- the work inside one transaction ----------------------------------------------------------------------

    @staticmethod
    def _erase_memories(cur: sqlite3.Cursor, ids: list[str]) -> int:
        created: dict[str, str | None] = {}
        personal = [_quoted(column) for column in _columns(cur, "history") if column not in BOOKKEEPING]
        nulled = ", ".join(f"{column} = NULL" for column in personal)
        left = " OR ".join(f"{column} IS NOT NULL" for column in personal)
        for chunk in _chunks(ids):
            # Only "?" placeholders and the file's own column names are formatted into the SQL; ids are parameters.
            marks = _marks(len(chunk))
            select = f"SELECT memory_id, MIN(created_at) FROM history WHERE memory_id IN ({marks})"  # nosec B608
            rows = cur.execute(select + " GROUP BY memory_id", chunk).fetchall()
            created.update((row[0], row[1]) for row in rows)
            if personal:
                scrub = f"UPDATE history SET {nulled} WHERE memory_id IN ({marks}) AND ({left})"  # nosec B608
                cur.execute(scrub, chunk)
        now = datetime.now(UTC).isoformat()
        added = 0
        for memory_id in ids:
            cur.execute(
                "INSERT OR IGNORE INTO history (id, memory_id, old_memory, new_memory, event, created_at, updated_at,"
                " is_deleted, actor_id, role) VALUES (?, ?, NULL, NULL, 'DELETE', ?, ?, 1, NULL, NULL)",
                (delete_row_id(memory_id), memory_id, _utc(_text(created.get(memory_id))), now),
            )
            added += cur.rowcount
        return added

    @staticmethod
    def _erase_messages(cur: sqlite3.Cursor, filters: dict[str, str]) -> int:
        # `instr` narrows the candidates by plain substring (no pattern); the exact decision is the parser's.
        needles = [f"{key}={escape_scope_value(value)}" for key, value in sorted(filters.items())]
        where = " AND ".join("instr(session_scope, ?) > 0" for _ in needles)  # fixed text; values are parameters
        rows = cur.execute(f"SELECT rowid, session_scope FROM messages WHERE {where}", needles).fetchall()  # nosec B608
        doomed = [rowid for rowid, scope in rows if isinstance(scope, str) and scope_matches(scope, filters)]
        for chunk in _chunks(doomed):
            cur.execute(f"DELETE FROM messages WHERE rowid IN ({_marks(len(chunk))})", chunk)  # nosec B608
        return len(doomed)

    def _reset(self, cur: sqlite3.Cursor) -> int:
        removed = 0
        for table in ("history", "messages"):
            if table in self._tables:  # one of the two literal names above, never input
                removed += cur.execute(f"DELETE FROM {table}").rowcount  # nosec B608
        return removed

    # -- transactions, locks and retries ----------------------------------------------------------------------

    def _read_tables(self) -> set[str]:
        rows = self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {row[0] for row in rows} & {"history", "messages"}

    def _write(self, work: Callable[[sqlite3.Cursor], int]) -> int:
        def once() -> int:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                result = work(cur)
                cur.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            return result

        try:
            return self._retry(once)
        except sqlite3.Error as exc:
            raise StoreError(f"mem0 history database: {exc}") from None

    def _retry(self, action: Callable[[], T]) -> T:
        for attempt in range(1, self._attempts + 1):
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if attempt == self._attempts:
                    raise RetryableStoreError(
                        f"mem0 history database is locked (gave up after {attempt} attempts); nothing was changed"
                    ) from None
                time.sleep(self._backoff_s * 2 ** (attempt - 1) * (0.5 + random.random() / 2))
        raise AssertionError("unreachable")


def _is_busy(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in _BUSY_CODES or "locked" in str(exc)


def _columns(cur: sqlite3.Cursor, table: str) -> list[str]:
    """The columns of one of mem0's tables, as the file has them."""
    return [str(row[1]) for row in cur.execute(f"PRAGMA table_info({table})").fetchall()]  # a literal table name


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class Mem0History:
    """mem0's history database by its path, opened for each piece of work (a connection belongs to one thread, and a
    Lambda container may live long; nothing is held open between calls)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def erase_memories(self, memory_ids: Sequence[str]) -> int:
        with Mem0HistoryDb(self.path) as db:
            return db.erase_memories(memory_ids)

    def erase_messages(self, filters: Mapping[str, str]) -> int:
        with Mem0HistoryDb(self.path) as db:
            return db.erase_messages(filters)

    def reset(self) -> int:
        with Mem0HistoryDb(self.path) as db:
            removed = db.reset()
            db.vacuum()  # no stale copy of a removed row stays in the file's free space
            return removed
