"""Job status changes that lose a race leave no trace (no event, no released lock), and a cancelled job keeps the
evidence of what it erased: its counts, and a resume whose receipt counts every run. Inline runs over moto server
and osmem-server, with the World of test_job_intake."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from memerase import runtime
from memerase.jobs import program
from memerase.jobs.intake import JobIntake
from memerase.jobs.models import ItemProgress, JobRecord, JobStatus
from memerase.jobs.repository import JobsTable
from memerase.jobs.steps import JobSteps
from memerase.stores.factory import entity_collection_name
from memerase.stores.s3_vectors import S3VectorsStore
from tests.integration import test_job_intake as harness
from tests.integration.test_job_intake import (
    JOBS_TABLE,
    PER_USER,
    SCOPE,
    VICTIM,
    World,
)
from tests.support import mem0_data as m0
from tests.support.jobs import FakeStepFunctions, machinery

world = harness.world  # the fixture: 4 users x 60 memories in S3 Vectors and OpenSearch, inline jobs


class RecordingEventBridge:
    """An EventBridge client that keeps what it was asked to put."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.entries += Entries
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(len(self.entries))}]}

    def detail_types(self) -> list[str]:
        return [e["DetailType"] for e in self.entries]


class InterruptedJobsTable(JobsTable):
    """The jobs table, where another request acts right after the next read of a RUNNING job record: between a
    step's `get` and its conditional write."""

    def __init__(self, table_name: str) -> None:
        super().__init__(table_name)
        self.interrupt: Callable[[str], None] | None = None

    def get(self, job_id: str) -> JobRecord:
        job = super().get(job_id)
        if self.interrupt is not None and job.status == JobStatus.RUNNING:
            interrupt, self.interrupt = self.interrupt, None
            interrupt(job_id)
        return job


def stepped_launcher(world: World) -> tuple[JobIntake, FakeStepFunctions]:
    made = machinery()
    return made.intake, made.sfn


def lock_holder(scope_hash: str) -> str | None:
    item = boto3.resource("dynamodb").Table(JOBS_TABLE).get_item(Key={"pk": f"scope#{scope_hash}", "sk": "lock"})
    return item.get("Item", {}).get("job_id")


def victims_left(world: World) -> int:
    s3, os_ = world.contents()
    return sum(1 for p in [*s3.values(), *os_.values()] if p["user_id"] == VICTIM)


def ran_to_verification(world: World, steps: JobSteps, launcher: JobIntake) -> JobRecord:
    """A job started through Step Functions (held QUEUED) whose steps ran up to a clean verification."""
    job, _ = launcher.start(SCOPE, requester="test")
    while True:
        for item in steps.plan(job.job_id):
            while not steps.erase(job.job_id, item, lambda: 1 << 30):
                pass
        if steps.verify(job.job_id).clean:
            return job


# ---- a status change that lost the race has no side effects -------------------------------------------------------


def test_a_cancel_winning_the_race_with_finalize_gets_no_completed_event_and_keeps_the_next_jobs_lock(
    world: World,
) -> None:
    # Given a job whose passes ran clean, about to be finalized by steps whose table lets a cancel land between
    # finalize's read of the job and its write; the cancel then frees the scope and a new job of it takes the lock
    table, bridge = InterruptedJobsTable(JOBS_TABLE), RecordingEventBridge()
    steps = machinery(table, bridge).steps
    launcher, sfn = stepped_launcher(world)
    job = ran_to_verification(world, steps, launcher)
    successors: list[JobRecord] = []

    def cancel_then_start_again(job_id: str) -> None:
        launcher.cancel(job_id)
        successors.append(launcher.start(SCOPE, requester="test")[0])

    table.interrupt = cancel_then_start_again
    # When finalize runs
    answer = steps.finalize(job.job_id)
    # Then the cancel won: the job is CANCELLED without a receipt, no ErasureCompleted was published, and the new
    # job's lock on the scope is still there
    assert table.interrupt is None and answer.status == JobStatus.CANCELLED
    cancelled = world.launcher.get(job.job_id)
    assert cancelled.status == JobStatus.CANCELLED and cancelled.receipt is None
    assert "ErasureCompleted" not in bridge.detail_types()
    assert lock_holder(job.scope_hash) == successors[0].job_id != job.job_id
    # And the cancelled job still says what it erased: every memory of the scope, in both stores
    assert cancelled.memories_erased == cancelled.records_erased == 2 * PER_USER
    assert "cancelled after erasing 120 memory record(s)" in cancelled.summary()


