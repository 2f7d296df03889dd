"""The job state machine's end hook: run once for each transition to COMPLETED, FAILED or CANCELLED that took place,
never for bookkeeping writes or for a transition that lost its race (the jobs table in moto)."""

from __future__ import annotations

import pytest

from memerase.errors import TransitionLost
from memerase.fingerprint import ScopeHasher
from memerase.jobs.lifecycle import JobLifecycle
from memerase.jobs.models import JobRecord, JobStatus
from memerase.jobs.repository import JobsTable, now
from memerase.models import Scope
from tests.support.targets import JOBS_TABLE, create_tables

SCOPE = Scope.of(user_id="user-1")


@pytest.fixture
def table(aws: str) -> JobsTable:
    create_tables(history=None)
    return JobsTable(JOBS_TABLE)


def new_job(table: JobsTable, job_id: str) -> JobRecord:
    stamp = now()
    job = JobRecord(
        job_id=job_id, scope_hash=ScopeHasher.from_env().scope(SCOPE), scope=SCOPE, created_at=stamp, updated_at=stamp
    )
    assert table.create(job)
    return job


def test_the_end_hook_runs_once_per_end_that_took_place_with_the_record_as_read_and_as_written(
    table: JobsTable,
) -> None:
    # Given a lifecycle whose end hook records its calls, and two queued jobs
    ends: list[tuple[JobStatus, JobStatus]] = []
    lifecycle = JobLifecycle(table, on_end=lambda before, after: ends.append((before.status, after.status)))
    done, cancelled = new_job(table, "job-done"), new_job(table, "job-cancelled")
    # When one runs (with a bookkeeping write) and completes, and the other is cancelled, then resumed
    running = lifecycle.move(done, JobStatus.RUNNING)
    running = lifecycle.move(running, JobStatus.RUNNING, {"pass_no": 2})
    lifecycle.move(running, JobStatus.COMPLETED)
    stopped = lifecycle.move_latest(cancelled.job_id, JobStatus.CANCELLED)
    lifecycle.move(stopped, JobStatus.QUEUED)
    # Then the hook ran for the two ends only, seeing the status before and after each
    assert ends == [(JobStatus.RUNNING, JobStatus.COMPLETED), (JobStatus.QUEUED, JobStatus.CANCELLED)]


def test_the_end_hook_does_not_run_for_a_transition_that_lost_its_race(table: JobsTable) -> None:
    # Given a job read by two writers, and a lifecycle whose end hook records its calls
    ends: list[str] = []
    lifecycle = JobLifecycle(table, on_end=lambda before, after: ends.append(after.status.value))
    job = new_job(table, "job-raced")
    # When one writer cancels it, and the other, holding the stale record, fails it
    lifecycle.move(job, JobStatus.CANCELLED)
    with pytest.raises(TransitionLost):
        lifecycle.move(job, JobStatus.FAILED)
    # Then only the cancel that took place ran the hook
    assert ends == ["CANCELLED"]
