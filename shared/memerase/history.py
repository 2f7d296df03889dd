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
is retried after a jittered wait (throttling on botocore's standard schedule, which does not retry a cancelled
transaction by itself; a conflict sooner); a cancellation for any other reason is an error. "Whole or not at all"
holds per transaction: the events of a call of over 100 memories are several transactions.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
THROTTLED = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})
CONFLICT = "TransactionConflict"


@dataclass(frozen=True)
class Backoff:
    """How often a cancelled transaction is sent, and the jittered waits between: up to min(cap, base * 2**n) s."""

    attempts: int
    base: float
    cap: float

    def wait(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * 2**attempt))  # noqa: S311 - jitter, not a secret


# Throttled: botocore's standard mode, which retries a throttled BatchWriteItem but not a cancelled transaction
THROTTLE_BACKOFF = Backoff(attempts=8, base=1.0, cap=20.0)
# A concurrent transaction on one of the items (another target's work item): it ends within milliseconds
CONFLICT_BACKOFF = Backoff(attempts=6, base=0.05, cap=2.0)


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
        attempt = 0
        while True:
            try:
                self._table.meta.client.transact_write_items(TransactItems=puts)
                return
            except ClientError as exc:
                backoff = _backoff(dynamo.cancellation_reasons(exc))
                if backoff is None:
                    raise dynamo.translate(exc, "history: could not write history") from exc
                if attempt + 1 >= backoff.attempts:
                    raise RetryableStoreError("history: could not write history: TransactionCanceled") from exc
                self.pause(backoff.wait(attempt))
                attempt += 1
            except BotoCoreError as exc:
                raise dynamo.translate(exc, "history: could not write history") from exc

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        """One memory's rows, oldest first, in mem0's columns."""
        condition = dynamo.expressions(KeyConditionExpression=Key("memory_id").eq(memory_id))
        rows = dynamo.items(self._table.query, "history: could not read history", **condition)
        return sorted(
            ({c: dynamo.plain(row.get(c)) for c in COLUMNS} for row in rows), key=lambda r: r["created_at"] or ""
        )


def _backoff(reasons: set[str]) -> Backoff | None:
    """The retry schedule of a transaction cancelled only by throttling or a conflict; None for any other reason."""
    failed = reasons - {"None"}
    if not failed or not failed <= THROTTLED | {CONFLICT}:
        return None
    return THROTTLE_BACKOFF if failed & THROTTLED else CONFLICT_BACKOFF


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
