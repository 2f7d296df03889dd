"""The audit table: one content-free DELETE event per erased memory, in mem0's history columns, in DynamoDB.

Table layout: partition key `memory_id`, sort key `id` (so one memory's rows are one Query). Only memerase writes
this table, and only content-free DELETE events (`old_memory` and `new_memory` null; `actor_id` says who erased:
the API key's id, or the trigger, e.g. `sqs`, `schedule`, `cli`): an erasure writes without reading anything. The
event id is deterministic, so a repeat (a retried batch, another target's work item of the same job) is an
idempotent overwrite. mem0's own history (SQLite) is another matter: see `mem0_history`.

Writes are `TransactWriteItems` of up to 100 puts (BatchWriteItem takes 25): a quarter of the requests, and each
batch of events is written whole or not at all. The price: a transactional write consumes two write units per item
instead of one. A transaction is cancelled, not partly applied, when throttled or when a concurrent transaction
writes one of its items (two work items of one job erasing the same memory from two targets): such a cancellation
is retried after a short, jittered wait; a cancellation for any other reason is an error.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError

from memerase import dynamo
from memerase.errors import RetryableStoreError

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
TRANSACTION_ITEMS = 100  # TransactWriteItems' limit on actions (and 4 MB: 100 events are a few KB)
ATTEMPTS = 6  # of one transaction cancelled by throttling or a conflict; waits of up to 0.05 * 2**n s, jittered
TRANSIENT_CANCELLATIONS = frozenset({"None", "ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded"})


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
        self.pause = time.sleep  # between attempts of a cancelled transaction

    def record_deletions(self, memory_ids: Iterable[str], actor: str | None = None) -> int:
        """Write one content-free DELETE event per memory (no reads), with who erased it (`actor_id`: an API key's
        id or a trigger's name, never a key), 100 to a request; returns how many were written."""
        now = datetime.now(UTC).isoformat()
        ids = list(dict.fromkeys(memory_ids))
        for start in range(0, len(ids), TRANSACTION_ITEMS):
            self._write([_delete_event(memory_id, now, actor) for memory_id in ids[start : start + TRANSACTION_ITEMS]])
        return len(ids)

    def _write(self, events: Sequence[dict[str, Any]]) -> None:
        # The resource's client serialises plain Python values (the stubs type its arguments as the low-level ones)
        puts: list[Any] = [{"Put": {"TableName": self._table.name, "Item": event}} for event in events]
        for attempt in range(ATTEMPTS):
            try:
                self._table.meta.client.transact_write_items(TransactItems=puts)
                return
            except ClientError as exc:
                if not _transient_cancellation(exc):
                    raise dynamo.translate(exc, "history: could not write history") from exc
                if attempt + 1 == ATTEMPTS:
                    raise RetryableStoreError("history: could not write history: TransactionCanceled") from exc
                self.pause(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not a secret
            except BotoCoreError as exc:
                raise dynamo.translate(exc, "history: could not write history") from exc

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        """One memory's rows, oldest first, in mem0's columns."""
        rows = dynamo.items(
            self._table.query, "history: could not read history", KeyConditionExpression=Key("memory_id").eq(memory_id)
        )
        return sorted(
            ({c: dynamo.plain(row.get(c)) for c in COLUMNS} for row in rows), key=lambda r: r["created_at"] or ""
        )


def _transient_cancellation(exc: ClientError) -> bool:
    """A transaction cancelled only because it was throttled or met a concurrent one (its other items say None)."""
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    codes = {str(reason.get("Code")) for reason in exc.response.get("CancellationReasons", [])}
    return bool(codes) and codes <= TRANSIENT_CANCELLATIONS and codes != {"None"}


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
