"""The job launcher without Step Functions: `state_machine_arn` unset, so `start`/`resume` run the state machine's
steps inline. Real wire protocols throughout (moto server over HTTP with S3 Vectors' AWS limits, osmem-server).

The inline path must produce what the Step Functions path produces; here the Step Functions path is the same task
handlers (`functions/job_*/app.py`) driven with the ASL's payloads, in the ASL's order (the real ASL in moto's
interpreter is exercised by tests/e2e)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from functions.job_erase import app as erase_app
from functions.job_fail import app as fail_app
from functions.job_finalize import app as finalize_app
from functions.job_plan import app as plan_app
from functions.job_verify import app as verify_app
from memerase import runtime
from memerase.errors import JobConflict, RetryableStoreError, StoreError, VerificationFailed
from memerase.jobs.intake import JobIntake
from memerase.jobs.models import JobRecord, JobStatus, Receipt
from memerase.jobs.repository import JobsTable
from memerase.jobs.steps import JobSteps
from memerase.models import Scope
from memerase.stores.s3_vectors import S3VectorsStore
from memerase_local.handlers import LambdaContext
from tests.support import mem0_data as m0
from tests.support.jobs import STATE_MACHINE, FakeStepFunctions, stepped_intake
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.seeded import Seeded
from tests.support.targets import JOBS_TABLE, Deploy, create_tables, memerase_config

USERS, PER_USER = 4, 60
VICTIM = "user-1"
SCOPE = Scope.of(user_id=VICTIM)
S3_SEGMENTS, OS_SLICES = 4, 2
# ListVectors stops a page at this many response bytes (~20 mem0 vectors), so S3 segments take several pages
PAGE_BYTES = 6_000


JOBS = {"time_margin_ms": 1000}  # the jobs section of this file's configurations
PARTITIONS = (S3_SEGMENTS, OS_SLICES)


@dataclass
class World(Seeded):
    limits: S3VectorsLimits

    @property
    def launcher(self) -> JobIntake:
        return runtime.intake()

    @property
    def jobs(self) -> JobsTable:
        return JobsTable(JOBS_TABLE)

    def victims(self) -> list[m0.Memory]:
        return self.of(VICTIM)

    def others(self) -> dict[str, dict[str, Any]]:
        return self.without(lambda m: m.payload["user_id"] == VICTIM)

    def assert_only_scope_gone(self) -> None:
        assert self.contents() == (self.others(), self.others())

    def rewrite_victims(self) -> None:
        """Put the victim's memories back (same ids, same payloads) into both stores."""
        m0.write(self.s3, self.victims())
        m0.write(self.os_, self.victims())

    def table_items(self, job_id: str) -> list[dict[str, Any]]:
        """Every raw DynamoDB item of one job (record and work item progress), as stored."""
        client = boto3.client("dynamodb")
        response = client.query(
            TableName=JOBS_TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"job#{job_id}"}},
        )
        return list(response["Items"])


@pytest.fixture
def world(aws: str, osmem_url: str, deploy: Deploy) -> Iterator[World]:
    with S3VectorsLimits(max_page_bytes=PAGE_BYTES) as limits:
        create_tables()
        seeded = Seeded.write(osmem_url, m0.dataset(users=USERS, per_user=PER_USER))
        deploy(memerase_config(osmem_url, jobs=JOBS, partitions=PARTITIONS))
        yield World(**vars(seeded), limits=limits)


def drive_like_the_state_machine(job_id: str) -> dict[str, Any]:
    """The ASL's flow over the task handlers with the ASL's payloads: Plan Work, every work item's Erase Pages loop,
    Verify Erasure, then Finalize Job, another pass, or Record Failure."""
    context = LambdaContext("task", lambda: 900_000)
    while True:
        for item in plan_app.handler({"job_id": job_id}, context)["items"]:
            while not erase_app.handler({"job_id": job_id, "item": item}, context)["done"]:
                pass
        verdict = verify_app.handler({"job_id": job_id}, context)
        if verdict["clean"]:
            return dict(finalize_app.handler({"job_id": job_id}, context))
        if not verdict["retry"]:
            return dict(fail_app.handler({"job_id": job_id, "error": "VerificationFailed", "cause": ""}, context))