def test_a_cancel_winning_the_race_with_record_failure_gets_no_failed_event(world: World) -> None:
    # Given a running job, and steps whose table lets a cancel land between Record Failure's read and its write
    table, bridge = InterruptedJobsTable(JOBS_TABLE), RecordingEventBridge()
    steps = machinery(table, bridge).steps
    launcher, _ = stepped_launcher(world)
    job, _ = launcher.start(SCOPE, requester="test")
    steps.plan(job.job_id)
    table.interrupt = launcher.cancel
    # When the state machine records a failure
    answer = steps.fail(job.job_id, "StoreError", "S3 Vectors delete_vectors failed: AccessDeniedException")
    # Then the job stays CANCELLED, with no error and no ErasureFailed event
    assert answer == JobStatus.CANCELLED
    cancelled = world.launcher.get(job.job_id)
    assert cancelled.status == JobStatus.CANCELLED and cancelled.error is None
    assert bridge.detail_types() == []


# ---- cancel and resume keep the evidence --------------------------------------------------------------------------


def cancel_after_first_delete(monkeypatch: pytest.MonkeyPatch, launcher: JobIntake, job_id: str) -> list[JobRecord]:
    """The job is cancelled (through the launcher, by another request: another thread) right after its first S3
    DeleteVectors succeeded; the worker goes on until it finds its next claim refused."""
    original = S3VectorsStore.delete_batch
    cancelled: list[JobRecord] = []
    cancels: list[threading.Thread] = []

    def delete_then_cancel(store: S3VectorsStore, native_ids: Any) -> int:
        deleted = original(store, native_ids)
        if not cancels:
            cancels.append(threading.Thread(target=lambda: cancelled.append(launcher.cancel(job_id))))
            cancels[0].start()
        return deleted

    monkeypatch.setattr(S3VectorsStore, "delete_batch", delete_then_cancel)
    return cancelled


def test_a_job_cancelled_after_erasing_shows_its_counts_and_its_resume_receipt_counts_every_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a job (queued for Step Functions, run here by its program) cancelled right after its first S3 delete
    launcher, sfn = stepped_launcher(world)
    queued, _ = launcher.start(SCOPE, requester="test")
    cancels = cancel_after_first_delete(monkeypatch, launcher, queued.job_id)
    # When it runs
    program.run(runtime.job_steps(), queued.job_id)
    while not cancels:
        time.sleep(0.01)
    stopped = world.launcher.get(queued.job_id)
    # Then it stopped CANCELLED, and its record counts exactly the memories it erased before stopping: some, not all
    erased_before = 2 * PER_USER - victims_left(world)
    assert len(cancels) == 1 and sfn.stopped == [queued.execution_arn]
    assert stopped.status == JobStatus.CANCELLED and stopped.receipt is None
    assert 0 < erased_before < 2 * PER_USER
    assert stopped.memories_erased == stopped.records_erased == erased_before
    assert sum(p.deleted for p in stopped.progress if p.role == "memories") == erased_before
    assert {p.target: p.role for p in stopped.progress} == {"s3": "memories", "os": "memories"}
    assert cancels[0].memories_erased == erased_before and cancels[0].in_doubt == 0  # the cancel's own answer
    assert f"cancelled after erasing {erased_before} memory record(s)" in stopped.public()["summary"]
    # And nothing outside the scope was touched
    s3, os_ = world.contents()
    assert {k: v for k, v in s3.items() if v["user_id"] != VICTIM} == world.others()

    # When it is resumed (inline)
    done = world.launcher.resume(queued.job_id)
    # Then it completed from its cursors, and its receipt counts what it erased before the cancel plus after the
    # resume: every memory of the scope in both stores
    assert done.status == JobStatus.COMPLETED and done.receipt is not None
    world.assert_only_scope_gone()
    assert done.receipt.erased == done.receipt.memories_erased == done.receipt.records_erased == 2 * PER_USER
    assert done.memories_erased == 2 * PER_USER and done.memories_left == 0 and done.unfinished_items == 0


