"""The job state machine, and the one owner of a job's life: named transitions, each a conditional write of the
status, and the one place every end of a job runs its effects.

Bookkeeping that keeps the status (a pass's plan, a verification's counts, the execution's ARN) is a repository
update guarded by the status (`JobsTable.update_fields`), not a transition. A transition raises `TransitionNotAllowed`
or `TransitionLost` when it does not take place; its effects run only after it did, once: `_ended` waits for the
delete batches workers claimed before the job stopped (a worker claims a batch on condition that the job runs, and
sends its delete only while its claim holds), then writes the counts of what is gone, then releases the scope lock
(a FAILED job keeps it, so that the same request again resumes it), counts the metric, publishes the event and
answers every reply queue of the requests mapped onto the job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from memerase.errors import TransitionLost, TransitionNotAllowed
from memerase.jobs.events import EventPublisher, detail_type, lifecycle_event
from memerase.jobs.models import ItemProgress, JobError, JobRecord, JobStatus, Receipt, StoreProgress
from memerase.jobs.replies import JobReplies
from memerase.jobs.repository import JobsTable, now
from memerase.jobs.tally import counts
from memerase.observability import count, logger
from memerase.settings import JobsConfig

QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED = (
    JobStatus.QUEUED,
    JobStatus.RUNNING,
    JobStatus.COMPLETED,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
)

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    QUEUED: frozenset({RUNNING, COMPLETED, FAILED, CANCELLED}),  # COMPLETED: a dry run, counted
    RUNNING: frozenset({QUEUED, COMPLETED, FAILED, CANCELLED}),  # QUEUED: a stalled job resumed
    FAILED: frozenset({QUEUED}),  # resume
    CANCELLED: frozenset({QUEUED}),  # resume
    COMPLETED: frozenset(),
}

END_METRICS = {COMPLETED: "ErasureJobsCompleted", FAILED: "ErasureJobsFailed", CANCELLED: "ErasureJobsCancelled"}
VERBS = {QUEUED: "resumed", RUNNING: "run", COMPLETED: "completed", FAILED: "failed", CANCELLED: "cancelled"}
ATTEMPTS = 5
SETTLE_GRACE_S = 1.0  # beyond a claim's end: clocks of workers and the canceller may differ by this much
SETTLE_POLL_S = 0.05


def allowed(current: JobStatus, new: JobStatus) -> bool:
    return new in TRANSITIONS[current]


class JobLifecycle:
    def __init__(self, jobs: JobsTable, config: JobsConfig, events: EventPublisher | None, replies: JobReplies):
        self._jobs = jobs
        self._config = config
        self._events = events
        self._replies = replies

    # ---- transitions ---------------------------------------------------------------------------------------------

    def start_pass(self, job: JobRecord, changes: dict[str, Any]) -> JobRecord:
        """A pass planned: QUEUED → RUNNING, or, for a later pass of a RUNNING job, its bookkeeping."""
        if job.status == RUNNING:
            return self.record(job, changes)
        return self._move(job, RUNNING, changes)

    def complete(self, job: JobRecord, receipt: Receipt) -> JobRecord:
        """COMPLETED with its receipt: the raw scope and the reply queues are dropped."""
        update: dict[str, Any] = {"completed_at": receipt.completed_at, "scope": None, "replies": []}
        update.update(receipt=receipt, progress=receipt.stores, memories_erased=receipt.memories_erased)
        update.update(records_erased=receipt.records_erased, unreadable_kept=receipt.unreadable_kept)
        return self._ended(self._move(job, COMPLETED, update), job)

    def counted(self, job: JobRecord, progress: list[StoreProgress], memories_left: int) -> JobRecord:
        """A dry run: QUEUED → COMPLETED with each collection's count of the selection; nothing erased."""
        update: dict[str, Any] = {"completed_at": now(), "scope": None, "progress": progress}
        update["memories_left"] = memories_left
        update["unreadable_kept"] = sum(p.unreadable_kept for p in progress)
        return self._move(job, COMPLETED, update)

    def fail(self, job_id: str, error: JobError) -> JobRecord | None:
        """FAILED (resumable) with the error; None when the job no longer ran (cancelled or ended meanwhile)."""
        try:
            job = self._move_latest(job_id, FAILED, {"completed_at": now(), "error": error})
        except (TransitionLost, TransitionNotAllowed):
            return None
        return self._ended(job)

    def cancel(self, job_id: str, stop: Callable[[JobRecord], None] | None = None) -> JobRecord:
        """CANCELLED. From the moment this is written no worker's claim is granted; `stop` (the runner's) is asked
        then to stop the job's program; this returns once the batches claimed before it settled, with the counts of
        what is gone."""
        job = self._move_latest(job_id, CANCELLED, {"completed_at": now()})
        if stop is not None:
            stop(job)
        return self._ended(job)

    def resume(self, job: JobRecord, changes: dict[str, Any]) -> JobRecord:
        """FAILED or CANCELLED (or active but stalled) → QUEUED, to run again from its cursors."""
        if job.status.active and not job.stalled:
            raise TransitionNotAllowed(f"job {job.job_id} is {job.status.value} and cannot be resumed")
        return self._move(job, QUEUED, {**changes, "error": None, "completed_at": None, "in_doubt": 0})

    def record(self, job: JobRecord, changes: dict[str, Any]) -> JobRecord:
        """Bookkeeping while the job keeps its status; TransitionLost when its status changed meanwhile."""
        moved = job.model_copy(update=changes)
        fields = moved.model_dump(mode="json", by_alias=True, include=set(changes))
        if not self._jobs.update_fields(job.job_id, fields, expect=(job.status,)):
            raise TransitionLost(f"job {job.job_id} changed while it was being updated")
        return moved

    # ---- the one write of a status, and the one end of a job ------------------------------------------------------

    def _move(self, job: JobRecord, new: JobStatus, changes: dict[str, Any]) -> JobRecord:
        if not allowed(job.status, new):
            raise TransitionNotAllowed(f"job {job.job_id} is {job.status.value} and cannot be {VERBS[new]}")
        moved = job.model_copy(update={**changes, "status": new})
        fields = moved.model_dump(mode="json", by_alias=True, include={*changes, "status"} - {"scope"})
        if not self._jobs.update_fields(job.job_id, fields, expect=(job.status,)):  # the changes only: no stale copy
            raise TransitionLost(f"job {job.job_id} changed while it was being {VERBS[new]}")
        self._jobs.place_scope(moved)
        return moved

    def _move_latest(self, job_id: str, new: JobStatus, changes: dict[str, Any]) -> JobRecord:
        """Read the job and move it; when another writer changed it in between, read it again and retry as long as
        the transition is still allowed (e.g. a cancel arriving while the job goes from QUEUED to RUNNING)."""
        for attempt in range(ATTEMPTS):
            try:
                return self._move(self._jobs.get(job_id), new, changes)
            except TransitionLost:
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _ended(self, job: JobRecord, before: JobRecord | None = None) -> JobRecord:
        """Every effect of a job's end, run once, after the transition took place."""
        if job.status != COMPLETED:
            job = self._settled(job)
        if job.status != FAILED:
            self._jobs.release_scope(job.lock_key(), job.job_id)
        count(END_METRICS[job.status], 1)
        if job.status == COMPLETED:
            count("MemoriesErased", job.memories_erased)
        if self._events is not None:
            self._events.publish(detail_type(job.status), lifecycle_event(job))
        for reply in (before or job).replies:
            self._replies.send(job, reply)
        logger.info(f"job {VERBS[job.status]}", extra={"job_id": job.job_id, "memories_erased": job.memories_erased})
        return job

    def _settled(self, job: JobRecord) -> JobRecord:
        """Wait for the batches claimed before the job stopped (bounded by their claims), then write the counts of
        what is gone; batches still pending are `in_doubt`."""
        rows = self._wait_for_claims(job.job_id, time.time)
        in_doubt = sum(len(r.pending) for r in rows)
        update = {**counts(job, rows), "in_doubt": in_doubt}
        try:
            return self.record(job, update)
        except TransitionLost:  # resumed meanwhile: the record is the resumed run's now
            return job.model_copy(update=update)

    def _wait_for_claims(self, job_id: str, clock: Callable[[], float]) -> list[ItemProgress]:
        deadline = clock() + self._config.claim_seconds + SETTLE_GRACE_S
        while True:
            rows = self._jobs.list_progress(job_id)
            ends = [r.claim_until / 1000 for r in rows if r.pending and r.claim_until]
            if not ends or clock() > min(deadline, max(ends) + SETTLE_GRACE_S):
                return rows
            time.sleep(SETTLE_POLL_S)
