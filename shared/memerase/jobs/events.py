"""Lifecycle events on EventBridge: source `memerase`, detail types `ErasureCompleted` / `ErasureFailed` /
`ErasureCancelled`."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from memerase.errors import RetryableStoreError
from memerase.jobs.models import JobRecord, JobStatus

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


def detail_type(status: JobStatus) -> str:
    """The event of a job's end."""
    return {JobStatus.COMPLETED: COMPLETED, JobStatus.FAILED: FAILED, JobStatus.CANCELLED: CANCELLED}[status]


def lifecycle_event(job: JobRecord) -> dict[str, Any]:
    """A lifecycle event's detail: ids and counts only."""
    return {
        "job_id": job.job_id,
        "status": job.status.value,
        "scope_hash": job.scope_hash,
        "policy": job.policy,
        "criteria": job.criteria.model_dump(mode="json", exclude_none=True) if job.criteria else None,
        "erased": job.memories_erased,
        "memories_erased": job.memories_erased,
        "records_erased": job.records_erased,
        "in_doubt": job.in_doubt,
        "receipt_digest": job.receipt.digest if job.receipt else None,
        "error": job.error.error if job.error else None,
    }