def digest(receipt: Receipt) -> str:
    """The receipt's digest, recomputed independently: SHA-256 over the canonical JSON of everything but the digest."""
    body = receipt.model_dump(exclude={"digest"})
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


VOLATILE = {"job_id", "created_at", "updated_at", "started_at", "completed_at", "execution_arn", "executions", "runner"}


def comparable(job: JobRecord) -> dict[str, Any]:
    """The public job record without what differs between any two runs (ids, timestamps, execution)."""
    public = {k: v for k, v in job.public().items() if k not in VOLATILE}
    receipt = dict(public.pop("receipt") or {})
    return {
        **public,
        "receipt": {k: v for k, v in receipt.items() if k not in {"job_id", "requested_at", "completed_at", "digest"}},
    }


# ---- the inline path is the Step Functions path -------------------------------------------------------------------


def test_an_inline_job_ends_with_the_same_record_and_receipt_as_the_step_functions_path(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 4 users x 60 memories in both stores, and no state machine configured
    # When a job erases user-1 inline
    inline, created = world.launcher.start(SCOPE, requester="test", source="api", reason="gdpr_art17")
    # Then it returns COMPLETED with a sealed receipt whose digest verifies, everything else intact
    assert created and inline.status == JobStatus.COMPLETED and inline.execution_arn is None
    assert inline.receipt is not None and inline.receipt.digest == digest(inline.receipt)
    assert inline.receipt == inline.receipt.sealed() and inline == world.launcher.get(inline.job_id)
    assert (inline.receipt.erased, inline.receipt.verified_remaining, inline.receipt.passes) == (2 * PER_USER, 0, 2)
    world.assert_only_scope_gone()

    # Given the same memories back, and a launcher with a state machine (its executions driven through the handlers)
    world.rewrite_victims()
    sfn = FakeStepFunctions()
    launcher = stepped_intake(sfn)
    # When the same erasure is started there and its execution runs
    queued, created = launcher.start(SCOPE, requester="test", source="api", reason="gdpr_art17")
    assert created and queued.status == JobStatus.QUEUED and queued.executions == 1
    assert sfn.started == [
        {"stateMachineArn": STATE_MACHINE, "name": queued.job_id, "input": {"job_id": queued.job_id}}
    ]
    assert drive_like_the_state_machine(queued.job_id) == {"status": "COMPLETED", "erased": 2 * PER_USER}
    stepped = launcher.get(queued.job_id)
    # Then both records have the same fields and, but for ids, timestamps and the execution, the same values:
    # status, requester, per-store progress, passes, and a receipt over the same counts
    assert set(inline.public()) == set(stepped.public())
    assert comparable(inline) == comparable(stepped)
    assert stepped.receipt is not None and stepped.receipt.digest == digest(stepped.receipt)
    assert stepped.execution_arn and stepped.execution_arn.endswith(queued.job_id)
    world.assert_only_scope_gone()


def test_an_inline_job_records_per_store_progress_that_sums_to_its_work_items_and_its_receipt(world: World) -> None:
    # Given 4 users x 60 memories in both stores (S3: 4 segments of several pages; OpenSearch: 2 slices)
    # When a job erases user-1 inline
    job, _ = world.launcher.start(SCOPE, requester="test")
    items = world.jobs.list_progress(job.job_id)
    assert job.receipt is not None
    # Then there is one progress row per work item and pass (2 passes: the erasure, then the clean re-scan)
    assert sorted((p.item.target, p.item.pass_no) for p in items) == sorted(
        [("s3", n) for n in (1, 2) for _ in range(S3_SEGMENTS)] + [("os", n) for n in (1, 2) for _ in range(OS_SLICES)]
    )
    assert all(p.done and p.cursor is None for p in items)
    # And each store's progress is the sum of its work items: the first pass deleted the victim, the second found
    # nothing. S3 Vectors has no server-side filter, so its workers scanned every vector in both passes; OpenSearch
    # queries by scope, so its workers scanned only the victim's memories
    by_target = {p.target: p for p in job.progress}
    scanned = {"s3": USERS * PER_USER + (USERS - 1) * PER_USER, "os": PER_USER}
    for target, partitions in (("s3", S3_SEGMENTS), ("os", OS_SLICES)):
        rows = [p for p in items if p.item.target == target]
        store = by_target[target]
        assert store.scanned == sum(p.scanned for p in rows) == scanned[target]
        assert store.deleted == sum(p.deleted for p in rows) == sum(p.matched for p in rows) == PER_USER
        assert (store.items_done, store.items_total, store.remaining) == (partitions, partitions, 0)
        assert sum(p.matched for p in rows if p.item.pass_no == 2) == 0
    # And the receipt is those per-store totals
    assert job.receipt.stores == job.progress
    assert job.receipt.erased == sum(p.deleted for p in job.progress) == 2 * PER_USER
    # And S3 was read a page at a time (several ListVectors pages per segment)
    assert world.limits.requests["ListVectors"] > 2 * S3_SEGMENTS
    world.assert_only_scope_gone()


def test_completed_job_leaves_no_raw_id_anywhere_in_the_jobs_table(world: World) -> None:
    # Given a completed inline job that erased user-1, requested with an idempotency key
    job, _ = world.launcher.start(SCOPE, requester="test", reason="user_request", idempotency_key="ticket-9")
    assert job.status == JobStatus.COMPLETED
    # When the whole jobs table is read raw: the job record, every work item's progress, scope locks, keys
    items = boto3.client("dynamodb").scan(TableName=JOBS_TABLE)["Items"]
    stored = json.dumps(items)
    # Then nothing holds the user id or any of the erased memory ids; the raw scope is gone from the record and
    # the scope lock is released (the key is stored hashed)
    assert len(world.table_items(job.job_id)) == 1 + 2 * (S3_SEGMENTS + OS_SLICES)
    assert VICTIM not in stored and "ticket-9" not in stored
    assert not [m.id for m in world.victims() if m.id in stored]
    assert '"scope"' not in json.dumps(world.table_items(job.job_id)) and job.scope_hash in stored
    assert not [i for i in items if i["pk"]["S"].startswith("scope#")]


# ---- dry run ------------------------------------------------------------------------------------------------------


def test_dry_run_job_counts_the_scope_in_every_store_and_deletes_nothing(world: World) -> None:
    # Given 4 users x 60 memories in both stores
    # When a dry-run job is started for user-1
    job, created = world.launcher.start(SCOPE, requester="test", dry_run=True)
    # Then it is COMPLETED at once with each store's count of the scope, nothing deleted, no receipt, no raw scope
    assert created and job.status == JobStatus.COMPLETED and job.dry_run and job.receipt is None
    assert sorted((p.target, p.remaining, p.deleted) for p in job.progress) == [
        ("os", PER_USER, 0),
        ("s3", PER_USER, 0),
    ]
    assert job.scope is None and VICTIM not in json.dumps(world.table_items(job.job_id))
    assert world.contents() == (world.everything(), world.everything())
    assert world.limits.requests["DeleteVectors"] == 0
    # And it held no lock on the scope: a real erasure starts a new job right after
    real, created = world.launcher.start(SCOPE, requester="test")
    assert created and real.job_id != job.job_id and real.status == JobStatus.COMPLETED
    world.assert_only_scope_gone()


def test_dry_run_with_a_state_machine_runs_inline_and_starts_no_execution(world: World) -> None:
    # Given a launcher with a state machine
    sfn = FakeStepFunctions()
    launcher = stepped_intake(sfn)
    # When a dry run is started
    job, _ = launcher.start(SCOPE, requester="test", dry_run=True)
    # Then it counted inline: no execution, nothing deleted
    assert job.status == JobStatus.COMPLETED and sfn.started == [] and job.execution_arn is None
    assert world.contents() == (world.everything(), world.everything())


def test_real_erasure_reusing_a_dry_runs_idempotency_key_is_not_answered_with_the_dry_run(world: World) -> None:
    # Given a dry run made with an idempotency key
    dry, _ = world.launcher.start(SCOPE, requester="test", dry_run=True, idempotency_key="ticket-7")
    assert dry.dry_run and dry.status == JobStatus.COMPLETED
    # When the real erasure is requested with the same key
    try:
        job, _ = world.launcher.start(SCOPE, requester="test", idempotency_key="ticket-7")
    except JobConflict:
        return  # refused: acceptable
    # Then it is not the dry run: the scope is erased
    assert not job.dry_run
    world.assert_only_scope_gone()


# ---- cancel and resume: what is not allowed -----------------------------------------------------------------------


def test_cancelling_or_resuming_a_completed_job_is_a_conflict_and_changes_nothing(world: World) -> None:
    # Given a completed job
    job, _ = world.launcher.start(SCOPE, requester="test")
    assert job.status == JobStatus.COMPLETED
    # When it is cancelled, or resumed
    # Then both are refused with JobConflict (HTTP 409)
    with pytest.raises(JobConflict, match="COMPLETED") as cancelled:
        world.launcher.cancel(job.job_id)
    with pytest.raises(JobConflict, match="COMPLETED"):
        world.launcher.resume(job.job_id)
    assert cancelled.value.status == 409
    # And the job is unchanged
    assert world.launcher.get(job.job_id) == job


def test_cancelling_a_failed_job_is_a_conflict_and_resuming_it_completes_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an inline job that failed: S3 Vectors refused its deletes
    original = S3VectorsStore.delete_batch
    broken = [True]

    def refuse(store: S3VectorsStore, native_ids: Any) -> int:
        if broken[0]:
            raise StoreError("S3 Vectors delete_vectors on s3_vectors:mem0-test/mem0 failed: AccessDeniedException")
        return original(store, native_ids)

    monkeypatch.setattr(S3VectorsStore, "delete_batch", refuse)
    with pytest.raises(Exception, match="AccessDeniedException"):
        world.launcher.start(SCOPE, requester="test")
    failed = next(j for j in failed_jobs(world))
    assert failed.status == JobStatus.FAILED and failed.error is not None and failed.error.error == "StoreError"
    assert VICTIM not in failed.error.model_dump_json()
    # When it is cancelled
    # Then that is a conflict: it is not running
    with pytest.raises(JobConflict, match="FAILED"):
        world.launcher.cancel(failed.job_id)
    # When the store is fixed and the job resumed (inline)
    broken[0] = False
    done = world.launcher.resume(failed.job_id)
    # Then it completes exactly
    assert done.status == JobStatus.COMPLETED and done.receipt is not None
    assert done.receipt.erased == 2 * PER_USER and done.receipt.digest == digest(done.receipt)
    world.assert_only_scope_gone()


def failed_jobs(world: World) -> Iterator[JobRecord]:
    scan = boto3.client("dynamodb").scan(TableName=JOBS_TABLE)["Items"]
    for item in scan:
        if item["sk"]["S"] == "job":
            job = world.launcher.get(item["pk"]["S"].removeprefix("job#"))
            if job.status == JobStatus.FAILED:
                yield job


# ---- defects ------------------------------------------------------------------------------------------------------


def write_before_each_verification(
    world: World, steps: JobSteps, monkeypatch: pytest.MonkeyPatch, times: int
) -> list[m0.Memory]:
    """mem0 writes one new memory of the victim into both stores just before each of the first `times`
    verifications (i.e. after that pass's workers went past it)."""
    written: list[m0.Memory] = []
    verify = steps.verify

    def racing_verify(job_id: str) -> Any:
        if len(written) < times:
            memory = m0.memory(f"late memory {len(written)}", user_id=VICTIM)
            m0.write(world.s3, [memory])
            m0.write(world.os_, [memory])
            written.append(memory)
        return verify(job_id)

    monkeypatch.setattr(steps, "verify", racing_verify)
    return written


def test_job_whose_every_pass_finds_a_late_memory_fails_with_verification_failed(
    world: World, monkeypatch: pytest.MonkeyPatch, osmem_url: str, deploy: Deploy
) -> None:
    # Given a job allowed 2 passes, and mem0 writing a memory of the victim before each verification
    deploy(memerase_config(osmem_url, jobs={**JOBS, "max_passes": 2}, partitions=PARTITIONS))
    late = write_before_each_verification(world, runtime.job_steps(), monkeypatch, times=2)
    # When the job runs inline
    with pytest.raises(VerificationFailed):
        world.launcher.start(SCOPE, requester="test")
    # Then it FAILED with VerificationFailed after its 2 passes; the memory written before the last verification
    # is still there (and only that one), everything else intact
    job = next(failed_jobs(world))
    assert job.error is not None and job.error.error == "VerificationFailed" and job.pass_no == 2
    assert m0.s3_contents(world.s3) == {**world.others(), late[1].id: late[1].payload}


def test_resuming_a_job_that_failed_verification_runs_a_fresh_pass_and_completes(
    world: World, monkeypatch: pytest.MonkeyPatch, osmem_url: str, deploy: Deploy
) -> None:
    # Given a job allowed 2 passes that FAILED with VerificationFailed: mem0 wrote a memory of the victim before
    # each verification, and the second pass found (and erased) the first of them
    deploy(memerase_config(osmem_url, jobs={**JOBS, "max_passes": 2}, partitions=PARTITIONS))
    steps = runtime.job_steps()
    write_before_each_verification(world, steps, monkeypatch, times=1)
    with pytest.raises(VerificationFailed):
        world.launcher.start(SCOPE, requester="test")
    job = next(failed_jobs(world))
    # When the writes have stopped, nothing of the victim is left, and the job is resumed
    assert world.contents() == (world.others(), world.others())
    resumed = world.launcher.resume(job.job_id)
    # Then the resumed job scans again, finds nothing, and completes
    assert resumed.status == JobStatus.COMPLETED


def test_the_receipt_counts_deletions_made_by_a_worker_that_died_before_its_checkpoint(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the worker dies (a Lambda timeout) right after its first S3 DeleteVectors succeeded
    original = S3VectorsStore.delete_batch
    died = [False]

    class WorkerTimedOut(Exception):
        error_type = "Sandbox.Timedout"

    def delete_then_die(store: S3VectorsStore, native_ids: Any) -> int:
        deleted = original(store, native_ids)
        if not died[0]:
            died[0] = True
            raise WorkerTimedOut("Task timed out after 900.00 seconds")
        return deleted

    monkeypatch.setattr(S3VectorsStore, "delete_batch", delete_then_die)
    with pytest.raises(WorkerTimedOut):
        world.launcher.start(SCOPE, requester="test")
    # When the job is resumed from its checkpoints
    job = world.launcher.resume(next(failed_jobs(world)).job_id)
    # Then it completed, and its receipt counts every memory erased (60 per store)
    assert job.status == JobStatus.COMPLETED and job.receipt is not None
    world.assert_only_scope_gone()
    assert job.receipt.erased == 2 * PER_USER


class RefusingStepFunctions(FakeStepFunctions):
    """Step Functions refusing the first start (throttled), accepting the next."""

    def __init__(self) -> None:
        super().__init__()
        self.refusals = 1

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:  # noqa: N803, A002
        if self.refusals:
            self.refusals -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "StartExecution")
        return super().start_execution(stateMachineArn, name, input)


def test_refused_start_fails_the_job_and_the_retry_resumes_it_with_an_execution(world: World) -> None:
    # Given Step Functions refusing the first StartExecution
    sfn = RefusingStepFunctions()
    launcher = stepped_intake(sfn)
    # When an erasure is requested
    # Then the caller is told to retry, and the job is FAILED, not QUEUED forever
    with pytest.raises(RetryableStoreError):
        launcher.start(SCOPE, requester="test")
    failed = [j for j in scan_jobs() if j["status"] == "FAILED"]
    assert len(failed) == 1 and failed[0]["error"]["error"] == "StartExecutionFailed"
    # And the retry resumes that job, now with an execution, instead of getting the dead one back as it was
    retried, created = launcher.start(SCOPE, requester="test")
    assert not created and retried.resumed and retried.job_id == failed[0]["job_id"]
    assert retried.status == JobStatus.QUEUED and retried.execution_arn and retried.executions == 2


class CancellingStepFunctions(FakeStepFunctions):
    """A cancel lands while StartExecution is in flight (before the launcher has recorded the execution)."""

    def __init__(self, jobs: JobsTable) -> None:
        super().__init__()
        self.jobs = jobs

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:  # noqa: N803, A002
        job = self.jobs.get(json.loads(input)["job_id"])
        self.jobs.save(job.model_copy(update={"status": JobStatus.CANCELLED}))
        return super().start_execution(stateMachineArn, name, input)


def test_cancel_during_start_is_not_undone_and_stops_the_execution(world: World) -> None:
    # Given Step Functions that lets the job be cancelled while StartExecution is under way
    sfn = CancellingStepFunctions(world.jobs)
    launcher = stepped_intake(sfn)
    # When an erasure is started
    job, _ = launcher.start(SCOPE, requester="test")
    # Then the job stays CANCELLED and the execution that was started is stopped
    assert launcher.get(job.job_id).status == JobStatus.CANCELLED
    assert sfn.stopped == [
        sfn.started[0]["stateMachineArn"].replace(":stateMachine:", ":execution:") + ":" + job.job_id
    ]


def test_idempotency_keys_belong_to_their_requester(world: World) -> None:
    # Given two callers using the same idempotency key for the same scope
    # When both start an erasure
    first, _ = world.launcher.start(SCOPE, requester="key_a", idempotency_key="ticket-9", dry_run=True)
    second, created = world.launcher.start(SCOPE, requester="key_b", idempotency_key="ticket-9", dry_run=True)
    # Then each gets a job of its own: one caller's key never maps to another caller's job
    assert created and second.job_id != first.job_id and second.requester == "key_b"


def scan_jobs() -> list[dict[str, Any]]:
    items = boto3.resource("dynamodb").Table(JOBS_TABLE).scan()["Items"]
    return [i for i in items if i["sk"] == "job"]


def test_worker_of_a_superseded_execution_erases_nothing(world: World) -> None:
    # Given a job whose plan ran in execution "new" (a resume superseded execution "old")
    sfn = FakeStepFunctions()
    launcher = stepped_intake(sfn)
    job, _ = launcher.start(SCOPE, requester="test")
    context = LambdaContext("task", lambda: 900_000)
    items = plan_app.handler({"job_id": job.job_id, "execution": "arn:new"}, context)["items"]
    # When a worker still running for the old execution picks up a work item
    answers = [erase_app.handler({"job_id": job.job_id, "execution": "arn:old", "item": i}, context) for i in items]
    # Then it stops without erasing anything, while the current execution's worker does erase
    assert all(a == {"done": True} for a in answers)
    assert world.contents() == (world.everything(), world.everything())
    erase_app.handler({"job_id": job.job_id, "execution": "arn:new", "item": items[0]}, context)
    assert world.contents() != (world.everything(), world.everything())
