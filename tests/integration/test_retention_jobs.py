"""Jobs with criteria through the launcher and the task handlers: the job lock tells an age job from a scope job of
the same scope, a resumed age job keeps the cutoff it was made with, and what the handlers erase is the selection."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from memerase.criteria import Criteria
from memerase.errors import ScopeBusy
from memerase.fingerprint import ScopeHasher
from memerase.jobs.models import ErasureSpec, JobStatus
from memerase.models import Scope
from tests.integration.test_job_intake import drive_like_the_state_machine
from tests.support import mem0_data as m0
from tests.support.jobs import FakeStepFunctions, stepped_intake
from tests.support.retention_data import AGED, EXPIRED, NOW, dated_memories, ids
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.targets import Deploy, create_tables, memerase_config

ALICE = Scope.of(user_id="alice")


class World:
    def __init__(self, s3: Any, os_: Any) -> None:
        self.s3_data, self.os_data = dated_memories(), dated_memories(garbage=False)
        self.s3, self.os = s3, os_
        m0.write(s3, [d.memory for d in self.s3_data])
        m0.write(os_, [d.memory for d in self.os_data])
        self.sfn = FakeStepFunctions()
        self.launcher = stepped_intake(self.sfn)

    def contents(self) -> tuple[set[str], set[str]]:
        return set(m0.s3_contents(self.s3)), set(m0.opensearch_contents(self.os))


@pytest.fixture
def world(aws: str, osmem_url: str, deploy: Deploy) -> Iterator[World]:
    with S3VectorsLimits():
        create_tables()
        deploy(memerase_config(osmem_url, jobs={"time_margin_ms": 1000}, partitions=(2, 2)))
        yield World(m0.s3_store(), m0.opensearch_store(osmem_url))


def test_an_age_job_never_shares_a_lock_with_a_scope_or_expiry_job_of_the_same_scope(world: World) -> None:
    # Given an active scope job erasing alice (its execution not yet run)
    scope_job, _ = world.launcher.start(ALICE, requester="test")
    # When an age job, an expiry job and a policy's age job of alice are asked for
    age_job, age_created = world.launcher.start(ErasureSpec(scope=ALICE, criteria=AGED), requester="test")
    expiry_job, expiry_created = world.launcher.start(ErasureSpec(scope=ALICE, criteria=EXPIRED), requester="test")
    policy_job, policy_created = world.launcher.start(
        ErasureSpec(scope=ALICE, criteria=AGED, policy="daily"), requester="test"
    )
    # Then each is a job of its own, none confused with the scope job
    assert age_created and expiry_created and policy_created
    assert len({scope_job.job_id, age_job.job_id, expiry_job.job_id, policy_job.job_id}) == 4
    # And the same scope hash (of the filters only) names them all
    assert {scope_job.scope_hash, age_job.scope_hash, policy_job.scope_hash} == {ScopeHasher.from_env().scope(ALICE)}
    # When a second age job of alice is asked for a minute later (another cutoff) while the first is active
    later = Criteria.at(NOW + timedelta(minutes=1), older_than=timedelta(days=30))
    # Then it is refused, naming the active age job: two age jobs of one scope never run at once, and a request is
    # never mapped onto a job of other cutoffs (before: answered with the running job, whose cutoff differs)
    with pytest.raises(ScopeBusy, match=age_job.job_id) as busy:
        world.launcher.start(ErasureSpec(scope=ALICE, criteria=later), requester="test")
    assert busy.value.status == 409 and busy.value.job_id == age_job.job_id
    # And the same cutoffs again map onto it
    again, created = world.launcher.start(ErasureSpec(scope=ALICE, criteria=AGED), requester="other")
    assert not created and again.job_id == age_job.job_id and again.may_read("other")


def test_an_idempotency_key_maps_a_retried_age_request_to_its_job_and_refuses_another_kind(world: World) -> None:
    # Given an age job of alice started under an idempotency key
    first, _ = world.launcher.start(ErasureSpec(scope=ALICE, criteria=AGED), requester="test", idempotency_key="k1")
    # When the request is retried later (a later cutoff), and the key is reused for an expiry job
    later = Criteria.at(NOW + timedelta(hours=1), older_than=timedelta(days=30))
    retried, created = world.launcher.start(
        ErasureSpec(scope=ALICE, criteria=later), requester="test", idempotency_key="k1"
    )
    # Then the retry is the same job, and another kind of request under that key is a conflict
    assert not created and retried.job_id == first.job_id
    with pytest.raises(Exception, match="idempotency key"):
        world.launcher.start(ErasureSpec(scope=ALICE, criteria=EXPIRED), requester="test", idempotency_key="k1")


def test_the_task_handlers_erase_the_jobs_selection_and_release_its_lock(world: World) -> None:
    # Given an age job of alice, QUEUED
    before = world.contents()
    job, _ = world.launcher.start(ErasureSpec(scope=ALICE, criteria=AGED), requester="test")
    # When the state machine's tasks run it
    drive_like_the_state_machine(job.job_id)
    # Then exactly alice's older memories are gone, and the job is COMPLETED with its cutoff
    after = world.contents()
    assert before[0] - after[0] == ids(world.s3_data, "in", "age", {"user_id": "alice"})
    assert before[1] - after[1] == ids(world.os_data, "in", "age", {"user_id": "alice"})
    done = world.launcher.get(job.job_id)
    assert done.status == JobStatus.COMPLETED and done.receipt is not None and done.receipt.criteria == AGED
    # And its lock is released: the next age job of alice is a new job
    nxt, created = world.launcher.start(ErasureSpec(scope=ALICE, criteria=AGED), requester="test")
    assert created and nxt.job_id != job.job_id


def test_a_cancelled_age_job_resumes_with_the_cutoff_it_was_made_with(world: World) -> None:
    # Given an age job across every scope, cancelled before it ran
    before = world.contents()
    job, _ = world.launcher.start(ErasureSpec(criteria=AGED), requester="test")
    world.launcher.cancel(job.job_id)
    # When it is resumed and run to its end
    resumed = world.launcher.resume(job.job_id)
    drive_like_the_state_machine(resumed.job_id)
    # Then it erased by its original cutoff, in every scope
    after = world.contents()
    assert before[0] - after[0] == ids(world.s3_data, "in", "age")
    assert before[1] - after[1] == ids(world.os_data, "in", "age")
    assert world.launcher.get(job.job_id).criteria == AGED
