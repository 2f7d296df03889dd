"""Job domain types: the job record, its work items, per-store progress and the erasure receipt."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from memerase.engine.progress import PartitionProgress
from memerase.models import Scope


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def active(self) -> bool:
        return self in (JobStatus.QUEUED, JobStatus.RUNNING)


class WorkItem(BaseModel):
    """One partition of one collection in one verification pass: what a Map iteration works on."""

    model_config = ConfigDict(frozen=True)

    target: str
    role: str
    index: int = 0
    count: int = 1
    pass_no: int = Field(1, alias="pass")

    @property
    def key(self) -> str:
        return f"{self.pass_no:02d}#{self.target}#{self.role}#{self.index:02d}-of-{self.count:02d}"


class ItemProgress(PartitionProgress):
    """A work item's persisted cursor and counts: the engine's partition progress, plus the item it belongs to."""

    item: WorkItem
    invocations: int = 0


class StoreProgress(BaseModel):
    target: str
    store: str
    scanned: int = 0
    deleted: int = 0
    items_done: int = 0
    items_total: int = 0
    remaining: int | None = None
    note: str | None = None  # why the store was left alone (e.g. graph data for a scope without a user id)


class JobError(BaseModel):
    error: str
    cause: str = ""


class Receipt(BaseModel):
    """Proof of an erasure: no raw ids, no text. `digest` is a SHA-256 over the rest, canonically serialised."""

    job_id: str
    scope_hash: str
    stores: list[StoreProgress]
    erased: int
    verified_remaining: int
    passes: int
    requested_at: str
    completed_at: str
    digest: str = ""

    def sealed(self) -> Receipt:
        body = self.model_dump(exclude={"digest"})
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        return self.model_copy(update={"digest": digest})


class JobRecord(BaseModel):
    job_id: str
    status: JobStatus = JobStatus.QUEUED
    scope_hash: str
    scope: Scope | None = Field(None, description="kept only while the job can still run; removed on completion")
    requester: str = "unknown"
    source: str = "api"
    reason: str | None = Field(None, max_length=500)
    dry_run: bool = False
    created_at: str
    updated_at: str
    started_at: str | None = None
    completed_at: str | None = None
    execution_arn: str | None = None
    executions: int = 0
    pass_no: int = 0
    rounds: int = Field(0, description="verification decisions taken, bounding re-runs of unfinished passes")
    progress: list[StoreProgress] = Field(default_factory=list)
    error: JobError | None = None
    receipt: Receipt | None = None

    def public(self) -> dict[str, object]:
        """The job as callers see it: never the raw scope."""
        return self.model_dump(mode="json", exclude={"scope"})
