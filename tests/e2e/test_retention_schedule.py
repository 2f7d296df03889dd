"""Retention policies run by the schedule, end to end: template.yaml's EventBridge Scheduler schedule (created in moto
from the template's own target) delivers its input to the scheduled-erasure handler, which starts one job per policy;
each job runs the real ASL in moto's Step Functions interpreter over S3 Vectors (AWS limits enforced) and
osmem-server, on memories written by mem0ai 2.2.1's own classes with mixed `created_at` formats and expiration dates.

The scheduled time is tests.support.retention_data's NOW (2026-06-15T12:00:00Z): a 30-day policy's cutoff is
2026-05-16T12:00:00Z and an expiry policy's day 2026-06-15, whatever the clock says when the test runs.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest

from memerase import runtime
from memerase.criteria import Criteria
from memerase.errors import StoreError
from memerase.jobs.models import JobRecord, JobStatus
from memerase.jobs.retention_runs import RetentionRunFailed
from memerase_local.handlers import LambdaContext, handler_of
from tests.support import mem0_data as m0
from tests.support.readback import Snapshot
from tests.support.retention_data import SCOPES, Dated, dated_memories, ids
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.scheduler_events import create_retention_schedule, delivery
from tests.support.sfn_harness import StepFunctionsHarness, step_functions
from tests.support.targets import create_tables, memerase_config

handler = handler_of("scheduled_erasure")  # as the harness runs it: its AWS calls are checked against its IAM

SCHEDULED = "2026-06-15T12:00:00Z"
NEXT_DAY = "2026-06-16T12:00:00Z"
CUTOFF = datetime(2026, 5, 16, 12, 0, tzinfo=UTC)
ALICE, BOB, SOLO = SCOPES  # {"user_id": "alice"}, {"user_id": "bob", "agent_id": "helper"}, {"agent_id": "solo"}
SCOPE_VALUES = ("alice", "bob", "helper", "solo")
STORES = 2  # each memory is written to S3 Vectors and to OpenSearch: a job's counts cover both


@dataclass
class World:
    harness: StepFunctionsHarness
    dated: list[Dated]
    younger: list[m0.Memory]  # memories mem0 wrote just now, in other scopes: younger than any cutoff, never expired
    s3: Any
    os_: Any

    def contents(self) -> tuple[Snapshot, Snapshot]:
        return m0.s3_contents(self.s3), m0.opensearch_contents(self.os_)

    def everything(self) -> Snapshot:
        return {m.id: m.payload for m in [d.memory for d in self.dated] + self.younger}

    def fire(self, scheduled_time: str = SCHEDULED, attempt: int = 1) -> dict[str, Any]:
        """The schedule fires: its delivery goes to the scheduled-erasure handler; the handler's answer."""
        answer: dict[str, Any] = handler(delivery(scheduled_time, attempt), LambdaContext())
        return answer

    def executions(self) -> list[str]:
        sfn = boto3.client("stepfunctions")
        return [
            e["executionArn"] for e in sfn.list_executions(stateMachineArn=self.harness.state_machine_arn)["executions"]
        ]

    def wait_all(self) -> None:
        for arn in self.executions():
            assert self.harness.wait(arn)["status"] == "SUCCEEDED", arn


Launch = Callable[[list[dict[str, Any]]], World]


@pytest.fixture
def launch(osmem_url: str) -> Iterator[Launch]:
    """`launch(policies)`: moto with the real state machine, MEMERASE_CONFIG holding `policies`, the jobs table, the
    template's schedule, and the dated memories plus younger ones written by mem0 into both stores."""
    stack = ExitStack()

    def start(policies: list[dict[str, Any]]) -> World:
        config = memerase_config(osmem_url, jobs={"time_margin_ms": 1000})
        config["retention"] = policies
        harness = stack.enter_context(step_functions(config))
        stack.enter_context(S3VectorsLimits())
        create_tables()
        create_retention_schedule()
        dated = dated_memories(garbage=False)  # OpenSearch refuses a garbage date once mem0's index maps it
        younger = m0.dataset(users=2, per_user=40)  # created now (later than the scheduled time): never old
        s3, os_ = m0.seed(osmem_url, [d.memory for d in dated] + younger)
        return World(harness, dated, younger, s3, os_)

    with stack:
        yield start


def outcomes(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["policy"]: p for p in answer["policies"]}


def job(job_id: str) -> JobRecord:
    return runtime.intake().get(job_id)


