"""The real ASL, end to end in moto's Step Functions interpreter, with faults injected: workers that run out of time
or are killed mid-page, throttling, a crash between listing and deleting, memories written while the job runs, a
failing store, cancellation, duplicate requests. Whatever happens, the scope ends up gone from both stores and every
other memory is left exactly as it was (full payloads compared).

A job makes at least two passes: the first erases, the next re-scans every store (the verification) and a pass that
finds nothing of the scope proves the job clean. So a plain job reports `passes == 2`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from functions.job_erase import app as erase_app
from memerase import runtime
from memerase.errors import JobConflict, RetryableStoreError, StoreError
from memerase.jobs.models import JobRecord, JobStatus
from memerase.models import Scope
from memerase.stores import s3_vectors_retry
from memerase.stores.s3_vectors import S3VectorsStore
from memerase.stores.s3_vectors_retry import DeleteRetry
from memerase_local.lambdas import TASKS, definition
from tests.support import mem0_data as m0
from tests.support.lambda_events import events_queue, received
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.seeded import Seeded
from tests.support.sfn_harness import StepFunctionsHarness, step_functions
from tests.support.targets import create_tables, memerase_config

USERS, PER_USER = 4, 150
VICTIM = "user-2"
SCOPE = Scope.of(user_id=VICTIM)
S3_SEGMENTS, OS_SLICES = 4, 2
WORK_ITEMS = S3_SEGMENTS + OS_SLICES  # per pass
TIME_MARGIN_MS = 1000
OUT_OF_TIME_MS = TIME_MARGIN_MS - 1  # a worker budget that stops the page loop after every page
# ListVectors stops a page at this many response bytes (AWS: ~1 MB). A mem0 entry is ~300 bytes, so a page holds
# ~20 vectors and each S3 segment (~150 vectors) takes several pages: many checkpoints per work item.
PAGE_BYTES = 6_000
# More throttled DeleteVectors in a row than the adapter absorbs across all workers (DeleteRetry.throttle_attempts each)
DELETE_BURST = S3_SEGMENTS * DeleteRetry.throttle_attempts + 1


class WorkerTimedOut(Exception):
    """What Lambda reports when it kills a function at its timeout."""

    error_type = "Sandbox.Timedout"


@dataclass
class World(Seeded):
    harness: StepFunctionsHarness
    limits: S3VectorsLimits

    def run(self, **start: Any) -> tuple[JobRecord, dict[str, Any]]:
        """Start a job erasing the victim, wait for its execution to end; the job record as it ends, the execution."""
        job, created = runtime.intake().start(SCOPE, requester="test", **start)
        assert created
        execution = self.harness.wait(job.execution_arn or "")
        return runtime.intake().get(job.job_id), execution

    def others(self) -> dict[str, dict[str, Any]]:
        return self.without(lambda m: m.payload["user_id"] == VICTIM)

    def assert_only_scope_gone(self, late: tuple[m0.Memory, ...] = ()) -> None:
        """Nothing of the victim is left in either store; every other memory is there with its full payload."""
        expected = self.others()
        assert m0.s3_contents(self.s3) == expected
        assert m0.opensearch_contents(self.os_) == expected
        assert not {m.id for m in late} & set(expected)

    def victims_in_s3(self) -> int:
        return sum(1 for p in m0.s3_contents(self.s3).values() if p["user_id"] == VICTIM)


@pytest.fixture
def jobs_settings() -> dict[str, Any]:
    """Extra `jobs` configuration; a test overrides it by parametrizing `jobs_settings`."""
    return {}


@pytest.fixture
def world(osmem_url: str, jobs_settings: dict[str, Any]) -> Iterator[World]:
    jobs = {"time_margin_ms": TIME_MARGIN_MS, **jobs_settings}
    with (
        step_functions(memerase_config(osmem_url, jobs=jobs, partitions=(S3_SEGMENTS, OS_SLICES))) as harness,
        S3VectorsLimits(max_page_bytes=PAGE_BYTES) as limits,
    ):
        create_tables()
        seeded = Seeded.write(osmem_url, m0.dataset(users=USERS, per_user=PER_USER))
        limits.reset_counts()
        yield World(**vars(seeded), harness=harness, limits=limits)


def completed(job: JobRecord, erased: int = 2 * PER_USER, passes: int = 2) -> None:
    """COMPLETED with a sealed receipt: `erased` memories gone over both stores, a clean last pass, no raw ids."""
    assert job.status == JobStatus.COMPLETED and job.scope is None and job.error is None
    assert job.receipt is not None and job.receipt == job.receipt.sealed()
    assert (job.receipt.erased, job.receipt.verified_remaining, job.receipt.passes) == (erased, 0, passes)
    assert job.pass_no == passes
    assert VICTIM not in json.dumps(job.public())


def eventually(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def record_targets(world: World) -> Counter[str]:
    """Count erase invocations per target ("s3" / "os"), through a fault hook that injects nothing."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def record(event: dict[str, Any]) -> None:
        with lock:
            seen[event["item"]["target"]] += 1

    world.harness.faults["job_erase"] = record
    return seen


