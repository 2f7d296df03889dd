"""The job's steps, one per state machine task: plan, erase (a work item, until its time budget is spent),
verify, finalize, fail. Each is idempotent and keeps its state in the jobs table, so any step can be retried and a
failed or cancelled job resumed where it stopped; no id lists travel in the execution's state.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from memerase.engine import Eraser, RunHooks, StoreRef
from memerase.errors import TransitionLost, TransitionNotAllowed, VerificationFailed
from memerase.jobs.events import COMPLETED, FAILED, EventPublisher
from memerase.jobs.lifecycle import JobLifecycle
from memerase.jobs.models import ItemProgress, JobError, JobRecord, JobStatus, Receipt, WorkItem
from memerase.jobs.queues import Queues
from memerase.jobs.replies import JobReplies
from memerase.jobs.repository import JobsTable, now
from memerase.jobs.tally import JobTally, decide
from memerase.observability import count, logger
from memerase.settings import JobsConfig
from memerase.stores.base import Partition

# Our own errors, whose messages name stores and codes, never ids or text. Any other message is dropped.
SAFE_MESSAGES = frozenset(
    {"StoreError", "RetryableStoreError", "Throttled", "VerificationFailed", "ConfigError", "StartExecutionFailed"}
)


def safe_cause(error: str, cause: str) -> str:
    """What of a Step Functions error Cause may be kept in the job record and shown to callers.

    A Lambda's Cause is its error payload: `errorType`, `errorMessage`, `stackTrace` (source lines), `requestId`.
    Stack traces never are kept; a message only when it is one of ours (others, e.g. validation errors, may quote
    input values)."""
    try:
        payload = json.loads(cause)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return cause[:300] if error in SAFE_MESSAGES else "(details withheld)"
    error_type = str(payload.get("errorType", "Error"))[:100]
    message = str(payload.get("errorMessage", ""))[:300] if error_type in SAFE_MESSAGES else ""
    return f"{error_type}: {message}" if message else error_type


class JobSteps:
    def __init__(
        self,
        eraser: Eraser,
        jobs: JobsTable,
        events: EventPublisher | None,
        config: JobsConfig,
        replies: JobReplies | None = None,
    ):
        self._eraser = eraser
        self._jobs = jobs
        self._events = events
        self._config = config
        self.replies = replies or JobReplies(Queues(config.region_name))
        self.lifecycle = JobLifecycle(jobs, on_end=self.replies.on_end)  # every end of a job answers its request
        self.tally = JobTally(eraser, jobs)

    def plan(self, job_id: str, execution: str | None = None) -> list[dict[str, Any]]:
        """Mark the job RUNNING and split the current pass into work items (S3 segments, OpenSearch slices)."""
        job = self._jobs.get(job_id)
        if not job.status.active or job.scope is None:
            return []
        pass_no = max(job.pass_no, 1)
        self.lifecycle.move(
            job,
            JobStatus.RUNNING,
            {
                "pass_no": pass_no,
                "started_at": job.started_at or now(),
                "execution_arn": execution or job.execution_arn,
            },
        )
        items = []
        for ref, store, note in self.tally.stores(job):
            if note:  # not applicable to this scope: no work item; its note goes into the progress and receipt
                continue
            count = store.partitions()
            items += [
                WorkItem(target=ref.target, role=ref.role, index=i, count=count, **{"pass": pass_no})
                for i in range(count)
            ]
        logger.info("job planned", extra={"job_id": job_id, "pass": pass_no, "items": len(items)})
        return [i.model_dump(by_alias=True) for i in items]

    def erase(
        self, job_id: str, raw_item: dict[str, Any], remaining_ms: Callable[[], int], execution: str | None = None
    ) -> dict[str, Any]:
        """Erase pages of one work item until it is done or the time budget is nearly spent; persist the cursor.

        A worker of an execution that no longer runs the job (cancelled, or superseded by a resume) stops."""
        item = WorkItem.model_validate(raw_item)
        job = self._jobs.get(job_id)
        if not self._runs(job, execution) or job.scope is None:
            return {"done": True, "skipped": True}
        progress = self._jobs.get_progress(job_id, item) or ItemProgress(item=item)
        if progress.done:
            return {"done": True}
        progress.invocations += 1
        selection = job.selection()
        assert selection is not None  # the job has its scope
        self._eraser.runner.erase(
            StoreRef(item.target, item.role),
            selection,
            Partition(item.index, item.count),
            progress,
            RunHooks(
                out_of_time=lambda: remaining_ms() < self._config.time_margin_ms,
                checkpoint=lambda _: self._jobs.save_progress(job_id, progress),
                cancelled=lambda: not self._runs(self._jobs.get(job_id), execution),
                actor=job.requester,  # the API key's id, or the trigger (sqs, schedule): the audit rows' actor_id
            ),
        )
        return {"done": progress.done or not self._runs(self._jobs.get(job_id), execution)}

    @staticmethod
    def _runs(job: JobRecord, execution: str | None) -> bool:
        """Checked after every page, so workers of a cancelled job, or of an execution a resume superseded, stop."""
        current = execution is None or job.execution_arn in (None, execution)
        return job.status == JobStatus.RUNNING and current

    def verify(self, job_id: str) -> dict[str, Any]:
        """Decide from the pass that just ran (see `tally.decide`). The verification is itself a full scan,
        partitioned and resumable like the erasure. Answers `clean`, `retry`, and separately the memory records of the
        scope the pass found (`memories_left`), the store records in all (`records_left`) and the work items that did
        not finish (`unfinished_items`)."""
        job = self._jobs.get(job_id)
        if job.scope is None and job.status.active:  # its resume window passed while it ran: never "verified"
            raise VerificationFailed("the job's scope expired (resume window) before the job was verified")
        if job.scope is None:
            return {"clean": True, "retry": False, "memories_left": 0, "records_left": 0, "unfinished_items": 0}
        outcome = self.tally.pass_outcome(job)
        verdict = decide(outcome.found, outcome.unfinished, job.pass_no, job.rounds, self._config.max_passes)
        update: dict[str, Any] = {
            **self.tally.counts(job, outcome.found),
            "memories_left": outcome.memories_left,
            "unfinished_items": outcome.unfinished,
            "pass_no": verdict.next_pass,
            "rounds": verdict.rounds,
        }
        self.lifecycle.move(job, JobStatus.RUNNING, update)
        left = sum(outcome.found.values())
        logger.info(
            "job verified",
            extra={"job_id": job_id, "found": left, "unfinished": outcome.unfinished, "pass": job.pass_no},
        )
        return {
            "clean": verdict.clean,
            "retry": verdict.retry,
            "memories_left": outcome.memories_left,
            "records_left": left,
            "unfinished_items": outcome.unfinished,
        }

    def pass_complete(self, job: JobRecord) -> bool:
        """Whether every work item of the job's current pass finished."""
        return self.tally.pass_outcome(job).unfinished == 0

    def finalize(self, job_id: str) -> dict[str, Any]:
        """COMPLETED with counts and a receipt; the raw scope is dropped; ErasureCompleted is emitted. Only the call
        whose transition took place releases the scope and counts metrics; a job a cancel (or failure) got to first
        is left as it is, without an event."""
        job = self._jobs.get(job_id)
        if job.status == JobStatus.RUNNING:
            try:
                job = self._complete(job)
            except TransitionLost:
                job = self._jobs.get(job_id)
            else:
                self._jobs.release_scope(job.lock_key(), job_id)
                count("MemoriesErased", job.memories_erased)
                count("ErasureJobsCompleted", 1)
        if job.status == JobStatus.COMPLETED and job.receipt is not None:
            self.publish(COMPLETED, job)  # again on a retried Finalize: the event is at-least-once
        return {"status": job.status.value, "erased": job.receipt.erased if job.receipt else 0}

    def _complete(self, job: JobRecord) -> JobRecord:
        counts = self.tally.counts(job)
        finished = now()
        receipt = Receipt(
            job_id=job.job_id,
            scope_hash=job.scope_hash,
            stores=counts["progress"],
            erased=counts["memories_erased"],
            memories_erased=counts["memories_erased"],
            records_erased=counts["records_erased"],
            verified_remaining=sum(p.remaining or 0 for p in counts["progress"]),
            criteria=job.criteria,
            policy=job.policy,
            unreadable_kept=counts["unreadable_kept"],
            passes=job.pass_no,
            requested_at=job.created_at,
            completed_at=finished,
        ).sealed()
        update = {**counts, "completed_at": finished, "scope": None, "reply_to": None, "receipt": receipt}
        return self.lifecycle.move(job, JobStatus.COMPLETED, update)

    def fail(self, job_id: str, error: str, cause: str = "") -> dict[str, Any]:
        """FAILED with the error (no ids, no text) and the counts of what the job erased; the scope stays so the job
        can be resumed; ErasureFailed. A job no longer active (cancelled meanwhile) is left as it is."""
        failure = JobError(error=error[:200], cause=safe_cause(error, cause))
        job = self._jobs.get(job_id)
        if not job.status.active:
            return {"status": job.status.value}
        try:
            job = self.lifecycle.move_latest(
                job_id,
                JobStatus.FAILED,
                lambda current: {**self.tally.counts(current, {}), "completed_at": now(), "error": failure},
            )
        except (TransitionLost, TransitionNotAllowed):
            return {"status": self._jobs.get(job_id).status.value}
        self._jobs.release_scope(job.lock_key(), job_id)
        count("ErasureJobsFailed", 1)
        self.publish(FAILED, job)
        return {"status": job.status.value}

    def publish(self, detail_type: str, job: JobRecord) -> None:
        """A lifecycle event of the job (ids and counts only), when an event bus is configured."""
        if self._events is None:
            return
        self._events.publish(
            detail_type,
            {
                "job_id": job.job_id,
                "status": job.status.value,
                "scope_hash": job.scope_hash,
                "policy": job.policy,
                "criteria": job.criteria.model_dump(mode="json", exclude_none=True) if job.criteria else None,
                "erased": job.memories_erased,
                "memories_erased": job.memories_erased,
                "records_erased": job.records_erased,
                "receipt_digest": job.receipt.digest if job.receipt else None,
                "error": job.error.error if job.error else None,
            },
        )