def assert_no_scope_value(record: JobRecord) -> None:
    shown = json.dumps(record.public())
    assert not [v for v in SCOPE_VALUES if v in shown], shown


def test_a_scheduled_run_erases_exactly_each_policys_old_or_expired_memories_and_a_dry_run_policy_only_counts(
    launch: Launch,
) -> None:
    # Given alice's, bob's and an agent's memories with mixed created_at formats and expiration dates, younger ones
    # of other users, and three policies: alice's older than 30 days, the agent's expired ones, bob's (a dry run)
    world = launch(
        [
            {"name": "thirty-days", "max_age_days": 30, "user_id": "alice"},
            {"name": "expired-sweep", "expired": True, "agent_id": "solo"},
            {"name": "count-only", "max_age_days": 30, "user_id": "bob", "dry_run": True},
        ]
    )
    # When the schedule fires and every job runs to its end
    answer = outcomes(world.fire())
    world.wait_all()
    # Then one job was started per erasing policy, and the dry-run policy was counted
    assert {name: o["outcome"] for name, o in answer.items()} == {
        "thirty-days": "started",
        "expired-sweep": "started",
        "count-only": "counted",
    }
    assert len(world.executions()) == 2
    # And exactly alice's older memories and the agent's expired ones are gone from both stores; every other memory
    # (younger, at the cutoff, unreadable, not expired, bob's, other users') is there with its full payload
    aged, expired = ids(world.dated, "in", "age", ALICE), ids(world.dated, "in", "expiry", SOLO)
    assert aged and expired
    expected = {k: v for k, v in world.everything().items() if k not in aged | expired}
    assert world.contents() == (expected, expected)
    # And each receipt names its policy and cutoff, counts what it erased and kept, and holds no scope value
    thirty = job(answer["thirty-days"]["job_id"])
    assert thirty.status == JobStatus.COMPLETED and thirty.receipt is not None
    assert thirty.receipt.policy == "thirty-days" and thirty.receipt.criteria == Criteria(created_before=CUTOFF)
    assert thirty.receipt.erased == STORES * len(aged) and thirty.receipt.verified_remaining == 0
    assert thirty.receipt.unreadable_kept == STORES * len(ids(world.dated, "unreadable", "age", ALICE)) > 0
    sweep = job(answer["expired-sweep"]["job_id"])
    assert sweep.receipt is not None and sweep.receipt.policy == "expired-sweep"
    assert sweep.receipt.criteria == Criteria(expired_before=date(2026, 6, 15))
    assert sweep.receipt.erased == STORES * len(expired)
    assert answer["thirty-days"]["criteria"] == {"created_before": "2026-05-16T12:00:00Z"}
    # And the dry run erased nothing and counted bob's older memories in both stores
    counted = job(answer["count-only"]["job_id"])
    assert counted.dry_run and counted.status == JobStatus.COMPLETED and counted.memories_erased == 0
    assert counted.memories_left == STORES * len(ids(world.dated, "in", "age", BOB)) > 0
    for record in (thirty, sweep, counted):
        assert_no_scope_value(record)


def test_a_redelivered_invocation_finds_the_job_of_its_first_delivery_and_starts_no_second(launch: Launch) -> None:
    # Given a policy erasing memories older than 30 days in every scope
    world = launch([{"name": "thirty-days", "max_age_days": 30}])
    # When the schedule fires and its job completes, and the same scheduled run is delivered again afterwards
    # (a retry: a new attempt, so a new execution id; the job's lock is released by then)
    first = outcomes(world.fire(attempt=1))["thirty-days"]
    world.wait_all()
    again = outcomes(world.fire(attempt=2))["thirty-days"]
    world.wait_all()
    # Then the second delivery found the first one's job by its key: one job, one execution
    assert (first["outcome"], again["outcome"]) == ("started", "redelivered")
    assert again["job_id"] == first["job_id"] and again["criteria"] == first["criteria"]
    assert len(world.executions()) == 1
    # And every scope's older memories are gone, nothing younger or unreadable, and the receipt says so
    aged = ids(world.dated, "in", "age")
    expected = {k: v for k, v in world.everything().items() if k not in aged}
    assert world.contents() == (expected, expected)
    done = job(first["job_id"])
    assert done.receipt is not None and done.receipt.erased == STORES * len(aged)
    assert done.receipt.unreadable_kept == STORES * len(ids(world.dated, "unreadable", "age"))
    assert_no_scope_value(done)


