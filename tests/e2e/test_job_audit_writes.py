"""An erasure job, end to end in moto's Step Functions interpreter, writes the audit table without reading it: each
erased memory's DELETE event is written by the work items that erase it (both targets hold it: the second write is an
idempotent overwrite of the same event id), and not one Query, GetItem or Scan reaches the table."""

from __future__ import annotations

from memerase import runtime
from memerase.history import HistoryStore
from memerase.jobs.models import JobStatus
from memerase.models import Scope
from tests.support import mem0_data as m0
from tests.support.dynamodb_requests import dynamodb_requests
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.seeded import Seeded
from tests.support.sfn_harness import step_functions
from tests.support.targets import HISTORY_TABLE, create_tables, memerase_config

VICTIM = "user-1"


def test_a_job_writes_one_event_per_erased_memory_and_never_reads_the_audit_table(osmem_url: str) -> None:
    # Given 3 users x 120 memories in S3 Vectors and OpenSearch, and a deployment with the audit table
    with step_functions(memerase_config(osmem_url, jobs={}, partitions=(2, 1))) as harness, S3VectorsLimits():
        create_tables()
        seeded = Seeded.write(osmem_url, m0.dataset(users=3, per_user=120))
        # When a job erases user-1, every DynamoDB request moto receives counted
        with dynamodb_requests() as requests:
            job, _ = runtime.intake().start(Scope.of(user_id=VICTIM), requester="test")
            harness.wait(job.execution_arn or "")
        done = runtime.intake().get(job.job_id)
        # Then the job completed, and the audit table received writes only
        assert done.status == JobStatus.COMPLETED
        on_table = requests.on(HISTORY_TABLE)
        assert set(on_table) == {"TransactWriteItems"}, on_table
        # And each of user-1's memories has exactly one content-free DELETE event, nobody else any
        history = HistoryStore(HISTORY_TABLE)
        for memory in seeded.of(VICTIM):
            assert [(r["event"], r["old_memory"], r["new_memory"]) for r in history.history(memory.id)] == [
                ("DELETE", None, None)
            ]
        other = next(m for m in seeded.data if m.payload["user_id"] != VICTIM)
        assert history.history(other.id) == []
