"""A cancel means stop: once `cancel` has answered, no delete request is sent for the job by any worker, and the
answer says exactly what is gone. Tried at random points of running jobs, in each runner: this process (as
`memerase serve` runs jobs, on a background thread) and Step Functions (the real ASL in moto's interpreter, its
workers the project's handlers). What is gone is read back from the stores (S3 Vectors with AWS's limits, and
osmem-server); every delete request is timed where the engine hands it to the store's client.

Before claims (issue 17): a worker checked for a cancel after each listed page, not before each delete, and counted
a batch before deleting it. A batch was deleted 0.02 s to 9 s after the cancel's answer, and a CANCELLED job said
1,000 erased while 500 were gone.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from memerase import runtime
from memerase.errors import JobConflict
from memerase.jobs.models import JobRecord, JobStatus
from memerase.jobs.runners import InProcessRunner
from memerase.jobs.steps import JobSteps
from memerase.models import Scope
from memerase.stores.opensearch import OpenSearchStore
from memerase.stores.s3_vectors import S3VectorsStore
from tests.support import mem0_data as m0
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.seeded import Seeded
from tests.support.sfn_harness import step_functions
from tests.support.targets import create_tables, memerase_config

POINTS = 6  # random cancel points per runner
BATCH = 10  # records per delete request (the stores' maxima are 500 and 1,000): many batches, many cancel points
USERS, PER_USER = 3, 60
VICTIM = "user-1"
SCOPE = Scope.of(user_id=VICTIM)
JOBS = {"time_margin_ms": 1000, "claim_seconds": 5}
CANCEL_PROPERTY = "cancel_points"


@dataclass
class Deletes:
    """Every delete request the engine hands to a store's client, timed when it is sent; and the job workers in
    flight (`JobSteps.erase` calls that have not returned)."""

    sent: list[float] = field(default_factory=list)
    workers: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    reached: threading.Event = field(default_factory=threading.Event)
    cancel_after: int = 0

    def watch(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for store in (S3VectorsStore, OpenSearchStore):
            monkeypatch.setattr(store, "batch_size", BATCH)
            monkeypatch.setattr(store, "delete_batch", self._timed(store.delete_batch))
        erase = JobSteps.erase

        def counted_erase(steps: JobSteps, *args: Any, **kwargs: Any) -> bool:
            with self.lock:
                self.workers += 1
            try:
                return erase(steps, *args, **kwargs)
            finally:
                with self.lock:
                    self.workers -= 1

        monkeypatch.setattr(JobSteps, "erase", counted_erase)

    def _timed(self, delete: Callable[[Any, Any], int]) -> Callable[[Any, Any], int]:
        def timed(store: Any, native_ids: Any) -> int:
            with self.lock:
                self.sent.append(time.monotonic())
                if len(self.sent) > self.cancel_after:
                    self.reached.set()
            return delete(store, native_ids)

        return timed

    def arm(self, after: int) -> None:
        """Signal once `after` delete requests have been sent (0: at once)."""
        with self.lock:
            self.sent.clear()
            self.cancel_after = after
            self.reached.clear()
            if after == 0:
                self.reached.set()

    def after(self, moment: float) -> int:
        with self.lock:
            return sum(1 for t in self.sent if t > moment)

    def wait_for_workers(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.workers:
            assert time.monotonic() < deadline, "job workers still running"
            time.sleep(0.02)


@dataclass
class Observed:
    tried: int = 0
    cancelled: int = 0
    completed_first: int = 0
    deletes_after_answer: int = 0


@dataclass
class World(Seeded):
    deletes: Deletes
    rng: random.Random

    def victims_left(self) -> int:
        s3, os_ = self.contents()
        return sum(1 for p in [*s3.values(), *os_.values()] if p["user_id"] == VICTIM)

    def rewrite_victims(self) -> None:
        """Write back the victim's memories a store no longer holds (mem0's OpenSearch insert would add a second
        document for one it still holds)."""
        s3, os_ = self.contents()
        m0.write(self.s3, [m for m in self.of(VICTIM) if m.id not in s3])
        m0.write(self.os_, [m for m in self.of(VICTIM) if m.id not in os_])


def cancel_at_a_random_point(world: World, job_id: str, observed: Observed) -> JobRecord | None:
    """Wait until a random number of delete requests were sent (and a random moment more), then cancel; check the
    answer against the stores at that moment. None when the job completed before the cancel."""
    world.deletes.reached.wait(60)
    time.sleep(world.rng.uniform(0, 0.05))
    observed.tried += 1
    try:
        answer = runtime.intake().cancel(job_id)
    except JobConflict:
        observed.completed_first += 1
        assert runtime.intake().get(job_id).status == JobStatus.COMPLETED
        return None
    answered = time.monotonic()
    observed.cancelled += 1
    at_answer = world.contents()
    left = sum(1 for p in [*at_answer[0].values(), *at_answer[1].values()] if p["user_id"] == VICTIM)
    # The answer says exactly what is gone, nothing in doubt
    assert answer.status == JobStatus.CANCELLED and answer.in_doubt == 0
    assert answer.memories_erased == 2 * PER_USER - left, (answer.memories_erased, left)
    # Nothing outside the scope was touched
    others = world.without(lambda m: m.payload["user_id"] == VICTIM)
    assert {k: v for k, v in at_answer[0].items() if v["user_id"] != VICTIM} == others
    world.deletes.wait_for_workers()
    time.sleep(0.2)
    # No delete request was sent after the answer; the stores read back as they were when it was given
    late = world.deletes.after(answered)
    observed.deletes_after_answer += late
    assert late == 0 and world.contents() == at_answer
    assert runtime.intake().get(job_id).memories_erased == answer.memories_erased
    return answer


@pytest.fixture
def observed(record_property: Callable[[str, object], None]) -> Iterator[Observed]:
    """What a test tried, recorded for the suite's summary (tests/e2e/conftest.py) once the test body passed."""
    tally = Observed()
    yield tally
    record_property(CANCEL_PROPERTY, vars(tally))  # on the teardown report: the conftest reads it there


