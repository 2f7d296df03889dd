"""Deletion history in DynamoDB, in mem0's history columns, without the erased text.

Table layout: partition key `memory_id`, sort key `id` (so one memory's rows are one Query). A DELETE event stores
`old_memory` and `new_memory` as null; erasing a memory purges its earlier rows that hold text. Writes go through
boto3's `batch_writer`, which resends unprocessed items by itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

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
TEXT_COLUMNS = ("old_memory", "new_memory")
EVENT_NAMESPACE = uuid.UUID("6f1d6b8e-6b0e-4c36-9d4f-1f3f8f0c5e21")
QUERY_THREADS = 8


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

    def record_deletions(self, memory_ids: Iterable[str]) -> int:
        """Purge text-bearing rows of these memories and write one content-free DELETE event each."""
        now = datetime.now(UTC).isoformat()
        ids = list(dict.fromkeys(memory_ids))
        try:
            with ThreadPoolExecutor(max_workers=QUERY_THREADS) as pool:
                texts = list(pool.map(self._text_rows, ids))
            with self._table.batch_writer(overwrite_by_pkeys=["memory_id", "id"]) as batch:
                for memory_id, rows in zip(ids, texts, strict=True):
                    for row_id in rows:
                        batch.delete_item(Key={"memory_id": memory_id, "id": row_id})
                    batch.put_item(Item=_delete_event(memory_id, now))
        except (ClientError, BotoCoreError) as exc:
            raise dynamo.translate(exc, "history: could not write history") from exc
        return len(ids)

    def _text_rows(self, memory_id: str) -> list[str]:
        """Ids of the rows of one memory that hold text (one Query; the resource's client is thread-safe and, like
        the resource, takes and returns plain Python values)."""
        rows = dynamo.items(
            self._table.meta.client.query,
            "history: could not write history",
            TableName=self._table.name,
            KeyConditionExpression="#m = :m",
            ProjectionExpression="#i, old_memory, new_memory",
            ExpressionAttributeNames={"#m": "memory_id", "#i": "id"},
            ExpressionAttributeValues={":m": memory_id},
        )
        return [str(row["id"]) for row in rows if any(row.get(c) is not None for c in TEXT_COLUMNS)]

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        """One memory's rows, oldest first, in mem0's columns."""
        rows = dynamo.items(
            self._table.query, "history: could not read history", KeyConditionExpression=Key("memory_id").eq(memory_id)
        )
        return sorted(
            ({c: dynamo.plain(row.get(c)) for c in COLUMNS} for row in rows), key=lambda r: r["created_at"] or ""
        )


def _delete_event(memory_id: str, now: str) -> dict[str, Any]:
    return {
        "id": delete_event_id(memory_id),
        "memory_id": memory_id,
        "old_memory": None,
        "new_memory": None,
        "event": "DELETE",
        "created_at": now,
        "updated_at": now,
        "is_deleted": 1,
        "actor_id": None,
        "role": None,
    }
