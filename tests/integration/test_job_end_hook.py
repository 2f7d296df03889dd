"""The one owner of a job's life: the effects of a job's end (lock release, event, replies) run once for each
transition to COMPLETED, FAILED or CANCELLED that took place, never for bookkeeping writes or for a transition that
lost its race (the jobs table in moto)."""

from __future__ import annotations

from typing import Any

import pytest

from memerase.errors import TransitionNotAllowed
from memerase.fingerprint import ScopeHasher
from memerase.jobs.lifecycle import JobLifecycle
from memerase.jobs.models import JobError, JobRecord, JobStatus, Receipt, ReplyTo
from memerase.jobs.repository import JobsTable, now
from memerase.models import Scope
from memerase.settings import JobsConfig
from tests.support.targets import JOBS_TABLE, create_tables

REPLY = ReplyTo(queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/replies", request_id="r-1")


class Recorded:
    """The events a lifecycle publishes and the replies it sends, as (what, job id, status)."""

    def __init__(self) -> None:
        self.ends: list[tuple[str, str, str]] = []

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        self.ends.append(("event", detail["job_id"], detail["status"]))

    def send(self, job: JobRecord, reply: ReplyTo) -> bool:
        self.ends.append(("reply", job.job_id, job.status.value))
        return True


@pytest.fixture
def table(aws: str) -> JobsTable:
    create_tables(history=None)
    return JobsTable(JOBS_TABLE)


def lifecycle_of(table: JobsTable, recorded: Recorded) -> JobLifecycle:
    return JobLifecycle(table, JobsConfig(table_name=JOBS_TABLE), recorded, recorded)  # type: ignore[arg-type]


def new_job(table: JobsTable, job_id: str) -> JobRecord:
    """A QUEUED job of a scope of its own, holding that scope's lock."""
    stamp, scope = now(), Scope.of(user_id=f"user-of-{job_id}")
    scope_hash = ScopeHasher.from_env().scope(scope)
    job = JobRecord(job_id=job_id, scope_hash=scope_hash, scope=scope, created_at=stamp, updated_at=stamp)
    job = job.model_copy(update={"replies": [REPLY]})
    assert table.create(job) and table.claim_scope(job.lock_key(), job_id) is None
    return job


def receipt_of(job: JobRecord) -> Receipt:
    stamp = now()
    return Receipt(
        job_id=job.job_id, scope_hash=job.scope_hash, stores=[], erased=0, verified_remaining=0, passes=1,
        requested_at=stamp, completed_at=stamp,
    ).sealed()  # fmt: skip


def test_every_end_runs_its_effects_once_and_bookkeeping_runs_none(table: JobsTable) -> None:
    # Given a lifecycle recording its events and replies, and three queued jobs, each answering a reply queue
    recorded = Recorded()
    lifecycle = lifecycle_of(table, recorded)
    done, cancelled, failed = (new_job(table, f"job-{n}") for n in ("done", "cancelled", "failed"))
    # When one runs (with bookkeeping) and completes, one is cancelled, one fails, and the last two are resumed
    running = lifecycle.start_pass(done, {"pass_no": 1})
    running = lifecycle.record(running, {"pass_no": 2})
    lifecycle.complete(running, receipt_of(running))
    stopped = lifecycle.cancel(cancelled.job_id)
    broken = lifecycle.fail(failed.job_id, JobError(error="StoreError"))
    assert broken is not None
    lifecycle.resume(stopped, {})
    lifecycle.resume(broken, {})
    # Then each end published its event and answered its reply queue once; nothing else did
    assert recorded.ends == [
        ("event", "job-done", "COMPLETED"),
        ("reply", "job-done", "COMPLETED"),
        ("event", "job-cancelled", "CANCELLED"),
        ("reply", "job-cancelled", "CANCELLED"),
        ("event", "job-failed", "FAILED"),
        ("reply", "job-failed", "FAILED"),
    ]
    # And the completed and cancelled jobs released their scope's lock; the failed one kept it (the same request
    # again resumes it)
    assert table.claim_scope(done.lock_key(), "job-next") is None
    assert table.claim_scope(cancelled.lock_key(), "job-next-2") is None
    assert table.claim_scope(failed.lock_key(), "job-next-3") == "job-failed"


def test_no_effect_runs_for_a_transition_that_did_not_take_place(table: JobsTable) -> None:
    # Given a lifecycle recording its ends, and a job that was cancelled
    recorded = Recorded()
    lifecycle = lifecycle_of(table, recorded)
    job = new_job(table, "job-raced")
    lifecycle.cancel(job.job_id)
    # When a worker that failed afterwards records its failure, and another cancel arrives
    assert lifecycle.fail(job.job_id, JobError(error="StoreError")) is None
    with pytest.raises(TransitionNotAllowed):
        lifecycle.cancel(job.job_id)
    # Then only the cancel that took place ran the effects
    assert recorded.ends == [("event", "job-raced", "CANCELLED"), ("reply", "job-raced", "CANCELLED")]
    assert table.get(job.job_id).status == JobStatus.CANCELLED
