"""Job domain types: the job record, its work items, per-store progress and the erasure receipt."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, ValidationError

from memerase.criteria import NO_CRITERIA, Criteria, Selection, lock_key
from memerase.engine import MEMORIES
from memerase.engine.progress import PartitionProgress
from memerase.erasure_reason import ErasureReason, legacy_reason
from memerase.errors import InvalidRequest, MissingFilter
from memerase.jobs.task_inputs import WorkItem
from memerase.models import Scope

POLICY_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class ErasureSpec(BaseModel):
    """What a job erases: a scope (empty only with a criterion: then every scope) AND optional criteria, and the
    retention policy that asked for it, if any. The cutoffs are fixed when the spec is made (`Criteria.at`)."""

    model_config = ConfigDict(hide_input_in_errors=True, frozen=True, extra="forbid")

    scope: Scope = Field(default_factory=Scope)
    criteria: Criteria | None = None
    policy: str | None = Field(None, pattern=POLICY_NAME, description="the retention policy's name (no personal data)")

    def model_post_init(self, _context: object) -> None:
        if not self.scope.filters() and not (self.criteria is not None and self.criteria.present):
            raise MissingFilter()

    @classmethod
    def of(cls, criteria: Criteria | None = None, policy: str | None = None, **filters: Any) -> ErasureSpec:
        """From caller input: filters validated as `Scope.of` does; no filter at all is valid only with a criterion
        (else mem0's MissingFilter). Raises InvalidRequest or MissingFilter, never ValidationError."""
        try:
            scope = Scope.of(**filters)
        except MissingFilter:
            if criteria is None or not criteria.present:
                raise
            scope = Scope()
        try:
            return cls(scope=scope, criteria=criteria, policy=policy)
        except ValidationError:
            raise InvalidRequest("Invalid policy: letters, digits, '_', '.', '-' (at most 64)") from None

    def lock_key(self, scope_hash: str) -> str:
        """The job lock of this spec, given its scope's keyed hash (see `criteria.lock_key`)."""
        return lock_key(scope_hash, self.criteria, self.policy)


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def active(self) -> bool:
        return self in (JobStatus.QUEUED, JobStatus.RUNNING)


class ItemProgress(PartitionProgress):
    """A work item's persisted cursor and counts: the engine's partition progress, plus the item it belongs to."""

    item: WorkItem
    invocations: int = 0
    claim_until: int | None = Field(
        None, description="while `pending`: until when (epoch ms) its worker may send the batch's delete request"
    )
    at: str | None = Field(None, description="when this row was last written")


class StoreProgress(BaseModel):
    """One collection's counts over every pass of a job. `deleted` counts store records: memory records in a
    `memories` collection, entity records in an `entities` one."""

    model_config = ConfigDict(hide_input_in_errors=True)

    target: str
    role: str = Field(MEMORIES, description="`memories` (mem0's memory records) or `entities` (its entity records)")
    store: str
    scanned: int = 0
    deleted: int = 0
    items_done: int = 0
    items_total: int = 0
    remaining: int | None = Field(None, description="records of the scope the job's last finished pass still found")
    unreadable_kept: int = Field(
        0, description="records in scope the latest pass kept because a criterion could not read their date"
    )
    skipped: int = Field(0, description="records of a resumed pending batch left alone: no longer in the scope")
    note: str | None = None  # why the store was left alone (e.g. graph data for a scope without a user id)


def erased_counts(progress: list[StoreProgress]) -> tuple[int, int]:
    """(memory records erased: `memories` collections only, store records erased: every collection)."""
    return sum(p.deleted for p in progress if p.role == MEMORIES), sum(p.deleted for p in progress)


class JobError(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    error: str
    cause: str = ""


class Receipt(BaseModel):
    """Proof of an erasure: no raw ids, no text. `digest` is a SHA-256 over the rest, canonically serialised."""

    model_config = ConfigDict(hide_input_in_errors=True)

    job_id: str
    scope_hash: str
    stores: list[StoreProgress]
    erased: int = Field(description="memory records erased (the same as `memories_erased`)")
    memories_erased: int | None = Field(
        None,
        description="memory records erased from the memories collections, every pass and run (None: a receipt "
        "written before this field existed)",
    )
    records_erased: int | None = Field(
        None, description="store records erased in all: memory records and entity records (None: as above)"
    )
    verified_remaining: int
    criteria: Criteria | None = Field(None, description="the age/expiry cutoffs the job applied, if any")
    policy: str | None = Field(None, description="the retention policy that started the job, if any")
    unreadable_kept: int = Field(0, description="records in scope kept because their date could not be read")
    passes: int
    requested_at: str
    completed_at: str
    digest: str = ""

    def sealed(self) -> Receipt:
        body = self.model_dump(mode="json", exclude={"digest"})  # JSON types: cutoffs are ISO strings
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        return self.model_copy(update={"digest": digest})


def _listed(value: Any) -> Any:
    """`reply_to` (one reply, as records written before `replies` hold it) as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, dict | ReplyTo) else value


class ReplyTo(BaseModel):
    """Where an SQS erasure request asked the end of its job to be answered, and the request id the answer names (the
    request's own `request_id`, else its SQS message id)."""

    model_config = ConfigDict(hide_input_in_errors=True, frozen=True)

    queue_url: str
    request_id: str


class JobRecord(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    job_id: str
    status: JobStatus = JobStatus.QUEUED
    scope_hash: str
    scope: Scope | None = Field(
        None,
        description="kept (apart from the record, see `repository`) only while the job can still run or be resumed: "
        "removed on completion, expired after the resume window",
    )
    criteria: Criteria | None = Field(None, description="age/expiry cutoffs, fixed when the job was made (kept)")
    policy: str | None = Field(None, description="the retention policy that started the job, if any")
    requester: str = "unknown"
    source: str = "api"
    reason: Annotated[ErasureReason | None, BeforeValidator(legacy_reason)] = None
    reference_hash: str | None = Field(None, description="the keyed hash of the requester's reference, never the text")
    dry_run: StrictBool = False
    created_at: str
    updated_at: str
    started_at: str | None = None
    completed_at: str | None = None
    execution_arn: str | None = None
    executions: int = 0
    pass_no: int = 0
    rounds: int = Field(0, description="verification decisions taken, bounding re-runs of unfinished passes")
    progress: list[StoreProgress] = Field(default_factory=list)
    memories_erased: int = Field(0, description="memory records erased so far, over every run and pass")
    records_erased: int = Field(0, description="store records erased so far (memory and entity records)")
    unreadable_kept: int = Field(0, description="records in scope kept: a criterion could not read their date")
    memories_left: int | None = Field(None, description="memory records of the scope the last finished pass found")
    unfinished_items: int | None = Field(None, description="work items of the last verified pass that did not finish")
    error: JobError | None = None
    receipt: Receipt | None = None
    replies: Annotated[list[ReplyTo], BeforeValidator(_listed)] = Field(
        default_factory=list,
        validation_alias=AliasChoices("replies", "reply_to"),
        description="where the requests mapped onto this job asked to be answered; kept only while the job can run",
    )
    readers: list[str] = Field(
        default_factory=list, description="requesters of later requests mapped onto this job: they may read it too"
    )
    runner: str | None = Field(None, description="what runs the job: `step_functions` or `in_process`")
    plan: list[WorkItem] = Field(default_factory=list, description="the current pass's work items, as Plan made them")
    in_doubt: int = Field(
        0,
        description="records of batches whose worker stopped between claiming and confirming them when the job "
        "stopped: their delete may or may not have been sent; a resume reads them again and settles them",
    )
    last_activity: str | None = Field(None, description="when a worker last recorded progress (not stored)")
    stalled: bool = Field(False, description="active, but no progress recorded for `stall_seconds` (not stored)")
    resumed: bool = Field(False, description="this request resumed the job (a FAILED or stalled one; not stored)")

    def selection(self) -> Selection | None:
        """What the job erases, while it can still run (None once its scope is dropped)."""
        if self.scope is None:
            return None
        return Selection(filters=self.scope.filters(), criteria=self.criteria or NO_CRITERIA)

    def lock_key(self) -> str:
        """The job lock: the scope hash for a plain scope job; see `criteria.lock_key`."""
        return lock_key(self.scope_hash, self.criteria, self.policy)

    def public(self) -> dict[str, object]:
        """The job as callers see it: never the raw scope; with a sentence saying what it did."""
        public = self.model_dump(mode="json", exclude={"scope", "replies", "readers", "plan"})
        return {**public, "summary": self.summary()}

    def may_read(self, key_id: str) -> bool:
        """Whether a (non-admin) requester may see and act on the job: the one that started it, or one whose
        request was mapped onto it."""
        return key_id == self.requester or key_id in self.readers

    def summary(self) -> str:
        """What the job did, in one sentence (counts only, never ids)."""
        erased = f"{self.memories_erased} memory record(s) ({self.records_erased} store record(s) in all)"
        kept = f"; {self.unreadable_kept} kept with an unreadable date" if self.unreadable_kept else ""
        if self.dry_run:
            return f"dry run: {self.memories_left or 0} memory record(s) of the scope found; nothing erased{kept}"
        if self.status == JobStatus.COMPLETED:
            return f"erased {erased} in {self.pass_no} pass(es); the last pass found nothing left to erase{kept}"
        doubt = f"; {self.in_doubt} record(s) of an interrupted batch in doubt (a resume settles them)"
        doubt = doubt if self.in_doubt else ""
        if self.status == JobStatus.CANCELLED:
            rest = "resume it to erase the rest" if self.memories_left != 0 else "nothing of the scope was left"
            return f"cancelled after erasing {erased}{doubt}; no delete is sent after a cancel; {rest}"
        if self.status == JobStatus.FAILED:
            error = self.error.error if self.error else "an error"
            return f"failed ({error}) after erasing {erased}{doubt}; resume it to continue from where it stopped"
        if self.stalled:
            return (
                f"{self.status.value.lower()} but stalled: no progress since {self.last_activity} (its runner may have "
                f"stopped); {erased} erased so far; resume it to continue"
            )
        return f"{self.status.value.lower()}: {erased} erased so far"
