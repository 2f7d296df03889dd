"""Age and expiry erasures as jobs: the real ASL executed by moto's Step Functions interpreter over S3 Vectors (AWS
limits enforced) and osmem-server, on dated memories written by mem0ai 2.2.1's classes, with the cutoffs fixed from an
injected clock when the job is made."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from memerase import runtime
from memerase.jobs.models import ErasureSpec, JobStatus
from memerase.models import Scope
from tests.support import mem0_data as m0
from tests.support.lambda_events import events_queue, received
from tests.support.retention_data import AGED, EXPIRED, Dated, dated_memories, ids
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.sfn_harness import StepFunctionsHarness, step_functions
from tests.support.targets import create_tables, memerase_config

ALICE = {"user_id": "alice"}


class World:
    def __init__(self, harness: StepFunctionsHarness, s3: Any, os_: Any) -> None:
        self.harness = harness
        self.s3_data = dated_memories()
        self.os_data = dated_memories(garbage=False)  # OpenSearch refuses unreadable dates once mapped `date`
        self.s3, self.os = s3, os_
        m0.write(s3, [d.memory for d in self.s3_data])
        m0.write(os_, [d.memory for d in self.os_data])

    def contents(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return m0.s3_contents(self.s3), m0.opensearch_contents(self.os)

    def run(self, spec: ErasureSpec) -> Any:
        job, created = runtime.intake().start(spec, requester="test", source="schedule")
        assert created
        finished = self.harness.wait(job.execution_arn or "")
        assert finished["status"] == "SUCCEEDED", finished
        return runtime.intake().get(job.job_id)


@pytest.fixture
def world(osmem_url: str) -> Iterator[World]:
    config = memerase_config(osmem_url, jobs={"time_margin_ms": 1000}, partitions=(2, 2))
    with step_functions(config) as harness, S3VectorsLimits():
        create_tables()
        yield World(harness, m0.s3_store(), m0.opensearch_store(osmem_url))


def _gone(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return set(before) - set(after)


def _unreadable(data: list[Dated], kind: str, scope: dict[str, str] | None) -> int:
    return len(ids(data, "unreadable", kind, scope))


def test_an_age_job_for_a_policy_erases_exactly_the_scopes_older_memories_and_names_its_cutoff(world: World) -> None:
    queue = events_queue()
    # Given dated memories of three scopes in both stores
    s3_before, os_before = world.contents()
    # When a job for policy "thirty-days" erases alice's memories older than 30 days
    done = world.run(ErasureSpec(scope=Scope.of(**ALICE), criteria=AGED, policy="thirty-days"))
    # Then exactly alice's older memories are gone from each store, nothing younger, nothing of another scope
    s3_after, os_after = world.contents()
    assert _gone(s3_before, s3_after) == ids(world.s3_data, "in", "age", ALICE)
    assert _gone(os_before, os_after) == ids(world.os_data, "in", "age", ALICE)
    # And the job is COMPLETED with a receipt naming the policy and the cutoff, counting the unreadable ones kept
    assert done.status == JobStatus.COMPLETED and done.scope is None and done.receipt is not None
    receipt = done.receipt
    assert receipt.policy == "thirty-days" and receipt.criteria == AGED
    assert receipt.memories_erased == len(_gone(s3_before, s3_after)) + len(_gone(os_before, os_after))
    expected_unreadable = _unreadable(world.s3_data, "age", ALICE) + _unreadable(world.os_data, "age", ALICE)
    assert receipt.unreadable_kept == done.unreadable_kept == expected_unreadable
    assert receipt.verified_remaining == 0
    # And the public record and the event name no user id, only the cutoff and the policy
    public = json.dumps(done.public())
    assert "alice" not in public and "2026-05-16T12:00:00Z" in public
    events = received(queue)
    assert [e["detail-type"] for e in events] == ["ErasureCompleted"]
    assert events[0]["detail"]["policy"] == "thirty-days"


def test_an_expiry_job_without_a_scope_erases_every_expired_memory_and_nothing_else(world: World) -> None:
    # Given dated memories of three scopes
    s3_before, os_before = world.contents()
    # When a job erases every expired memory, whatever its scope
    done = world.run(ErasureSpec(criteria=EXPIRED))
    # Then exactly the memories expiring strictly before mem0's UTC today are gone, in every scope
    s3_after, os_after = world.contents()
    assert _gone(s3_before, s3_after) == ids(world.s3_data, "in", "expiry")
    assert _gone(os_before, os_after) == ids(world.os_data, "in", "expiry")
    assert done.receipt is not None and done.receipt.unreadable_kept == _unreadable(world.s3_data, "expiry", None)


def test_a_dry_run_age_job_deletes_nothing_and_reports_the_counts(world: World) -> None:
    # Given dated memories
    before = world.contents()
    # When an age job across every scope is a dry run
    job, _ = runtime.intake().start(ErasureSpec(criteria=AGED), requester="test", dry_run=True)
    # Then it is COMPLETED at once with what it would erase and keep, and nothing is deleted
    assert world.contents() == before
    assert job.status == JobStatus.COMPLETED and job.dry_run
    assert job.memories_left == len(ids(world.s3_data, "in", "age")) + len(ids(world.os_data, "in", "age"))
    assert job.unreadable_kept == _unreadable(world.s3_data, "age", None) + _unreadable(world.os_data, "age", None)