def seeded(osmem_url: str, monkeypatch: pytest.MonkeyPatch, seed: int) -> World:
    deletes = Deletes()
    deletes.watch(monkeypatch)
    base = Seeded.write(osmem_url, m0.dataset(users=USERS, per_user=PER_USER))
    return World(**vars(base), deletes=deletes, rng=random.Random(seed))


def test_no_delete_is_sent_after_a_cancel_answered_in_this_process(
    aws: str, osmem_url: str, deploy: Any, monkeypatch: pytest.MonkeyPatch, observed: Observed
) -> None:
    # Given 3 users x 100 memories in both stores, delete batches of 20, and jobs run on a background thread
    with S3VectorsLimits(), ThreadPoolExecutor(max_workers=1) as pool:
        create_tables()
        world = seeded(osmem_url, monkeypatch, seed=17)
        deploy(memerase_config(osmem_url, jobs=JOBS))
        runner = runtime.job_runner()
        assert isinstance(runner, InProcessRunner)
        futures: list[Future[Any]] = []
        runner.run_in_background(lambda work: futures.append(pool.submit(work)))
        batches = 2 * PER_USER // BATCH
        for _ in range(POINTS):
            # When a job erasing user-1 is cancelled after a random number of its delete requests
            world.deletes.arm(world.rng.randrange(0, batches))
            job, created = runtime.intake().start(SCOPE, requester="test")
            assert created
            answer = cancel_at_a_random_point(world, job.job_id, observed)
            futures[-1].result(timeout=60)
            # Then (checked above) nothing was deleted after the answer, and the answer counts what is gone;
            # the job resumed erases the rest
            if answer is not None:
                done = runtime.intake().resume(job.job_id)
                while (done := runtime.intake().get(job.job_id)).status.active:
                    time.sleep(0.05)
                assert done.status == JobStatus.COMPLETED and done.memories_erased == 2 * PER_USER
            assert world.victims_left() == 0
            world.rewrite_victims()
    assert observed.cancelled >= POINTS // 2 and observed.deletes_after_answer == 0


def test_no_delete_is_sent_after_a_cancel_answered_in_step_functions(
    osmem_url: str, monkeypatch: pytest.MonkeyPatch, observed: Observed
) -> None:
    # Given the same data, and jobs run by the real ASL in moto's Step Functions
    config = memerase_config(osmem_url, jobs=JOBS)
    with step_functions(config) as harness, S3VectorsLimits():
        create_tables()
        world = seeded(osmem_url, monkeypatch, seed=29)
        batches = 2 * PER_USER // BATCH
        for _ in range(POINTS):
            # When a job erasing user-1 is cancelled after a random number of its delete requests
            world.deletes.arm(world.rng.randrange(0, batches))
            job, created = runtime.intake().start(SCOPE, requester="test")
            assert created and job.execution_arn
            answer = cancel_at_a_random_point(world, job.job_id, observed)
            ended = harness.wait(job.execution_arn)
            # Then (checked above) nothing was deleted after the answer; a cancelled execution was stopped (or, when
            # its next task saw the cancel before the stop landed, ended through Record Failure; the job stays
            # CANCELLED either way)
            assert ended["status"] in (("ABORTED", "FAILED") if answer is not None else ("SUCCEEDED",))
            assert runtime.intake().get(job.job_id).status == (JobStatus.CANCELLED if answer else JobStatus.COMPLETED)
            assert world.victims_left() == (2 * PER_USER - answer.memories_erased if answer else 0)
            world.rewrite_victims()
    assert observed.cancelled >= POINTS // 2 and observed.deletes_after_answer == 0