def test_a_cancel_waits_for_the_batch_a_worker_claimed_before_it_and_counts_it(world: World) -> None:
    """Before claims, a cancel answered at once with the counts of that moment, and a batch a worker was deleting
    went on being deleted (and counted) after the answer."""
    # Given a running job, one of whose workers claimed a delete batch of 7 memories just before the cancel
    launcher, _ = stepped_launcher(world)
    job, _ = launcher.start(SCOPE, requester="test")
    item = next(i for i in runtime.job_steps().plan(job.job_id) if i.target == "s3")
    claim = ItemProgress(item=item, pending=[(f"v{n}", f"m{n}") for n in range(7)], claim_until=epoch_ms() + 10_000)
    assert world.jobs.claim_batch(job.job_id, claim)
    # When the job is cancelled while the worker is deleting, and the worker confirms its batch 0.3 s later
    answers: list[JobRecord] = []
    cancel = threading.Thread(target=lambda: answers.append(launcher.cancel(job.job_id)))
    started = time.monotonic()
    cancel.start()
    time.sleep(0.3)
    world.jobs.save_progress(job.job_id, ItemProgress(item=item, scanned=7, matched=7, deleted=7))
    cancel.join(timeout=20)
    # Then the cancel answered only once the claimed batch was confirmed, counting it, with nothing in doubt
    assert time.monotonic() - started >= 0.3
    [answer] = answers
    assert answer.status == JobStatus.CANCELLED and answer.memories_erased == 7 and answer.in_doubt == 0
    assert world.launcher.get(job.job_id).memories_erased == 7
    # And a claim of that job's worker is refused from then on
    assert not world.jobs.claim_batch(job.job_id, claim.model_copy(update={"claim_until": epoch_ms() + 10_000}))


def epoch_ms() -> int:
    return int(time.time() * 1000)


# ---- listing jobs -------------------------------------------------------------------------------------------------


def test_jobs_are_listed_newest_first_a_page_at_a_time(world: World) -> None:
    # Given three dry runs, made one after the other (each a job record among many work-item rows)
    made = [world.launcher.start(SCOPE, requester="test", dry_run=True)[0] for _ in range(3)]
    world.launcher.start(SCOPE, requester="test")
    # When the jobs are listed two at a time
    first = world.launcher.list_jobs(limit=2)
    second = world.launcher.list_jobs(limit=2, before=first[-1].created_at)
    # Then the real erasure comes first, then the dry runs from the newest
    assert [j.dry_run for j in first] == [False, True] and first[1].job_id == made[2].job_id
    assert [j.job_id for j in second] == [made[1].job_id, made[0].job_id]
    assert world.launcher.list_jobs(limit=2, before=second[-1].created_at) == []
    # And a dry run records what it found, per collection, without erasing anything
    assert made[0].memories_left == PER_USER * 2 and made[0].memories_erased == 0


# ---- counts that mean memories ------------------------------------------------------------------------------------


def test_the_receipt_counts_memory_records_apart_from_entity_records(world: World) -> None:
    # Given S3's mem0 entity collection beside the memories: 3 entity records of the victim, 1 of another user
    victims = world.victims()
    entities = [m0.entity(f"entity {i}", [victims[i].id], user_id=VICTIM) for i in range(3)]
    kept = m0.entity("someone else", [world.data[0].id], user_id="user-0")
    m0.write(m0.s3_store(index=entity_collection_name("s3_vectors", m0.INDEX)), [*entities, kept])
    runtime.reset()  # the engine finds the entity collection when it is built
    # When a job erases the victim
    job, _ = world.launcher.start(SCOPE, requester="test")
    # Then its receipt says how many memory records it erased (both stores' memories collections) and, apart, how
    # many store records in all, the victim's entity records included; each collection is named with its role
    assert job.status == JobStatus.COMPLETED and job.receipt is not None
    assert job.receipt.erased == job.receipt.memories_erased == job.memories_erased == 2 * PER_USER
    assert job.receipt.records_erased == job.records_erased == 2 * PER_USER + len(entities)
    assert {(p.target, p.role): p.deleted for p in job.receipt.stores} == {
        ("s3", "memories"): PER_USER,
        ("s3", "entities"): len(entities),
        ("os", "memories"): PER_USER,
    }
    assert set(m0.s3_contents(m0.s3_store(index=entity_collection_name("s3_vectors", m0.INDEX)))) == {kept.id}


def test_every_cancel_emits_an_erasure_cancelled_event(world: World) -> None:
    # Given a job started through Step Functions (held QUEUED), with steps whose events are recorded
    bridge = RecordingEventBridge()
    launcher = machinery(bridge=bridge).intake
    job, _ = launcher.start(SCOPE, requester="test")
    # When it is cancelled
    launcher.cancel(job.job_id)
    # Then an ErasureCancelled event names the job and its scope hash, never a raw id
    [entry] = [e for e in bridge.entries if e["DetailType"] == "ErasureCancelled"]
    detail = json.loads(entry["Detail"])
    assert detail["job_id"] == job.job_id and detail["status"] == "CANCELLED"
    assert detail["scope_hash"] == job.scope_hash and VICTIM not in entry["Detail"]