def test_a_policy_whose_earlier_job_is_still_running_is_reported_not_duplicated(launch: Launch) -> None:
    # Given an expiry policy whose job of one day is held in Plan Work, so that it is still active
    world = launch([{"name": "expired-sweep", "expired": True}])
    gate = threading.Event()

    def hold(_event: dict[str, Any]) -> None:
        gate.wait(30)

    world.harness.faults["job_plan"] = hold
    try:
        first = outcomes(world.fire(SCHEDULED))["expired-sweep"]
        # When the next day's run fires while that job is active
        next_day = outcomes(world.fire(NEXT_DAY))["expired-sweep"]
        # Then it reports the running job instead of starting another
        assert (first["outcome"], next_day["outcome"]) == ("started", "already_running")
        assert next_day["job_id"] == first["job_id"] and next_day["status"] in ("QUEUED", "RUNNING")
        assert len(world.executions()) == 1
    finally:
        gate.set()
    world.wait_all()
    # And the one job erases exactly the memories expired on its own day
    expired = ids(world.dated, "in", "expiry")
    expected = {k: v for k, v in world.everything().items() if k not in expired}
    assert world.contents() == (expected, expected)


def test_one_failing_policy_does_not_stop_the_others_and_the_invocation_fails_at_the_end(launch: Launch) -> None:
    # Given two policies, and a first delivery of today's run that started their jobs
    world = launch(
        [
            {"name": "thirty-days", "max_age_days": 30, "user_id": "alice"},
            {"name": "expired-sweep", "expired": True, "agent_id": "solo"},
        ]
    )
    world.fire()
    world.wait_all()
    # When the operator changes one policy's criterion and today's run is delivered again (its key is spent on a
    # job that erased by age), and a new policy has joined the configuration
    policies = [
        {"name": "thirty-days", "expired": True, "user_id": "alice"},
        {"name": "expired-sweep", "expired": True, "agent_id": "solo"},
        {"name": "bob-month", "max_age_days": 30, "user_id": "bob"},
    ]
    config = json.loads(os.environ["MEMERASE_CONFIG"])
    os.environ["MEMERASE_CONFIG"] = json.dumps({**config, "retention": policies})
    runtime.reset()
    with pytest.raises(RetentionRunFailed) as failed:
        world.fire(attempt=2)
    world.wait_all()
    # Then the invocation fails naming the policy that failed, and only that one
    assert "1 of 3" in str(failed.value) and "thirty-days" in str(failed.value)
    # And the other policies ran: the unchanged one found its job, the new one erased bob's older memories
    gone = (
        ids(world.dated, "in", "age", ALICE)
        | ids(world.dated, "in", "expiry", SOLO)
        | ids(world.dated, "in", "age", BOB)
    )
    expected = {k: v for k, v in world.everything().items() if k not in gone}
    assert world.contents() == (expected, expected)
    assert len(world.executions()) == 3


def test_a_redelivered_invocation_resumes_the_job_of_its_first_delivery_that_failed(launch: Launch) -> None:
    # Given a policy whose job of today's run failed (its Plan Work kept failing: a store was down)
    world = launch([{"name": "thirty-days", "max_age_days": 30, "user_id": "alice"}])

    def store_down(_event: dict[str, Any]) -> None:
        raise StoreError("the store is down")

    world.harness.faults["job_plan"] = store_down
    first = outcomes(world.fire())["thirty-days"]
    assert world.harness.wait(world.executions()[0])["status"] == "FAILED"
    assert job(first["job_id"]).status == JobStatus.FAILED
    # When the store is back and today's run is delivered again
    del world.harness.faults["job_plan"]
    again = outcomes(world.fire(attempt=2))["thirty-days"]
    statuses = sorted(world.harness.wait(arn)["status"] for arn in world.executions())
    # Then the same job was resumed (a second execution of it), and it erased exactly alice's older memories
    assert (again["outcome"], again["job_id"]) == ("resumed", first["job_id"])
    assert statuses == ["FAILED", "SUCCEEDED"]
    aged = ids(world.dated, "in", "age", ALICE)
    expected = {k: v for k, v in world.everything().items() if k not in aged}
    assert world.contents() == (expected, expected)
    done = job(first["job_id"])
    assert done.status == JobStatus.COMPLETED and done.receipt is not None and done.receipt.policy == "thirty-days"
