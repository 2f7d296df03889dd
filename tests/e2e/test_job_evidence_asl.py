"""Cancel and resume with the real ASL in moto's Step Functions interpreter: a job cancelled after it erased part of
the scope keeps the counts of what it erased, and its resume ends with a receipt counting both executions. The World
of test_erasure_job_faults (4 users x 150 memories, S3 Vectors in 4 segments, OpenSearch in 2 slices)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from memerase import runtime
from memerase.jobs.models import JobRecord, JobStatus
from memerase.stores.s3_vectors import S3VectorsStore
from tests.e2e import test_erasure_job_faults as harness
from tests.e2e.test_erasure_job_faults import (
    OUT_OF_TIME_MS,
    PER_USER,
    SCOPE,
    VICTIM,
    World,
    completed,
    eventually,
    track_erase_workers,
)
from tests.support import mem0_data as m0

world = harness.world  # the fixtures
jobs_settings = harness.jobs_settings


def victims_left(world: World) -> int:
    stored = [*m0.s3_contents(world.s3).values(), *m0.opensearch_contents(world.os_).values()]
    return sum(1 for p in stored if p["user_id"] == VICTIM)


def hold_after_first_s3_delete(monkeypatch: pytest.MonkeyPatch, gate: threading.Event) -> threading.Event:
    """Every S3 DeleteVectors goes through, then its worker is held until `gate` opens; the returned event is set
    once the first one went through."""
    original = S3VectorsStore.delete_batch
    first = threading.Event()

    def delete_then_hold(store: S3VectorsStore, native_ids: Any) -> int:
        deleted = original(store, native_ids)
        if not gate.is_set():
            first.set()
            gate.wait(30)
        return deleted

    monkeypatch.setattr(S3VectorsStore, "delete_batch", delete_then_hold)
    return first


def test_a_job_cancelled_after_erasing_keeps_its_counts_and_its_resume_receipt_counts_both_executions(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a running job whose workers stop after every page (so S3 deletes a page at a time), its first S3 delete
    # batch went through, and its workers are held right after their deletes
    world.harness.budget_ms["job_erase"] = lambda: OUT_OF_TIME_MS
    gate = threading.Event()
    idle = track_erase_workers(monkeypatch)
    first_delete = hold_after_first_s3_delete(monkeypatch, gate)
    job, _ = runtime.intake().start(SCOPE, requester="test")
    answers: list[JobRecord] = []
    cancel = threading.Thread(target=lambda: answers.append(runtime.intake().cancel(job.job_id)))
    try:
        assert first_delete.wait(60)
        # When it is cancelled by another request while that worker is held, and the worker then goes on
        cancel.start()
        eventually(lambda: runtime.jobs_table().get(job.job_id).status == JobStatus.CANCELLED)
    finally:
        gate.set()
    cancel.join(60)
    assert world.harness.wait(job.execution_arn or "")["status"] in ("ABORTED", "FAILED")
    assert idle.wait(30)
    # Then the cancel answered once the batch that worker had claimed was confirmed: its answer, the record and the
    # status all count exactly what is gone, nothing in doubt
    [cancelled] = answers
    erased_before = 2 * PER_USER - victims_left(world)
    shown = runtime.intake().get(job.job_id)
    assert cancelled.status == shown.status == JobStatus.CANCELLED and shown.receipt is None
    assert 0 < cancelled.memories_erased == shown.memories_erased == erased_before < 2 * PER_USER
    assert cancelled.in_doubt == 0
    assert sum(p.deleted for p in shown.progress) == shown.records_erased == erased_before
    assert world.harness.invocations["job_finalize"] == world.harness.invocations["job_fail"] == 0

    # When it is resumed
    resumed = runtime.intake().resume(job.job_id)
    execution = world.harness.wait(resumed.execution_arn or "")
    # Then a second execution completed it; the receipt counts what both executions erased: the whole scope
    assert execution["status"] == "SUCCEEDED", execution
    done = runtime.intake().get(job.job_id)
    completed(done)
    assert done.receipt is not None and done.receipt.memories_erased == done.memories_erased == 2 * PER_USER
    assert done.receipt.erased - cancelled.memories_erased >= 2 * PER_USER - erased_before
    world.assert_only_scope_gone()
