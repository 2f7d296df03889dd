"""Request and response models of the HTTP API (the OpenAPI document is generated from these)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from memerase.criteria import MAX_AGE_DAYS
from memerase.erasure_reason import ReasonCode, Reference
from memerase.models import MAX_ENTITY_ID_LENGTH

MAX_BATCH = 1000


class ErrorBody(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    code: str = Field(description="machine-readable error code")
    detail: str = Field(description="human-readable message (mem0's client reads `detail`)")


class Ping(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    status: str = "ok"
    org_id: str
    project_id: str
    user_email: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    message: str


class StoreCount(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    target: str
    store: str
    matched: int = 0
    deleted: int = 0
    remaining: int | None = None


class MemoryDeleted(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    message: str = "Memory deleted successfully!"
    deleted: int
    stores: list[StoreCount]


class BatchItem(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True, extra="forbid")
    memory_id: str = Field(min_length=1, max_length=1024)


class BatchDelete(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True, extra="forbid")
    memories: list[BatchItem] = Field(min_length=1, description=f"at most {MAX_BATCH} memories")


class ErasureRequest(BaseModel):
    """memerase's own erasure request: a flat body like mem0's filters."""

    model_config = ConfigDict(hide_input_in_errors=True, extra="forbid")
    user_id: str | None = Field(None, max_length=MAX_ENTITY_ID_LENGTH)
    agent_id: str | None = Field(None, max_length=MAX_ENTITY_ID_LENGTH)
    run_id: str | None = Field(None, max_length=MAX_ENTITY_ID_LENGTH)
    older_than_days: StrictInt | None = Field(
        None,
        ge=1,
        le=MAX_AGE_DAYS,
        description="erase only memories whose mem0 created_at is more than this many days before the request "
        "(a whole number; memories with an unreadable created_at are kept and counted)",
    )
    expired: StrictBool = Field(
        False, description="erase only memories whose mem0 expiration_date is before today (UTC), as mem0 hides them"
    )
    reason: ReasonCode | None = Field(None, description="why: a reason code (never free text)")
    reference: Reference | None = Field(None, description="the requester's reference (e.g. a ticket id): kept hashed")
    dry_run: StrictBool = False


class JobAccepted(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    message: str
    job_id: str
    event_id: str = Field(description="the job id again, under mem0's name: `GET /v1/event/{event_id}/` reads it")
    status: str
    status_url: str


# mem0's event statuses from a job's: a CANCELLED job did not do what was asked, so it is FAILED to mem0's clients
EVENT_STATUS = {
    "QUEUED": "PENDING",
    "RUNNING": "RUNNING",
    "COMPLETED": "SUCCEEDED",
    "FAILED": "FAILED",
    "CANCELLED": "FAILED",
}


class Event(BaseModel):
    """An erasure job in the shape of mem0's platform events (`GET /v1/event/{event_id}/`): never raw ids."""

    model_config = ConfigDict(hide_input_in_errors=True)

    id: str = Field(description="the job id")
    event_type: Literal["DELETE"] = "DELETE"
    status: Literal["PENDING", "RUNNING", "SUCCEEDED", "FAILED"] = Field(
        description="QUEUED -> PENDING, RUNNING -> RUNNING, COMPLETED -> SUCCEEDED, FAILED and CANCELLED -> FAILED"
    )
    payload: dict[str, Any] = Field(default_factory=dict, description="empty: the request's ids are never kept")
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="the job's own status, summary, counts and status URL"
    )
    results: list[Any] = Field(default_factory=list)
    created_at: str
    updated_at: str
    started_at: str | None = None
    completed_at: str | None = None
    latency: float | None = Field(None, description="milliseconds from start to completion, once completed")


class JobView(BaseModel):
    """A job as callers see it: status, per-store progress, the receipt once there is one. Never raw ids."""

    model_config = ConfigDict(hide_input_in_errors=True)

    job_id: str
    status: str
    scope_hash: str
    criteria: dict[str, Any] | None = Field(None, description="the fixed cutoffs: created_before, expired_before")
    policy: str | None = None
    source: str
    reason: str | None = Field(None, description="the reason code")
    reference_hash: str | None = Field(None, description="the keyed hash of the request's reference")
    dry_run: bool = False
    created_at: str
    updated_at: str
    started_at: str | None = None
    completed_at: str | None = None
    pass_no: int = 0
    summary: str = Field("", description="what the job did, in one sentence")
    memories_erased: int = Field(0, description="memory records erased so far, over every run and pass")
    records_erased: int = Field(0, description="store records erased so far: memory records and entity records")
    unreadable_kept: int = Field(0, description="records in scope kept: a criterion could not read their date")
    memories_left: int | None = Field(None, description="memory records of the scope the last finished pass found")
    unfinished_items: int | None = Field(None, description="work items of the last verified pass that did not finish")
    progress: list[dict[str, Any]] = Field(
        default_factory=list,
        description="per collection (`role`: memories or entities): records scanned and deleted over every pass; "
        "for a job not completed, as its work items have it now",
    )
    error: dict[str, Any] | None = None
    receipt: dict[str, Any] | None = None


class Entity(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    id: str
    name: str
    type: str
    total_memories: int


class EntityList(BaseModel):
    """One page of entities, in the shape of mem0's paginated answers."""

    model_config = ConfigDict(hide_input_in_errors=True)

    count: int = Field(description="entities on this page")
    next: str | None = Field(None, description="the URL of the next page; null after the last")
    previous: str | None = Field(None, description="always null: pages are read forwards only")
    results: list[Entity]


class HistoryRow(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    id: str | None = None
    memory_id: str | None = None
    old_memory: str | None = None
    new_memory: str | None = None
    event: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    is_deleted: int | None = None
    actor_id: str | None = None
    role: str | None = None


class ResetRequest(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True, extra="forbid")
    target: str = Field(min_length=1, max_length=63)
    confirm: str = Field(min_length=1, max_length=63, description="must equal the target's name")


class ResetDone(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    message: str
    target: str
    stores: list[StoreCount]


class ScopeHashRequest(BaseModel):
    """The filters of a scope, as an erasure request gives them."""

    model_config = ConfigDict(hide_input_in_errors=True, extra="forbid")
    user_id: str | None = Field(None, max_length=MAX_ENTITY_ID_LENGTH)
    agent_id: str | None = Field(None, max_length=MAX_ENTITY_ID_LENGTH)
    run_id: str | None = Field(None, max_length=MAX_ENTITY_ID_LENGTH)


class ScopeHash(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    scope_hash: str = Field(description="the keyed hash receipts, events and job records carry for this scope")
