"""The DynamoDB-backed stores used from several threads of one process at once, as `memerase serve` and the tests'
Step Functions run handlers (`memerase.dynamo.expressions`): each request's condition is built by a builder of its
own. boto3 builds condition objects with one builder per resource, and two threads reset its counters under each
other: in CI a job worker's cancel check read its job with a Query naming `sk` twice and no `pk` ("Query condition
missed key schema element: pk"); at other moments such a read names the wrong value and finds no job at all.

The interleaving is made to happen, not waited for: one read is held after its first placeholder while another
read starts, then let go."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from boto3.dynamodb.conditions import ConditionExpressionBuilder, Key

from memerase.jobs.models import JobRecord
from memerase.jobs.repository import JobsTable, now
from memerase.models import Scope
from memerase.scope_key import ScopeHasher
from tests.support.targets import JOBS_TABLE, create_tables

WAIT_S = 10
SCOPE = Scope.of(user_id="user-threads")


@pytest.fixture
def jobs(aws: str) -> JobsTable:
    """The jobs table with two queued jobs, job-a and job-b, their scopes kept apart."""
    create_tables(history=None)
    table = JobsTable(JOBS_TABLE)
    stamp = now()
    hashed = ScopeHasher.from_env().scope(SCOPE)
    for job_id in ("job-a", "job-b"):
        assert table.create(
            JobRecord(job_id=job_id, scope_hash=hashed, scope=SCOPE, created_at=stamp, updated_at=stamp)
        )
    return table


class Interleaving:
    """Holds thread `first` as it asks for its second name placeholder (`pk`'s is taken, `sk`'s not yet) and thread
    `second` as it asks for its first, until let go."""

    def __init__(self) -> None:
        self.asked: Counter[str] = Counter()
        self.held = {"first": threading.Event(), "second": threading.Event()}
        self.go = {"first": threading.Event(), "second": threading.Event()}

    @contextmanager
    def installed(self) -> Iterator[None]:
        real = ConditionExpressionBuilder._get_name_placeholder

        def placeholder(builder: ConditionExpressionBuilder) -> Any:
            name = threading.current_thread().name
            self.asked[name] += 1
            if (name, self.asked[name]) in (("first", 2), ("second", 1)):
                self.held[name].set()
                assert self.go[name].wait(WAIT_S), f"{name} was not let go"
            return real(builder)

        with mock.patch.object(ConditionExpressionBuilder, "_get_name_placeholder", placeholder):
            yield


def interleaved(read: Callable[[str], str]) -> dict[str, str]:
    """`read` of job-a on thread "first", held after its first placeholder, then `read` of job-b on thread "second",
    held as it begins; the first let go, then the second: what each read found (or raised)."""
    found: dict[str, str] = {}

    def run(job_id: str) -> None:
        try:
            found[threading.current_thread().name] = read(job_id)
        except Exception as exc:
            found[threading.current_thread().name] = f"{type(exc).__name__}: {exc}"

    steps = Interleaving()
    with steps.installed():
        first = threading.Thread(target=run, args=("job-a",), name="first")
        second = threading.Thread(target=run, args=("job-b",), name="second")
        first.start()
        assert steps.held["first"].wait(WAIT_S)
        second.start()
        assert steps.held["second"].wait(WAIT_S)
        steps.go["first"].set()
        first.join(WAIT_S)
        steps.go["second"].set()
        second.join(WAIT_S)
    return found


def test_two_job_reads_interleaved_on_two_threads_each_find_their_own_job(jobs: JobsTable) -> None:
    # Given two job reads on two threads, When the second begins while the first is half-way through its condition
    found = interleaved(lambda job_id: (job := jobs.get(job_id)).job_id + f" {job.scope == SCOPE}")
    # Then each found its own job, with its scope
    assert found == {"first": "job-a True", "second": "job-b True"}


def test_the_same_reads_with_condition_objects_fail(jobs: JobsTable) -> None:
    # Given the same Query sent with the condition object, built by the resource's one builder
    table = jobs._table

    def read(job_id: str) -> str:
        condition = Key("pk").eq(f"job#{job_id}") & Key("sk").between("job", "job#scope")
        return " ".join(sorted(item["sk"] for item in table.query(KeyConditionExpression=condition)["Items"]))

    # When the two reads interleave as above
    found = interleaved(read)
    # Then the first read's request names `sk` twice and no `pk`: the failure CI saw
    assert found["first"].startswith("ClientError:") and "missed key schema element: pk" in found["first"]
