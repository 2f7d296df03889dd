"""`POST /v1/erasures/{job_id}/resume` through the API's Lambda handler: the key that started a cancelled job, or an
admin, resumes it; its status says what it erased before and after. The World of test_api_handlers (3 users x 4
memories, inline jobs, three API keys)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from memerase import runtime
from memerase.stores.s3_vectors import S3VectorsStore
from tests.integration import test_api_handlers as harness
from tests.integration.test_api_handlers import (
    Reply,
    World,
    erasures_fn,
    error_of,
    get_erasure,
    start_erasure,
)
from tests.support.targets import JOBS_TABLE

world = harness.world  # the fixtures
lambda_context = harness.lambda_context
PER_USER = 4


def resume(world: World, job_id: str, key: str = "admin") -> Reply:
    path = f"/v1/erasures/{job_id}/resume"
    return world.call(
        erasures_fn, "POST", path, "/v1/erasures/{job_id}/resume", key, path_parameters={"job_id": job_id}
    )


def running_job() -> str:
    items = boto3.resource("dynamodb").Table(JOBS_TABLE).scan()["Items"]
    return next(str(i["job_id"]) for i in items if i["sk"] == "job" and i["status"] == "RUNNING")


def cancel_after_first_s3_delete(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """The running job is cancelled by another request (a thread of its own) right after its first S3 DeleteVectors
    succeeded; the worker goes on until its next claim is refused. Returns the cancel's thread, once started."""
    original = S3VectorsStore.delete_batch
    cancels: list[threading.Thread] = []

    def delete_then_cancel(store: S3VectorsStore, native_ids: Any) -> int:
        deleted = original(store, native_ids)
        if not cancels:
            job_id = running_job()
            cancels.append(threading.Thread(target=lambda: runtime.intake().cancel(job_id)))
            cancels[0].start()
        return deleted

    monkeypatch.setattr(S3VectorsStore, "delete_batch", delete_then_cancel)
    return cancels


def test_the_key_that_started_a_cancelled_job_resumes_it_and_its_receipt_counts_both_runs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given user-1's key started an erasure of user-1 that was cancelled right after S3 lost user-1's memories
    cancels = cancel_after_first_s3_delete(monkeypatch)
    job_id = start_erasure(world, {"user_id": "user-1"}, key="user1").json["job_id"]
    cancels[0].join(30)
    cancelled = get_erasure(world, job_id, key="user1").json
    # Then its status says CANCELLED and counts what it erased: user-1's memories in S3, none in OpenSearch
    assert cancelled["status"] == "CANCELLED" and cancelled["receipt"] is None
    assert (cancelled["memories_erased"], cancelled["records_erased"]) == (PER_USER, PER_USER)
    assert {(p["target"], p["role"], p["deleted"]) for p in cancelled["progress"]} == {
        ("s3", "memories", PER_USER),
        ("os", "memories", 0),
    }
    assert cancelled["summary"].startswith(f"cancelled after erasing {PER_USER} memory record(s)")

    # When another tenant's key asks to resume it
    refused = resume(world, job_id, key="user2")
    # Then 403, and it stays cancelled
    error_of(refused, 403, "forbidden")
    assert get_erasure(world, job_id).json["status"] == "CANCELLED"

    # When the key that started it resumes it
    reply = resume(world, job_id, key="user1")
    # Then 202 with the job, which ran to its end (no Step Functions here) with a receipt counting both runs
    assert reply.status == 202, reply.text
    done = reply.json
    assert done["job_id"] == job_id and done["status"] == "COMPLETED"
    assert done["receipt"]["erased"] == done["receipt"]["memories_erased"] == 2 * PER_USER
    assert done["memories_erased"] == 2 * PER_USER and done["memories_left"] == 0
    world.expect_only(world.without(lambda m: m.payload["user_id"] == "user-1"))

    # When it is resumed again
    again = resume(world, job_id)
    # Then 409: a completed job is not resumed
    error_of(again, 409, "job_conflict")


def test_resuming_an_unknown_job_is_404(world: World) -> None:
    # Given no job with this id; When it is resumed; Then 404
    error_of(resume(world, "job-does-not-exist"), 404, "job_not_found")
