"""The job's steps, one per state machine task: plan, erase (a work item, until its time budget is spent),
verify, finalize, fail. Each is idempotent and keeps its state in the jobs table, so any step can be retried and a
failed or cancelled job resumed where it stopped; no id lists travel in the execution's state. Status changes go
through the one `JobLifecycle`; the steps take their collaborators from the runtime.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from memerase.engine import Eraser, RunHooks, StoreRef
from memerase.engine.catalog import not_applicable
from memerase.errors import TransitionLost, VerificationFailed
from memerase.jobs.lifecycle import JobLifecycle
from memerase.jobs.models import ItemProgress, JobError, JobRecord, JobStatus, Receipt, StoreProgress, WorkItem
from memerase.jobs.repository import JobsTable, now
from memerase.jobs.tally import JobTally, Verdict, counts, decide, pass_outcome
from memerase.observability import logger
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


def _epoch_ms() -> int:
    return int(time.time() * 1000)


class JobSteps:
    def __init__(self, eraser: Eraser, jobs: JobsTable, lifecycle: JobLifecycle, tally: JobTally, config: JobsConfig):
        self._eraser = eraser
        self._jobs = jobs
        self._lifecycle = lifecycle
        self._tally = tally
        self._config = config

    def plan(self, job_id: str, execution: str | None = None) -> list[WorkItem]:
        """Mark the job RUNNING and split the current pass into work items (S3 segments, OpenSearch slices); the
        items and the collections are recorded in the job, so Verify and every status read use exactly these."""
        job = self._jobs.get(job_id)
        selection = job.selection()
        if not job.status.active or selection is None:
            return []
        pass_no = max(job.pass_no, 1)
        items: list[WorkItem] = []
        collections: list[StoreProgress] = []
        for ref, store in self._eraser.stores():
            note = not_applicable(ref, store, selection)  # not applicable: no work item; the note says why
            count = 0 if note else store.partitions()
            collections.append(
                StoreProgress(target=ref.target, role=ref.role, store=store.label, items_total=count, note=note)
            )
            items += [
                WorkItem(target=ref.target, role=ref.role, index=i, count=count, pass_no=pass_no) for i in range(count)
            ]
        remaining = {(p.target, p.role): p.remaining for p in job.progress}
        for planned in collections:
            planned.remaining = None if planned.note else remaining.get((planned.target, planned.role))
        changes = {"pass_no": pass_no, "plan": items, "progress": collections, "started_at": job.started_at or now()}
        changes["execution_arn"] = execution or job.execution_arn
        self._lifecycle.start_pass(job, changes)
        logger.info("job planned", extra={"job_id": job_id, "pass": pass_no, "items": len(items)})
        return items

    def erase(self, job_id: str, item: WorkItem, remaining_ms: Callable[[], int], execution: str | None = None) -> bool:
        """Erase pages of one work item until it is done or the time budget is nearly spent; persist the cursor.
        Returns whether the item is done for this execution. Every delete batch is claimed first, on condition that
        the job still runs (see `JobsTable.claim_batch`): a worker of a cancelled job, or of an execution a resume
        superseded, sends no delete more."""
        job = self._jobs.get(job_id)
        selection = job.selection()
        if not self._runs(job, execution) or selection is None:
            return True
        progress = self._jobs.get_progress(job_id, item) or ItemProgress(item=item)
        if progress.done:
            return True
        progress.invocations += 1
        try:
            self._run(job, item, progress, remaining_ms, execution)
        except BaseException:
            self._release(job_id, progress)
            raise
        return progress.done or not self._runs(self._jobs.get(job_id), execution)

    def _run(
        self,
        job: JobRecord,
        item: WorkItem,
        progress: ItemProgress,
        remaining_ms: Callable[[], int],
        execution: str | None,
    ) -> None:
        job_id, selection = job.job_id, job.selection()
        assert selection is not None
        self._eraser.runner.erase(
            StoreRef(item.target, item.role),
            selection,
            Partition(item.index, item.count),
            progress,
            RunHooks(
                out_of_time=lambda: remaining_ms() < self._config.time_margin_ms,
                checkpoint=lambda _: self._checkpoint(job_id, progress),
                cancelled=lambda: not self._runs(self._jobs.get(job_id), execution),
                claim=lambda _: self._claim(job_id, progress, execution),
                may_send=lambda: _epoch_ms() < (progress.claim_until or 0),
                actor=job.requester,  # the API key's id, or the trigger (sqs, schedule): the audit rows' actor_id
            ),
        )

    def _release(self, job_id: str, progress: ItemProgress) -> None:
        """A worker that fails sends nothing more: its claim ends now (its pending batch stays, for a resume to
        settle), so that a cancel or the failure it causes need not wait for it."""
        if not progress.pending or not progress.claim_until:
            return
        progress.claim_until = _epoch_ms()
        try:
            self._jobs.save_progress(job_id, progress)
        except Exception as exc:  # the original failure is what the caller must see
            logger.warning("claim not released", extra={"job_id": job_id, "error": type(exc).__name__})

    def _claim(self, job_id: str, progress: ItemProgress, execution: str | None) -> bool:
        progress.claim_until = _epoch_ms() + int(self._config.claim_seconds * 1000)
        return self._jobs.claim_batch(job_id, progress, execution)

    def _checkpoint(self, job_id: str, progress: ItemProgress) -> None:
        if not progress.pending:
            progress.claim_until = None
        self._jobs.save_progress(job_id, progress)

    def running(self, job_id: str) -> bool:
        return self._jobs.get(job_id).status == JobStatus.RUNNING

    @staticmethod
    def _runs(job: JobRecord, execution: str | None) -> bool:
        """Checked after every page, so workers of a cancelled job, or of an execution a resume superseded, stop."""
        current = execution is None or job.execution_arn in (None, execution)
        return job.status == JobStatus.RUNNING and current

    def verify(self, job_id: str) -> Verdict:
        """Decide from the pass that just ran, over the work items its Plan recorded (see `tally.decide`). The
        verification is itself a full scan, partitioned and resumable like the erasure."""
        job = self._jobs.get(job_id)
        if job.scope is None and job.status.active:  # its resume window passed while it ran: never "verified"
            raise VerificationFailed("the job's scope expired (resume window) before the job was verified")
        if job.scope is None:
            return Verdict(clean=True, retry=False, next_pass=job.pass_no, rounds=job.rounds)
        rows = self._tally.rows(job)
        outcome = pass_outcome(job, rows)
        verdict = decide(outcome, job.pass_no, job.rounds, self._config.max_passes)
        update = {
            **counts(job, rows, outcome.found),
            "memories_left": outcome.memories_left,
            "unfinished_items": outcome.unfinished,
            "pass_no": verdict.next_pass,
            "rounds": verdict.rounds,
        }
        self._lifecycle.record(job, update)
        logger.info(
            "job verified",
            extra={
                "job_id": job_id,
                "found": verdict.records_left,
                "unfinished": outcome.unfinished,
                "pass": job.pass_no,
            },
        )
        return verdict

    def finalize(self, job_id: str) -> JobRecord:
        """COMPLETED with counts and a receipt; the raw scope is dropped; the job's end effects run once. A job a
        cancel (or failure) got to first is left as it is."""
        job = self._jobs.get(job_id)
        if job.status != JobStatus.RUNNING:
            return job
        try:
            return self._lifecycle.complete(job, self._receipt(job))
        except TransitionLost:
            return self._jobs.get(job_id)

    def _receipt(self, job: JobRecord) -> Receipt:
        found = self._tally.counts(job)
        return Receipt(
            job_id=job.job_id,
            scope_hash=job.scope_hash,
            stores=found["progress"],
            erased=found["memories_erased"],
            memories_erased=found["memories_erased"],
            records_erased=found["records_erased"],
            verified_remaining=sum(p.remaining or 0 for p in found["progress"]),
            criteria=job.criteria,
            policy=job.policy,
            unreadable_kept=found["unreadable_kept"],
            passes=job.pass_no,
            requested_at=job.created_at,
            completed_at=now(),
        ).sealed()

    def fail(self, job_id: str, error: str, cause: str = "") -> JobStatus:
        """FAILED with the error (no ids, no text) and the counts of what is gone; the scope stays so the job can be
        resumed. A job no longer active (cancelled meanwhile) is left as it is. Returns the job's status."""
        failed = self._lifecycle.fail(job_id, JobError(error=error[:200], cause=safe_cause(error, cause)))
        return failed.status if failed is not None else self._jobs.get(job_id).status
