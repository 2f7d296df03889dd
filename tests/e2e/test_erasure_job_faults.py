"""The real ASL, end to end in moto's Step Functions interpreter, with faults injected: workers that run out of time
or are killed mid-page, throttling, a crash between listing and deleting, a memory written while the job runs, a
failing store, cancellation, duplicate requests. Whatever happens, the scope ends up gone from both stores and every
other memory is left exactly as it was."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest

from memerase import runtime
from memerase.errors import RetryableStoreError, StoreError
from memerase.history import table_schema as history_schema
from memerase.jobs.launcher import JobConflict
from memerase.jobs.models import JobRecord, JobStatus
from memerase.jobs.repository import table_schema as jobs_schema
from memerase.models import Scope
from memerase.stores.s3_vectors import S3VectorsStore
from tests.support import mem0_data as m0
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.sfn_harness import StepFunctionsHarness, step_functions

USERS, PER_USER = 4, 150
VICTIM = "user-2"
SCOPE = Scope.of(user_id=VICTIM)
TIME_MARGIN_MS = 1000
# ListVectors stops a page at this many response bytes (AWS: ~1 MB). A mem0 entry is ~330 bytes, so a page holds ~20
# vectors: each of the 4 segments (150 vectors) takes ~8 pages, i.e. many checkpoints per work item.
PAGE_BYTES = 6_000


class WorkerTimedOut(Exception):
    """What Lambda reports when it kills a function at its timeout."""

    error_type = "Sandbox.Timedout"


def config(osmem_url: str, jobs: dict[str, Any]) -> dict[str, Any]:
    url = urlparse(osmem_url)
    return {
        "targets": [
            {"name": "s3", "vector_store": {"provider": "s3_vectors", "config": {
                "vector_bucket_name": m0.BUCKET, "collection_name": m0.INDEX, "embedding_model_dims": m0.DIMS}}},
            {"name": "os", "vector_store": {"provider": "opensearch", "config": {
                "host": url.hostname, "port": url.port, "collection_name": m0.INDEX, "embedding_model_dims": m0.DIMS}}},
        ],
        "history": {"table_name": "history"},
        "jobs": {"table_name": "jobs", "time_margin_ms": TIME_MARGIN_MS, **jobs},
    }


def events_queue() -> str:
    """Route memerase's EventBridge events to a queue the test can read."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="memerase-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="memerase", EventPattern=json.dumps({"source": ["memerase"]}))
    events.put_targets(Rule="memerase", Targets=[{"Id": "q", "Arn": arn}])
    return url


def received(queue_url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


@dataclass
class World:
    harness: StepFunctionsHarness
    limits: S3VectorsLimits
    data: list[m0.Memory]
    s3: Any  # mem0's S3Vectors
    os_: Any  # mem0's OpenSearchDB

    def run(self, **start: Any) -> tuple[JobRecord, dict[str, Any]]:
        """Start a job erasing the victim and wait for its execution to end."""
        job, _ = runtime.launcher().start(SCOPE, requester="test", **start)
        execution = self.harness.wait(job.execution_arn or "")
        return runtime.launcher().get(job.job_id), execution

    def assert_only_scope_gone(self, late: list[m0.Memory] = ()) -> None:  # type: ignore[assignment]
        """Nothing of the victim is left in either store; every other memory is there with its full payload."""
        expected = {m.id: m.payload for m in self.data if m.payload["user_id"] != VICTIM}
        assert m0.s3_contents(self.s3) == expected
        assert m0.opensearch_contents(self.os_) == expected
        assert not {m.id for m in late} & set(expected)


@pytest.fixture
def jobs_settings() -> dict[str, Any]:
    """Extra `jobs` configuration; a test overrides it by parametrizing `jobs_settings`."""
    return {}


@pytest.fixture
def world(osmem_url: str, monkeypatch: pytest.MonkeyPatch, jobs_settings: dict[str, Any]) -> Iterator[World]:
    with (step_functions(config(osmem_url, jobs_settings), monkeypatch) as harness,
          S3VectorsLimits(max_page_bytes=PAGE_BYTES) as limits):
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(**history_schema("history"))
        dynamodb.create_table(**jobs_schema("jobs"))
        data = m0.dataset(users=USERS, per_user=PER_USER)
        s3, os_ = m0.s3_store(), m0.opensearch_store(osmem_url)
        m0.write(s3, data)
        m0.write(os_, data)
        limits.reset_counts()
        yield World(harness, limits, data, s3, os_)


def completed(job: JobRecord, erased: int = 2 * PER_USER, passes: int = 1) -> None:
    """COMPLETED with a receipt: the victim erased from both stores, nothing left, no raw ids anywhere."""
    assert job.status == JobStatus.COMPLETED and job.scope is None and job.error is None
    assert job.receipt is not None and job.receipt.verified_remaining == 0
    assert job.receipt.erased == erased and job.receipt.passes == passes
    assert job.receipt == job.receipt.sealed()
    assert VICTIM not in json.dumps(job.public())


# ---- a. workers that run out of time, or are killed ---------------------------------------------------------------


def test_a_worker_short_of_time_checkpoints_every_page_and_the_loop_finishes_the_job(world: World) -> None:
    # Given a worker whose Lambda budget is always below the time margin, so it stops after every page
    world.harness.budget_ms["job_erase"] = lambda: TIME_MARGIN_MS - 1
    # When a job erases the victim
    job, execution = world.run()
    # Then the execution looped the worker once per page (ListVectors pages of ~20 vectors) and still succeeded
    assert execution["status"] == "SUCCEEDED", execution
    pages = world.limits.requests["ListVectors"]
    print("DEBUG", pages, world.harness.invocations, world.harness.transitions(job.execution_arn or ""))
    assert world.harness.invocations["job_erase"] >= 4 * 7
    assert pages >= world.harness.invocations["job_erase"] - 1
    completed(job)
    world.assert_only_scope_gone()
