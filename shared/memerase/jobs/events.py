"""Lifecycle events on EventBridge: source `memerase`, detail types `ErasureCompleted` / `ErasureFailed` /
`ErasureCancelled`."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from memerase.errors import RetryableStoreError

SOURCE = "memerase"
COMPLETED = "ErasureCompleted"
FAILED = "ErasureFailed"
CANCELLED = "ErasureCancelled"  # whoever else waits on the job (a reused request, a queue, a schedule) learns of it


class EventPublisher:
    def __init__(self, bus_name: str = "default", region_name: str | None = None, client: Any = None):
        self._bus = bus_name
        self._client = client or boto3.client(
            "events", region_name=region_name, config=Config(retries={"mode": "standard", "max_attempts": 5})
        )

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry = {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": self._bus}
        try:
            response = self._client.put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as exc:
            raise RetryableStoreError(f"EventBridge put_events failed: {type(exc).__name__}") from exc
        if response.get("FailedEntryCount"):
            raise RetryableStoreError("EventBridge refused the event")
