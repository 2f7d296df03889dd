"""The job state machine: which status may follow which, and the one place a status change is written.

Every status change (and every bookkeeping write that keeps the status) goes through `JobLifecycle.move`: it checks
the transition table, then writes the record on condition that the stored status is still the one that was read. A
caller runs its side effects (events, releasing the scope lock, metrics) only after `move` returned, that is only
for a transition that really took place; `move` raises `TransitionNotAllowed` or `TransitionLost` otherwise. The
one side effect every end of a job has (COMPLETED, FAILED, CANCELLED: the answer to the request's reply queue) is run
by `move` itself, right after the write, through its `on_end` hook (the record as read, then as written).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from memerase.errors import TransitionLost, TransitionNotAllowed
from memerase.jobs.models import JobRecord, JobStatus
from memerase.jobs.repository import JobsTable

QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED = (
    JobStatus.QUEUED,
    JobStatus.RUNNING,
    JobStatus.COMPLETED,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
)

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    QUEUED: frozenset({QUEUED, RUNNING, FAILED, CANCELLED}),  # QUEUED again: the launcher records the execution
    RUNNING: frozenset({RUNNING, COMPLETED, FAILED, CANCELLED}),  # RUNNING again: a pass's bookkeeping (plan, verify)
    FAILED: frozenset({QUEUED}),  # resume
    CANCELLED: frozenset({QUEUED}),  # resume
    COMPLETED: frozenset(),
}

ENDS = frozenset({COMPLETED, FAILED, CANCELLED})
VERBS = {QUEUED: "resumed", RUNNING: "run", COMPLETED: "completed", FAILED: "failed", CANCELLED: "cancelled"}
ATTEMPTS = 5


def allowed(current: JobStatus, new: JobStatus) -> bool:
    return new in TRANSITIONS[current]


class JobLifecycle:
    def __init__(self, jobs: JobsTable, on_end: Callable[[JobRecord, JobRecord], None] | None = None):
        self._jobs = jobs
        self._on_end = on_end

    def move(self, job: JobRecord, new: JobStatus, changes: dict[str, Any] | None = None) -> JobRecord:
        """`job` (as read) with `changes`, in status `new`, written only while the stored status is still
        `job.status`. Returns the record as written."""
        if not allowed(job.status, new):
            raise TransitionNotAllowed(f"job {job.job_id} is {job.status.value} and cannot be {VERBS[new]}")
        moved = job.model_copy(update={**(changes or {}), "status": new})
        if not self._jobs.save(moved, expect=(job.status,)):
            raise TransitionLost(f"job {job.job_id} changed while it was being {VERBS[new]}")
        if self._on_end is not None and new in ENDS:
            self._on_end(job, moved)
        return moved

    def move_latest(
        self, job_id: str, new: JobStatus, changes: Callable[[JobRecord], dict[str, Any]] | None = None
    ) -> JobRecord:
        """Read the job and move it; when another writer changed it in between, read it again and retry as long as
        the transition is still allowed (e.g. a cancel arriving while the job goes from QUEUED to RUNNING)."""
        for _ in range(ATTEMPTS - 1):
            job = self._jobs.get(job_id)
            try:
                return self.move(job, new, changes(job) if changes else None)
            except TransitionLost:
                continue
        job = self._jobs.get(job_id)
        return self.move(job, new, changes(job) if changes else None)
