"""Jobs that do what they say (issue 17): a failed job reports exactly what is gone, a job that meets a down store
ends FAILED (never RUNNING forever) and a repeated request resumes it, a job's status is read from the jobs table
alone, a job whose runner died is shown as stalled, and no order of two starts lets two jobs hold one scope. Inline
and background runs over moto server (S3 Vectors with AWS's limits) and osmem-server, with the World of
test_job_intake."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from memerase import runtime
from memerase.engine import Eraser
from memerase.errors import JobConflict, RetryableStoreError, StoreError
from memerase.jobs.models import JobStatus
from memerase.jobs.runners import InProcessRunner
from memerase.models import Scope
from memerase.stores.opensearch import OpenSearchStore
from memerase.stores.s3_vectors import S3VectorsStore
from tests.integration import test_job_intake as harness
from tests.integration.test_job_intake import JOBS, PARTITIONS, PER_USER, SCOPE, VICTIM, World
from tests.support.jobs import FakeStepFunctions, stepped_intake
from tests.support.targets import Deploy, memerase_config

world = harness.world  # the fixture: 4 users x 60 memories in S3 Vectors and OpenSearch, inline jobs
STORE_CALLS = ("exists", "list_matching", "delete_batch", "lookup", "count_remaining", "stored", "read")


def victims_gone(world: World) -> int:
    s3, os_ = world.contents()
    return 2 * PER_USER - sum(1 for p in [*s3.values(), *os_.values()] if p["user_id"] == VICTIM)


def down(monkeypatch: pytest.MonkeyPatch, store: type) -> list[bool]:
    """`store`'s endpoint is down: every call fails as an unreachable endpoint does (RetryableStoreError, what the
    adapters raise for it) until the returned switch is cleared."""
    switch = [True]
    calls = {name: getattr(store, name) for name in STORE_CALLS if hasattr(store, name)}

    def failing(name: str) -> Callable[..., Any]:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            if switch:
                raise RetryableStoreError(f"{name}: endpoint unreachable")
            return calls[name](self, *args, **kwargs)

        return call

    for name in calls:
        monkeypatch.setattr(store, name, failing(name))
    return switch


@pytest.fixture
def background(world: World) -> Iterator[list[Future[Any]]]:
    """Jobs run on a background thread, as `memerase serve` with a configuration runs them."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        runner = runtime.job_runner()
        assert isinstance(runner, InProcessRunner)
        futures: list[Future[Any]] = []
        runner.run_in_background(lambda work: futures.append(pool.submit(work)))
        yield futures


def test_a_failed_job_reports_exactly_the_memories_that_are_gone(
    world: World, monkeypatch: pytest.MonkeyPatch, osmem_url: str, deploy: Deploy
) -> None:
    """Before: a batch was counted before its delete request, so a job whose delete failed said 2,500 erased while
    2,000 were gone (issue 17)."""
    # Given S3 Vectors refusing its third delete request (delete batches of 20), the job run inline
    monkeypatch.setattr(S3VectorsStore, "batch_size", 20)
    original, sent = S3VectorsStore.delete_batch, []

    def refuse_third(store: S3VectorsStore, native_ids: Any) -> int:
        sent.append(len(native_ids))
        if len(sent) == 3:
            raise StoreError("S3 Vectors delete_vectors failed: AccessDeniedException")
        return original(store, native_ids)

    monkeypatch.setattr(S3VectorsStore, "delete_batch", refuse_third)
    # When the job runs
    with pytest.raises(StoreError):
        runtime.intake().start(SCOPE, requester="test")
    # Then it is FAILED, and its counts are exactly what the stores no longer hold: the two batches the store
    # confirmed; the refused one is named as in doubt (its request failed: it may or may not have been applied)
    [job] = runtime.intake().list_jobs()
    failed = runtime.intake().get(job.job_id)
    assert failed.status == JobStatus.FAILED and failed.error is not None and failed.error.error == "StoreError"
    assert failed.memories_erased == victims_gone(world) == sum(sent[:2]) and failed.in_doubt == sent[2]
    assert "in doubt" in failed.summary()
    # And a resume settles the batch in doubt (read again: still there, so erased now) and completes exactly
    monkeypatch.setattr(S3VectorsStore, "delete_batch", original)
    done = runtime.intake().resume(job.job_id)
    assert done.status == JobStatus.COMPLETED and done.memories_erased == 2 * PER_USER and done.in_doubt == 0
    world.assert_only_scope_gone()


def test_a_background_job_meeting_a_down_store_ends_failed_and_the_same_request_resumes_it(
    world: World, monkeypatch: pytest.MonkeyPatch, background: list[Future[Any]]
) -> None:
    """Before: the failure's own bookkeeping asked the down store (its entity collection) for the counts, so the job
    stayed RUNNING forever; the same request again was answered with that stuck job (issue 17)."""
    # Given OpenSearch down from the start, jobs run in the background
    outage = down(monkeypatch, OpenSearchStore)
    # When an erasure is requested and its job runs
    job, created = runtime.intake().start(SCOPE, requester="test")
    assert created and job.status == JobStatus.QUEUED
    background[-1].result(timeout=60)  # the runner logs the failure: nobody waits for its thread
    # Then the job is FAILED with the error's name, not RUNNING; its status was read with the store still down
    failed = runtime.intake().get(job.job_id)
    assert failed.status == JobStatus.FAILED and failed.error is not None
    assert failed.error.error == "RetryableStoreError" and "resume it" in failed.summary()
    # When the store is back and the same request is made again
    outage.clear()
    again, created = runtime.intake().start(SCOPE, requester="test")
    background[-1].result(timeout=60)
    # Then it resumed the failed job (and says so), which completed the erasure
    assert not created and again.job_id == job.job_id and again.resumed
    done = runtime.intake().get(job.job_id)
    assert done.status == JobStatus.COMPLETED and done.memories_erased == 2 * PER_USER
    world.assert_only_scope_gone()


