"""The job's steps, one per state machine task: plan, erase (a work item, until its time budget is spent),
verify, finalize, fail. Each is idempotent and keeps its state in the jobs table, so any step can be retried and a
failed or cancelled job resumed where it stopped; no id lists travel in the execution's state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from memerase.engine import Eraser, RunHooks, StoreRef
from memerase.jobs.events import COMPLETED, FAILED, EventPublisher
from memerase.jobs.models import ItemProgress, JobError, JobRecord, JobStatus, Receipt, StoreProgress, WorkItem
from memerase.jobs.repository import JobsTable, now
from memerase.observability import count, logger
from memerase.settings import JobsConfig
from memerase.stores.base import Partition, ScopeCollection

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


class VerificationFailed(Exception):
    """Matching memories were still there after the last allowed pass."""


class JobSteps:
    def __init__(self, eraser: Eraser, jobs: JobsTable, events: EventPublisher | None, config: JobsConfig):
        self._eraser = eraser
        self._jobs = jobs
        self._events = events
        self._config = config

    def plan(self, job_id: str, execution: str | None = None) -> list[dict[str, Any]]:
        """Mark the job RUNNING and split the current pass into work items (S3 segments, OpenSearch slices)."""
        job = self._jobs.get(job_id)
        if not job.status.active or job.scope is None:
            return []
        pass_no = max(job.pass_no, 1)
        self._jobs.save(
            job.model_copy(
                update={
                    "status": JobStatus.RUNNING,
                    "pass_no": pass_no,
                    "started_at": job.started_at or now(),
                    "execution_arn": execution or job.execution_arn,
                }
            ),
            expect=(job.status,),
        )
        items = []
        for ref, store, note in self._stores(job):
            if note:  # not applicable to this scope: no work item, its note goes into the progress and receipt
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
        self._eraser.erase_partition(
            StoreRef(item.target, item.role),
            job.scope.filters(),
            Partition(item.index, item.count),
            progress,
            RunHooks(
                out_of_time=lambda: remaining_ms() < self._config.time_margin_ms,
                checkpoint=lambda _: self._jobs.save_progress(job_id, progress),
                cancelled=lambda: not self._runs(self._jobs.get(job_id), execution),
            ),
        )
        return {"done": progress.done or not self._runs(self._jobs.get(job_id), execution)}

    @staticmethod
    def _runs(job: JobRecord, execution: str | None) -> bool:
        """Checked after every page, so workers of a cancelled job, or of an execution a resume superseded, stop."""
        current = execution is None or job.execution_arn in (None, execution)
        return job.status == JobStatus.RUNNING and current

    def verify(self, job_id: str) -> dict[str, Any]:
        """Decide from the pass that just ran. The verification is itself a full scan, partitioned and resumable like
        the erasure: a pass whose every work item finished and found nothing of the scope proves the job clean. A
        pass that still found (and erased) something, say a memory written while the job ran, asks for one more
        pass, bounded by `max_passes`. A pass with unfinished work items (a worker that failed) is run again from
        its cursors, bounded too; it never counts as clean."""
        job = self._jobs.get(job_id)
        if job.scope is None:
            return {"clean": True, "retry": False, "remaining": 0}
        found, unfinished = self._pass_outcome(job)
        left = sum(found.values())
        rounds = job.rounds + 1
        if unfinished:
            retry, next_pass = rounds < 2 * self._config.max_passes, job.pass_no
        else:
            retry, next_pass = left > 0 and job.pass_no < self._config.max_passes, job.pass_no + 1
        update: dict[str, Any] = {
            "progress": self._progress(job, found),
            "pass_no": next_pass if retry else job.pass_no,
            "rounds": rounds,
        }
        self._jobs.save(job.model_copy(update=update), expect=(JobStatus.RUNNING,))
        logger.info(
            "job verified", extra={"job_id": job_id, "found": left, "unfinished": unfinished, "pass": job.pass_no}
        )
        return {"clean": left == 0 and not unfinished, "retry": retry, "remaining": left + unfinished}

    def pass_complete(self, job: JobRecord) -> bool:
        """Whether every work item of the job's current pass finished."""
        return self._pass_outcome(job)[1] == 0

    def _pass_outcome(self, job: JobRecord) -> tuple[dict[tuple[str, str], int], int]:
        """Matches found per store in the current pass, and how many of its planned work items did not finish."""
        done = {p.item.key: p for p in self._jobs.list_progress(job.job_id) if p.item.pass_no == job.pass_no}
        found: dict[tuple[str, str], int] = {}
        unfinished = 0
        for ref, store, note in self._stores(job):
            if note:
                continue
            count = store.partitions()
            for index in range(count):
                item = WorkItem(target=ref.target, role=ref.role, index=index, count=count, **{"pass": job.pass_no})
                progress = done.get(item.key)
                if progress is None or not progress.done:
                    unfinished += 1
                    continue
                key = (ref.target, store.label)
                found[key] = found.get(key, 0) + progress.matched
        return found, unfinished

    def finalize(self, job_id: str) -> dict[str, Any]:
        """COMPLETED with counts and a receipt; the raw scope is dropped; ErasureCompleted is emitted."""
        job = self._jobs.get(job_id)
        if job.status == JobStatus.RUNNING:
            progress = self._progress(job, {(p.target, p.store): p.remaining or 0 for p in job.progress})
            finished = now()
            receipt = Receipt(
                job_id=job_id,
                scope_hash=job.scope_hash,
                stores=progress,
                erased=sum(p.deleted for p in progress),
                verified_remaining=sum(p.remaining or 0 for p in progress),
                passes=job.pass_no,
                requested_at=job.created_at,
                completed_at=finished,
            ).sealed()
            job = job.model_copy(
                update={
                    "status": JobStatus.COMPLETED,
                    "completed_at": finished,
                    "scope": None,
                    "progress": progress,
                    "receipt": receipt,
                }
            )
            self._jobs.save(job, expect=(JobStatus.RUNNING,))
            self._jobs.release_scope(job.scope_hash, job_id)
            count("MemoriesErased", receipt.erased)
            count("ErasureJobsCompleted", 1)
        if job.status == JobStatus.COMPLETED and job.receipt is not None:
            self._publish(COMPLETED, job)
        return {"status": job.status.value, "erased": job.receipt.erased if job.receipt else 0}

    def fail(self, job_id: str, error: str, cause: str = "") -> dict[str, Any]:
        """FAILED with the error (no ids, no text); the scope stays so the job can be resumed; ErasureFailed."""
        job = self._jobs.get(job_id)
        if job.status.active:
            job = job.model_copy(
                update={
                    "status": JobStatus.FAILED,
                    "completed_at": now(),
                    "progress": self._progress(job, {}),
                    "error": JobError(error=error[:200], cause=safe_cause(error, cause)),
                }
            )
            self._jobs.save(job, expect=(JobStatus.QUEUED, JobStatus.RUNNING))
            self._jobs.release_scope(job.scope_hash, job_id)
            count("ErasureJobsFailed", 1)
            self._publish(FAILED, job)
        return {"status": job.status.value}

    def _stores(self, job: JobRecord) -> Iterator[tuple[StoreRef, ScopeCollection, str | None]]:
        """Every store with why it does not apply to the job's scope (None where it does)."""
        filters = job.scope.filters() if job.scope is not None else {}
        for ref, store in self._eraser.stores():
            yield ref, store, store.not_applicable(filters) if filters else None

    def _progress(self, job: JobRecord, remaining: dict[tuple[str, str], int]) -> list[StoreProgress]:
        """Per-store totals over every pass, with the latest pass's item completion; a store the scope does not
        apply to has no work items and says why."""
        items = self._jobs.list_progress(job.job_id)
        latest = max((p.item.pass_no for p in items), default=0)
        out: dict[tuple[str, str], StoreProgress] = {}
        for ref, store, note in self._stores(job):
            key = (ref.target, store.label)
            out[key] = StoreProgress(
                target=ref.target,
                store=store.label,
                remaining=None if note else remaining.get(key),
                items_total=0 if note else store.partitions(),
                note=note,
            )
            for p in items:
                if (p.item.target, p.item.role) == (ref.target, ref.role):
                    out[key].scanned += p.scanned
                    out[key].deleted += p.deleted
                    if p.item.pass_no == latest:
                        out[key].items_done += int(p.done)
        return list(out.values())

    def _publish(self, detail_type: str, job: JobRecord) -> None:
        if self._events is None:
            return
        self._events.publish(
            detail_type,
            {
                "job_id": job.job_id,
                "status": job.status.value,
                "scope_hash": job.scope_hash,
                "erased": job.receipt.erased if job.receipt else sum(p.deleted for p in job.progress),
                "receipt_digest": job.receipt.digest if job.receipt else None,
                "error": job.error.error if job.error else None,
            },
        )
