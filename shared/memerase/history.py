"""The audit table: one content-free DELETE event per erased memory, in mem0's history columns, in DynamoDB.

Table layout: partition key `memory_id`, sort key `id` (so one memory's rows are one Query). Only memerase writes
this table, and only content-free DELETE events (`old_memory` and `new_memory` null; `actor_id` says who erased:
the API key's id, or the trigger, e.g. `sqs`, `schedule`, `cli`): an erasure writes without reading anything. The
event id is deterministic, so a repeat (a retried batch, another target's work item of the same job) is an
idempotent overwrite. Writes go through boto3's `batch_writer` (25 items a request), which resends unprocessed items
by itself. mem0's own history (SQLite) is another matter: see `mem0_history`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError

from memerase import dynamo

COLUMNS = (
    "id",
    "memory_id",
    "old_memory",
    "new_memory",
    "event",
    "created_at",
    "updated_at",
    "is_deleted",
    "actor_id",
    "role",
)
EVENT_NAMESPACE = uuid.UUID("6f1d6b8e-6b0e-4c36-9d4f-1f3f8f0c5e21")


class DeletionLog(Protocol):
    """Where erasures record their content-free DELETE events."""

    def record_deletions(self, memory_ids: Iterable[str], actor: str | None = None) -> int: ...


def delete_event_id(memory_id: str) -> str:
    """Deterministic, so a retried or repeated erasure writes the same row instead of a second one."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{memory_id}:DELETE"))


def table_schema(table_name: str) -> dict[str, Any]:
    """CreateTable arguments (the SAM template declares the same)."""
    return dynamo.table_schema(table_name, "memory_id", "id")


class HistoryStore:
    def __init__(self, table_name: str, region_name: str | None = None, resource: Any = None):
        dynamodb = resource or boto3.resource("dynamodb", region_name=region_name, config=dynamo.CLIENT_CONFIG)
        self._table = dynamodb.Table(table_name)

    def record_deletions(self, memory_ids: Iterable[str], actor: str | None = None) -> int:
        """Write one content-free DELETE event per memory (no reads), with who erased it (`actor_id`: an API key's
        id or a trigger's name, never a key); returns how many were written."""
        now = datetime.now(UTC).isoformat()
        ids = list(dict.fromkeys(memory_ids))
        try:
            with self._table.batch_writer(overwrite_by_pkeys=["memory_id", "id"]) as batch:
                for memory_id in ids:
                    batch.put_item(Item=_delete_event(memory_id, now, actor))
        except (ClientError, BotoCoreError) as exc:
            raise dynamo.translate(exc, "history: could not write history") from exc
        return len(ids)

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        """One memory's rows, oldest first, in mem0's columns."""
        rows = dynamo.items(
            self._table.query, "history: could not read history", KeyConditionExpression=Key("memory_id").eq(memory_id)
        )
        return sorted(
            ({c: dynamo.plain(row.get(c)) for c in COLUMNS} for row in rows), key=lambda r: r["created_at"] or ""
        )


def _delete_event(memory_id: str, now: str, actor: str | None) -> dict[str, Any]:
    return {
        "id": delete_event_id(memory_id),
        "memory_id": memory_id,
        "old_memory": None,
        "new_memory": None,
        "event": "DELETE",
        "created_at": now,
        "updated_at": now,
        "is_deleted": 1,
        "actor_id": actor,
        "role": None,
    }


class OncePerMemory:
    """The audit table as one inline erasure writes it: each memory's event once, however many targets hold it."""

    def __init__(self, history: HistoryStore):
        self._history = history
        self._written: set[str] = set()

    @property
    def written(self) -> int:
        return len(self._written)

    def record_deletions(self, memory_ids: Iterable[str], actor: str | None = None) -> int:
        fresh = [m for m in dict.fromkeys(memory_ids) if m not in self._written]
        if fresh:
            self._history.record_deletions(fresh, actor)
            self._written.update(fresh)
        return len(fresh)
