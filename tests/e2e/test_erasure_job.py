"""The real ASL, executed end to end by moto's Step Functions interpreter, its tasks run by the project's handlers,
over S3 Vectors (AWS limits enforced) and osmem-server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from memerase import runtime
from memerase.jobs.models import JobStatus
from memerase.models import Scope
from tests.support import mem0_data as m0
from tests.support.lambda_events import events_queue, received
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.sfn_harness import step_functions
from tests.support.targets import create_tables, memerase_config


@pytest.fixture
def world(osmem_url: str) -> Any:
    config = memerase_config(osmem_url, jobs={"time_margin_ms": 1000})
    with step_functions(config) as harness, S3VectorsLimits() as limits:
        create_tables()
        data = m0.dataset(users=6, per_user=500)
        s3, os_ = m0.seed(osmem_url, data)
        yield harness, limits, data, s3, os_


def test_job_erases_exactly_one_scope_among_thousands_and_leaves_a_receipt(world: Any) -> None:
    harness, limits, data, s3, os_ = world
    queue = events_queue()
    # Given 3,000 memories of 6 tenants in both stores
    # When a job erases user-4
    job, created = runtime.intake().start(Scope.of(user_id="user-4"), requester="test", source="api")
    finished = harness.wait(job.execution_arn or "")
    # Then the execution succeeded, exactly user-4 is gone from both stores and every other memory is intact
    assert finished["status"] == "SUCCEEDED", finished
    expected = {m.id: m.payload for m in data if m.payload["user_id"] != "user-4"}
    assert m0.s3_contents(s3) == expected
    assert m0.opensearch_contents(os_) == expected
    # And the job record says COMPLETED with a receipt that holds no raw ids
    done = runtime.intake().get(job.job_id)
    assert created and done.status == JobStatus.COMPLETED and done.scope is None
    assert done.receipt is not None and done.receipt.erased == 1000 and done.receipt.verified_remaining == 0
    assert done.receipt.scope_hash == runtime.hasher().scope(Scope.of(user_id="user-4"))
    assert "user-4" not in json.dumps(done.public())
    # And the work was spread over several worker invocations (S3 segments, paginated under AWS limits)
    assert harness.invocations["job_erase"] >= 5 and limits.requests["ListVectors"] >= 4
    # And ErasureCompleted was emitted
    events = received(queue)
    assert [e["detail-type"] for e in events] == ["ErasureCompleted"]
    assert events[0]["detail"]["job_id"] == job.job_id and events[0]["detail"]["erased"] == 1000