# ---- a. workers that run out of time, or are killed ---------------------------------------------------------------


def test_worker_short_of_time_checkpoints_every_page_and_the_loop_finishes_the_job(world: World) -> None:
    # Given a worker whose Lambda budget is always below the time margin, so it stops after every page
    world.harness.budget_ms["job_erase"] = lambda: OUT_OF_TIME_MS
    per_target = record_targets(world)
    # When a job erases the victim
    job, execution = world.run()
    # Then the state machine looped the S3 workers once per ListVectors page (one page per invocation, over 2 passes
    # of 4 segments of several pages each) and the execution succeeded
    assert execution["status"] == "SUCCEEDED", execution
    assert per_target["s3"] == world.limits.requests["ListVectors"] >= 2 * S3_SEGMENTS * 5
    # And the job completed with an exact receipt, the victim gone and everything else intact
    completed(job)
    world.assert_only_scope_gone()


def test_worker_killed_between_deleting_and_checkpointing_is_retried_from_its_last_checkpoint(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given workers that stop after every page, and every 3rd S3 DeleteVectors is followed by Lambda killing the
    # worker (Sandbox.Timedout) before it could checkpoint: the page is deleted, its cursor not saved
    world.harness.budget_ms["job_erase"] = lambda: OUT_OF_TIME_MS
    original = S3VectorsStore.delete_batch
    calls, lost = [0], [0]

    def delete_then_die(store: S3VectorsStore, native_ids: Any) -> int:
        deleted = original(store, native_ids)
        calls[0] += 1
        if calls[0] % 3 == 0:
            lost[0] += deleted
            raise WorkerTimedOut("Task timed out after 900.00 seconds")
        return deleted

    monkeypatch.setattr(S3VectorsStore, "delete_batch", delete_then_die)
    # When a job erases the victim
    job, execution = world.run()
    # Then the killed workers were retried (Sandbox.Timedout is in the Retry rules) from their last saved cursor, and
    # the job completed with nothing of the victim left and everything else intact
    assert execution["status"] == "SUCCEEDED", execution
    assert calls[0] >= 9 and lost[0] > 0
    assert job.receipt is not None
    completed(job, erased=job.receipt.erased)
    world.assert_only_scope_gone()
    # And the receipt counts at most what was erased. What a killed worker deleted after its last checkpoint is not
    # counted (the re-listed page no longer holds it): see test_job_intake's receipt undercount test (a defect).
    assert 2 * PER_USER - lost[0] <= job.receipt.erased <= 2 * PER_USER


def test_worker_killed_before_it_starts_is_retried_and_the_job_completes_exactly(world: World) -> None:
    # Given every 3rd erase invocation times out before doing anything, and workers stop after every page
    world.harness.budget_ms["job_erase"] = lambda: OUT_OF_TIME_MS
    calls = [0]
    lock = threading.Lock()

    def every_third_times_out(_event: dict[str, Any]) -> None:
        with lock:
            calls[0] += 1
            if calls[0] % 3 == 0:
                raise WorkerTimedOut("Task timed out after 900.00 seconds")

    world.harness.faults["job_erase"] = every_third_times_out
    # When a job erases the victim
    job, execution = world.run()
    # Then it completed with an exact receipt: the timeouts cost only retries
    assert execution["status"] == "SUCCEEDED", execution
    assert calls[0] >= 3 * 10
    completed(job)
    world.assert_only_scope_gone()


# ---- b. throttling ------------------------------------------------------------------------------------------------


def test_throttled_s3_vectors_is_absorbed_by_client_retries_and_a_longer_burst_by_the_state_machine(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given S3 Vectors throttling every 2nd DeleteVectors (429), which the adapter's own short retries absorb, and
    # answering every 3rd ListVectors with a 503, which boto3's standard retries absorb (the waits of both skipped, as
    # the harness skips the state machine's)
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda _self, _ctx: 0)
    monkeypatch.setattr(s3_vectors_retry, "pause", lambda _seconds: None)
    world.limits.fail_every("DeleteVectors", 2, "TooManyRequestsException")
    world.limits.fail_every("ListVectors", 3, "ServiceUnavailableException")
    # And first a burst of throttled DeleteVectors longer than the adapter absorbs: a call fails for good after 60
    # attempts and up to 4 S3 workers run at once, so 4 x 60 + 1 failures in a row make at least one fail
    world.limits.fail_next("DeleteVectors", "TooManyRequestsException", times=DELETE_BURST)
    escalated: list[str] = []
    handler = erase_app.handler

    def recording(event: dict[str, Any], context: Any) -> Any:
        try:
            return handler(event, context)
        except Exception as exc:
            escalated.append(type(exc).__name__)
            raise

    monkeypatch.setattr(erase_app, "handler", recording)
    # When a job erases the victim, its workers stopping after every page (one DeleteVectors per page)
    world.harness.budget_ms["job_erase"] = lambda: OUT_OF_TIME_MS
    job, execution = world.run()
    # Then the burst surfaced as RetryableStoreError, which the state machine's Retry rules absorbed
    assert execution["status"] == "SUCCEEDED", execution
    assert world.limits.injected["DeleteVectors"] > DELETE_BURST and world.limits.injected["ListVectors"] >= 10
    assert escalated and set(escalated) == {"Throttled"}  # a RetryableStoreError the ASL retries by name
    # And the job completed with an exact receipt
    completed(job)
    world.assert_only_scope_gone()


# ---- c. a crash between listing and deleting ----------------------------------------------------------------------


def test_crash_after_listing_a_page_and_before_deleting_it_loses_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the 3rd S3 DeleteVectors of the job fails (retryably) after its page was listed, once
    original = S3VectorsStore.delete_batch
    calls, listed_before_crash = [0], [0]

    def crash_once(store: S3VectorsStore, native_ids: Any) -> int:
        calls[0] += 1
        if calls[0] == 3:
            listed_before_crash[0] = world.limits.requests["ListVectors"]
            raise RetryableStoreError("S3 Vectors delete_vectors on s3_vectors:mem0-test/mem0 failed: crash")
        return original(store, native_ids)

    monkeypatch.setattr(S3VectorsStore, "delete_batch", crash_once)
    # When a job erases the victim (workers stop after every page, so earlier pages are checkpointed)
    world.harness.budget_ms["job_erase"] = lambda: OUT_OF_TIME_MS
    job, execution = world.run()
    # Then the page had been listed, the worker was retried from its last checkpoint and erased the page on the
    # retry: the receipt is exact (nothing deleted twice or lost) and nothing else was touched
    assert execution["status"] == "SUCCEEDED", execution
    assert listed_before_crash[0] >= 3
    completed(job)
    world.assert_only_scope_gone()


# ---- d. memories written while the job runs -----------------------------------------------------------------------


def test_memories_of_the_scope_written_during_the_job_are_found_by_the_next_pass_and_erased(world: World) -> None:
    # Given mem0 writes new memories of the victim into both stores while the job runs: one racing the workers of the
    # first pass (during the 3rd erase invocation), one after the first pass finished, before its verification
    racing = m0.memory("a memory racing the workers", user_id=VICTIM, agent_id="agent-a")
    late = m0.memory("a memory written after the first pass", user_id=VICTIM, run_id="run-1")
    world.harness.budget_ms["job_erase"] = lambda: OUT_OF_TIME_MS
    erase_calls = [0]
    lock = threading.Lock()

    def write(memory: m0.Memory) -> None:
        m0.write(world.s3, [memory])
        m0.write(world.os_, [memory])

    def write_racing(_event: dict[str, Any]) -> None:
        with lock:
            erase_calls[0] += 1
            if erase_calls[0] == 3:
                write(racing)

    def write_late(_event: dict[str, Any]) -> None:
        if world.harness.invocations["job_verify"] == 1:
            write(late)

    world.harness.faults["job_erase"] = write_racing
    world.harness.faults["job_verify"] = write_late
    # When a job erases the victim
    job, execution = world.run()
    # Then the second pass found (at least) the late memory in both stores, a third pass found nothing, and the
    # job completed: every memory of the victim counted once, including both late ones
    assert execution["status"] == "SUCCEEDED", execution
    assert world.harness.invocations["job_plan"] == world.harness.invocations["job_verify"] == 3
    second = [p for p in runtime.job_steps()._jobs.list_progress(job.job_id) if p.item.pass_no == 2]
    assert sum(p.matched for p in second) >= 2
    completed(job, erased=2 * (PER_USER + 2), passes=3)
    # And both late memories are gone too, everything else intact
    world.assert_only_scope_gone((racing, late))


# ---- e. a failing store -------------------------------------------------------------------------------------------


def refuse_s3_deletes(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """S3 Vectors refuses every DeleteVectors with a non-retryable error while `broken[0]` is true."""
    broken = [True]
    original = S3VectorsStore.delete_batch

    def refuse(store: S3VectorsStore, native_ids: Any) -> int:
        if broken[0]:
            raise StoreError("S3 Vectors delete_vectors on s3_vectors:mem0-test/mem0 failed: AccessDeniedException")
        return original(store, native_ids)

    monkeypatch.setattr(S3VectorsStore, "delete_batch", refuse)
    return broken


def use_inline_map(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run jobs on a copy of the real ASL whose Map is INLINE. moto's DISTRIBUTED Map swallows failed iterations (it
    succeeds with null results); its INLINE Map fails as AWS's DISTRIBUTED Map does (no tolerated failures), so the
    Map's Catch to Record Failure is exercised as it would be on AWS."""
    lam, sfn = boto3.client("lambda"), boto3.client("stepfunctions")
    arns = {key: lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"] for key, name in TASKS.items()}
    asl = json.loads(definition(arns))
    asl["States"]["Erase Work Items"]["ItemProcessor"]["ProcessorConfig"] = {"Mode": "INLINE"}
    role = sfn.describe_state_machine(stateMachineArn=world.harness.state_machine_arn)["roleArn"]
    arn = sfn.create_state_machine(name="memerase-erasure-inline-map", definition=json.dumps(asl), roleArn=role)[
        "stateMachineArn"
    ]
    settings = json.loads(os.environ["MEMERASE_CONFIG"])
    settings["jobs"]["state_machine_arn"] = arn
    monkeypatch.setenv("MEMERASE_CONFIG", json.dumps(settings))
    runtime.reset()


@pytest.mark.parametrize("jobs_settings", [{"max_passes": 2}])
def test_failing_store_fails_the_job_through_record_failure_with_an_event_and_resume_completes_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = events_queue()
    # Given S3 Vectors refuses every DeleteVectors with a non-retryable error, and the Map fails when an iteration
    # fails, as on AWS (see use_inline_map)
    broken = refuse_s3_deletes(monkeypatch)
    use_inline_map(world, monkeypatch)
    # When a job erases the victim
    job, execution = world.run()
    # Then the S3 workers' StoreError (retried 3 times under States.TaskFailed) failed the Map, whose Catch led to
    # Record Failure: the job is FAILED with the error, the execution failed with ErasureFailed
    assert execution["status"] == "FAILED" and execution["error"] == "ErasureFailed", execution
    assert job.status == JobStatus.FAILED and job.error is not None and job.error.error == "StoreError"
    assert "AccessDeniedException" in job.error.cause
    assert world.harness.invocations["job_fail"] == 1 and world.harness.invocations["job_finalize"] == 0
    # And neither the error nor the public record holds a raw id: not the victim, not any of its memory ids
    victim_ids = {m.id for m in world.data if m.payload["user_id"] == VICTIM}
    for text in (job.error.model_dump_json(), json.dumps(job.public())):
        assert VICTIM not in text and not any(i in text for i in victim_ids)
    # And S3 kept everything (OpenSearch's workers may or may not have finished before the Map failed), nothing
    # outside the scope was touched anywhere
    assert m0.s3_contents(world.s3) == world.everything()
    assert {k: v for k, v in m0.opensearch_contents(world.os_).items() if v["user_id"] != VICTIM} == world.others()
    # And ErasureFailed was emitted
    failed = received(queue)
    assert [e["detail-type"] for e in failed] == ["ErasureFailed"]
    assert failed[0]["detail"]["job_id"] == job.job_id and failed[0]["detail"]["error"] == "StoreError"

    # When the store is fixed and the job resumed
    broken[0] = False
    resumed = runtime.intake().resume(job.job_id)
    execution = world.harness.wait(resumed.execution_arn or "")
    # Then a second execution finished it from the persisted work items (those done before the failure not redone)
    assert execution["status"] == "SUCCEEDED", execution
    assert resumed.execution_arn != job.execution_arn and resumed.executions == 2
    completed(runtime.intake().get(job.job_id))
    world.assert_only_scope_gone()
    assert [e["detail-type"] for e in received(queue)] == ["ErasureCompleted"]


@pytest.mark.parametrize("jobs_settings", [{"max_passes": 2}])
def test_job_whose_work_items_failed_is_never_completed_while_the_scope_remains(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given S3 Vectors refuses every DeleteVectors with a non-retryable error, and the real ASL (DISTRIBUTED Map:
    # in moto, failed iterations do not fail the Map)
    refuse_s3_deletes(monkeypatch)
    # When a job erases the victim
    job, execution = world.run()
    # Then the job must not claim a clean erasure while all of the victim's memories are still in S3
    left = world.victims_in_s3()
    assert left == PER_USER
    assert job.status != JobStatus.COMPLETED, f"job COMPLETED (receipt {job.receipt}) with {left} memories left"
    assert job.status == JobStatus.FAILED and execution["status"] == "FAILED"


# ---- f. cancel ----------------------------------------------------------------------------------------------------


def track_erase_workers(monkeypatch: pytest.MonkeyPatch, gate: threading.Event | None = None) -> threading.Event:
    """Count erase invocations in flight; the returned event is set whenever none is. With `gate`, every invocation
    is held before it starts until the gate opens."""
    idle = threading.Event()
    running = [0]
    lock = threading.Lock()
    handler = erase_app.handler

    def tracked(event: dict[str, Any], context: Any) -> Any:
        with lock:
            running[0] += 1
            idle.clear()
        try:
            if gate is not None:
                gate.wait(30)
            return handler(event, context)
        finally:
            with lock:
                running[0] -= 1
                if not running[0]:
                    idle.set()

    monkeypatch.setattr(erase_app, "handler", tracked)
    return idle


def test_cancelled_job_is_aborted_its_in_flight_workers_do_nothing_and_resume_finishes_it_exactly(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a running job whose erase workers are all in flight (held before they start)
    gate = threading.Event()
    idle = track_erase_workers(monkeypatch, gate)
    per_target = record_targets(world)
    job, _ = runtime.intake().start(SCOPE, requester="test")
    try:
        eventually(lambda: sum(per_target.values()) == WORK_ITEMS)
        # When it is cancelled
        cancelled = runtime.intake().cancel(job.job_id)
        assert cancelled.status == JobStatus.CANCELLED
    finally:
        gate.set()
    # Then its execution is ABORTED (moto reflects the stop once the in-flight tasks return)
    execution = world.harness.wait(job.execution_arn or "")
    assert execution["status"] == "ABORTED", execution
    # And the workers in flight found the job CANCELLED and erased nothing; no later state ran (no Record Failure)
    assert idle.wait(30)
    assert runtime.intake().get(job.job_id).status == JobStatus.CANCELLED
    assert len(m0.s3_contents(world.s3)) == len(m0.opensearch_contents(world.os_)) == USERS * PER_USER
    assert world.harness.invocations["job_verify"] == world.harness.invocations["job_fail"] == 0

    # When the job is resumed
    resumed = runtime.intake().resume(job.job_id)
    execution = world.harness.wait(resumed.execution_arn or "")
    # Then a second execution completed it with an exact receipt and nothing else touched
    assert execution["status"] == "SUCCEEDED", execution
    assert resumed.executions == 2
    completed(runtime.intake().get(job.job_id))
    world.assert_only_scope_gone()


def test_worker_in_flight_when_the_job_is_cancelled_stops_erasing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a running job whose S3 workers have started (the job was RUNNING) and are about to list their first page,
    # held there; with an ample time budget each would go through its whole segment in this invocation
    gate, entered = threading.Event(), [0]
    lock = threading.Lock()
    idle = track_erase_workers(monkeypatch)
    original = S3VectorsStore.list_matching

    def held_first_listing(store: S3VectorsStore, *args: Any) -> Any:
        if not gate.is_set():
            with lock:
                entered[0] += 1
            gate.wait(30)
        return original(store, *args)

    monkeypatch.setattr(S3VectorsStore, "list_matching", held_first_listing)
    job, _ = runtime.intake().start(SCOPE, requester="test")
    try:
        eventually(lambda: entered[0] == S3_SEGMENTS)
        # When the job is cancelled before S3 lost a single memory, and the workers then go on
        assert runtime.intake().cancel(job.job_id).status == JobStatus.CANCELLED
        assert world.victims_in_s3() == PER_USER
    finally:
        gate.set()
    assert world.harness.wait(job.execution_arn or "")["status"] == "ABORTED"
    assert idle.wait(30)
    # Then they stop at their next page boundary: most of the victim's memories are still in S3 (a cancelled
    # erasure does not go on). Today every S3 worker erases its whole segment after the cancellation.
    assert world.victims_in_s3() > PER_USER // 2


# ---- g. duplicate start requests ----------------------------------------------------------------------------------


def test_duplicate_start_requests_yield_one_job_and_one_execution(world: World) -> None:
    # Given a job started with an idempotency key, held in Plan Work so that it stays active
    gate = threading.Event()

    def hold(_event: dict[str, Any]) -> None:
        gate.wait(30)

    world.harness.faults["job_plan"] = hold
    launcher = runtime.intake()
    sfn = boto3.client("stepfunctions")
    try:
        first, created = launcher.start(SCOPE, requester="test", idempotency_key="ticket-42")
        assert created
        # When the same request comes again with the same key
        again, created_again = launcher.start(SCOPE, requester="test", idempotency_key="ticket-42")
        # Then it is the same job, and only one execution was started
        assert (again.job_id, created_again) == (first.job_id, False)
        # When the same scope is requested without a key while the job is active
        unkeyed, created_unkeyed = launcher.start(SCOPE, requester="someone else")
        # Then that is the same job too
        assert (unkeyed.job_id, created_unkeyed) == (first.job_id, False)
        # When the key is reused for a different scope
        # Then it is a conflict
        with pytest.raises(JobConflict):
            launcher.start(Scope.of(user_id="user-1"), requester="test", idempotency_key="ticket-42")
        executions = sfn.list_executions(stateMachineArn=world.harness.state_machine_arn)["executions"]
        assert [e["executionArn"] for e in executions] == [first.execution_arn]
    finally:
        gate.set()
    # And the one job completes exactly, user-1 untouched
    assert world.harness.wait(first.execution_arn or "")["status"] == "SUCCEEDED"
    completed(launcher.get(first.job_id))
    world.assert_only_scope_gone()
    # And the key still maps to the finished job, without a new execution
    later, created_later = launcher.start(SCOPE, requester="test", idempotency_key="ticket-42")
    assert (later.job_id, created_later, later.status) == (first.job_id, False, JobStatus.COMPLETED)
    assert len(sfn.list_executions(stateMachineArn=world.harness.state_machine_arn)["executions"]) == 1