def test_a_jobs_status_and_receipt_are_read_from_the_jobs_table_alone(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: reading a job built the engine and asked each target whether its entity collection exists, so
    `GET /v1/erasures/{id}` answered 503 while a store was down (issue 17)."""
    # Given a job queued for Step Functions, one planned and running, and one completed
    intake = stepped_intake(FakeStepFunctions())
    queued, _ = intake.start(SCOPE, requester="test")
    running, _ = intake.start(Scope.of(user_id="user-2"), requester="test")
    runtime.job_steps().plan(running.job_id)
    completed, _ = runtime.intake().start(Scope.of(user_id="user-3"), requester="test")
    # When both stores are down and the engine cannot even be built
    down(monkeypatch, OpenSearchStore)
    down(monkeypatch, S3VectorsStore)
    monkeypatch.setattr(Eraser, "stores", lambda _self: (_ for _ in ()).throw(RetryableStoreError("stores down")))
    # Then each job's status (and the receipt) is read as the jobs table has it
    assert intake.get(queued.job_id).status == JobStatus.QUEUED
    shown = intake.get(running.job_id)
    assert shown.status == JobStatus.RUNNING and {p.target for p in shown.progress} == {"s3", "os"}
    assert intake.get(completed.job_id).receipt == completed.receipt is not None
    # And a cancel is answered too, with the counts of what is gone
    assert intake.cancel(running.job_id).memories_erased == 0


def test_a_job_whose_runner_died_is_shown_stalled_and_the_same_request_resumes_it(
    world: World, osmem_url: str, deploy: Deploy
) -> None:
    """Before: a job whose process died stayed RUNNING, and resume answered 409 "is RUNNING" (issue 17)."""
    # Given a job that planned its pass, then its process died (nothing runs it), and a stall threshold of 1 s
    deploy(memerase_config(osmem_url, jobs={**JOBS, "stall_seconds": 1}, partitions=PARTITIONS))
    intake = stepped_intake(FakeStepFunctions())
    job, _ = intake.start(SCOPE, requester="test")
    runtime.job_steps().plan(job.job_id)
    # When it is read after the threshold
    assert not intake.get(job.job_id).stalled
    time.sleep(1.5)
    stalled = intake.get(job.job_id)
    # Then it is shown RUNNING but stalled, with when it last progressed
    assert stalled.status == JobStatus.RUNNING and stalled.stalled and stalled.last_activity
    assert "stalled" in stalled.summary() and stalled.public()["stalled"] is True
    # When the same request is made again (here, run in this process)
    again, created = runtime.intake().start(SCOPE, requester="test")
    # Then it resumed that job, which erased the scope
    assert not created and again.job_id == job.job_id and again.resumed
    assert runtime.intake().get(job.job_id).status == JobStatus.COMPLETED
    world.assert_only_scope_gone()


def test_a_scope_lock_held_by_a_start_in_progress_is_not_taken(world: World) -> None:
    """Before: a lock whose holder's job record was not written yet was taken over, so two concurrent starts both
    held the scope (issue 17, jobs/repository.py)."""
    # Given a start that took the scope's lock and has not written its job record yet
    jobs = runtime.jobs_table()
    assert jobs.claim_scope("lock-1", "job-first") is None
    # When a second start asks for the lock
    # Then the first still holds it, and the intake tells the second to try again (409), starting nothing
    assert jobs.claim_scope("lock-1", "job-second") == "job-first"
    lock = runtime.hasher().scope(SCOPE)
    assert jobs.claim_scope(lock, "job-starting") is None
    with pytest.raises(JobConflict, match="try again"):
        runtime.intake().start(SCOPE, requester="test")
    assert world.contents() == (world.everything(), world.everything())


def test_of_two_starts_taking_over_an_ended_jobs_lock_exactly_one_wins(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a scope lock whose holder ended (cancelled), and two starts that both read that holder before either
    # writes
    intake = stepped_intake(FakeStepFunctions())
    ended, _ = intake.start(SCOPE, requester="test")
    intake.cancel(ended.job_id)
    jobs = runtime.jobs_table()
    assert jobs.claim_scope(ended.lock_key(), ended.job_id) is None  # the ended job's lock is back (stale)
    both_read = threading.Barrier(2)
    holds = type(jobs)._holds

    def read_together(self: Any, job_id: str, claimed_at: int, keeps: Any) -> bool:
        held = holds(self, job_id, claimed_at, keeps)
        if job_id == ended.job_id:
            both_read.wait(10)
        return held

    monkeypatch.setattr(type(jobs), "_holds", read_together)
    # When both take the lock over at once
    answers: dict[str, str | None] = {}
    threads = [
        threading.Thread(target=lambda n=n: answers.update({n: jobs.claim_scope(ended.lock_key(), n)}))
        for n in ("job-a", "job-b")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    # Then exactly one took it, and the other was told who holds it
    winners = [n for n, holder in answers.items() if holder is None]
    assert len(winners) == 1 and set(answers.values()) == {None, winners[0]}
