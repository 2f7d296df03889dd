"""An erasure job over a Neptune target: its collections (memories, entities, mem0 1.x graph data) become work items,
and a store the scope does not apply to gets none, its note carried into the progress and the receipt."""

from __future__ import annotations

import boto3
import pytest

from memerase.fingerprint import ScopeHasher
from memerase.jobs.models import JobRecord, WorkItem
from memerase.jobs.repository import JobsTable, now
from memerase.jobs.repository import table_schema as jobs_schema
from memerase.jobs.steps import JobSteps
from memerase.models import Scope
from memerase.settings import JobsConfig
from memerase.stores.graph_scope import USER_ID_ONLY
from memerase_local.neptune_standin.mem0_graph_v1 import write_graph
from memerase_local.neptune_standin.server import NeptuneGraphStandIn
from tests.support import mem0_neptune
from tests.support.jobs import services_over
from tests.support.mem0_data import dataset
from tests.support.neptune_targets import eraser, graph_store

TABLE = "memerase-jobs"


@pytest.fixture
def jobs(aws: str) -> JobsTable:
    boto3.client("dynamodb").create_table(**jobs_schema(TABLE))
    return JobsTable(TABLE)


def run_job(steps: JobSteps, jobs: JobsTable, scope: Scope) -> tuple[list[WorkItem], JobRecord]:
    """plan, every work item to its end, verify, finalize: what the state machine does for one clean pass."""
    job = JobRecord(
        job_id="job-1", scope_hash=ScopeHasher.from_env().scope(scope), scope=scope, created_at=now(), updated_at=now()
    )
    jobs.create(job)
    items = steps.plan(job.job_id)
    for item in items:
        assert steps.erase(job.job_id, item, lambda: 10**9)
    steps.verify(job.job_id)
    steps.finalize(job.job_id)
    return items, jobs.get(job.job_id)


def test_a_user_scope_job_plans_and_erases_the_graph_data_too(
    neptune_graph: NeptuneGraphStandIn, jobs: JobsTable
) -> None:
    # Given memories and graph data of two users
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), dataset(users=2, per_user=4))
    write_graph(neptune_graph.graph_id, ["user-0", "user-1"], per_user=2)
    engine = eraser(neptune_graph.graph_id, graph_store(neptune_graph.graph_id))
    steps = services_over(engine, jobs, JobsConfig(table_name=TABLE)).steps

    # When a job erases user-0
    items, job = run_job(steps, jobs, Scope.of(user_id="user-0"))

    # Then memories, entities and graph each had a work item, and the receipt counts user-0's nodes in each
    assert [i.role for i in items] == ["memories", "entities", "graph"]
    assert job.receipt is not None
    assert {(p.store.split(":")[0], p.deleted, p.note) for p in job.receipt.stores} == {
        ("neptune_analytics", 4, None),
        ("neptune_analytics", 0, None),
        ("neptune_analytics_graph", 4, None),
    }
    assert neptune_graph.cypher("MATCH (n {user_id: 'user-0'}) RETURN count(n) AS c") == [{"c": 0}]


def test_a_job_beyond_user_id_skips_the_graph_and_its_receipt_says_why(
    neptune_graph: NeptuneGraphStandIn, jobs: JobsTable
) -> None:
    # Given memories and graph data of two users
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), dataset(users=2, per_user=6))
    write_graph(neptune_graph.graph_id, ["user-0", "user-1"], per_user=2)
    graph_nodes = neptune_graph.cypher("MATCH (n) WHERE n.mentions IS NOT NULL RETURN count(n) AS c")
    engine = eraser(neptune_graph.graph_id, graph_store(neptune_graph.graph_id))
    steps = services_over(engine, jobs, JobsConfig(table_name=TABLE)).steps

    # When a job erases user-0 with agent-a
    items, job = run_job(steps, jobs, Scope.of(user_id="user-0", agent_id="agent-a"))

    # Then the graph got no work item, the job completed, its graph line carries the note, the graph is untouched
    assert [i.role for i in items] == ["memories", "entities"]
    assert job.status.value == "COMPLETED" and job.receipt is not None
    [graph] = [p for p in job.receipt.stores if p.store.startswith("neptune_analytics_graph")]
    assert (graph.note, graph.deleted, graph.items_total, graph.remaining) == (USER_ID_ONLY, 0, 0, None)
    assert neptune_graph.cypher("MATCH (n) WHERE n.mentions IS NOT NULL RETURN count(n) AS c") == graph_nodes


def test_a_dry_run_job_counts_the_graph_or_says_why_it_does_not(
    neptune_graph: NeptuneGraphStandIn, jobs: JobsTable
) -> None:
    # Given graph data of two users
    write_graph(neptune_graph.graph_id, ["user-0", "user-1"], per_user=2)
    engine = eraser(neptune_graph.graph_id, graph_store(neptune_graph.graph_id))
    config = JobsConfig(table_name=TABLE)
    launcher = services_over(engine, jobs, config).intake

    # When dry-run jobs count user-0, and user-0 with an agent
    counted, _ = launcher.start(Scope.of(user_id="user-0"), dry_run=True)
    skipped, _ = launcher.start(Scope.of(user_id="user-0", agent_id="a1"), dry_run=True)

    # Then the first counts user-0's 4 entity nodes, the second carries the note instead of a count
    graph = [(p.remaining, p.note) for p in counted.progress if p.store.startswith("neptune_analytics_graph")]
    assert graph == [(4, None)]
    graph = [(p.remaining, p.note) for p in skipped.progress if p.store.startswith("neptune_analytics_graph")]
    assert graph == [(None, USER_ID_ONLY)]
