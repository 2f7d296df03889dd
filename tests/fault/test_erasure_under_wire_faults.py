"""Erasure jobs under faults injected at the wire of every client they use: S3 Vectors, OpenSearch, DynamoDB (jobs and
history tables), Step Functions and Neptune Analytics answer 10-30 % of the calls with the throttling error AWS (or
OpenSearch) documents as retriable, a 5xx, a connection reset or a slow answer; workers are killed mid-page at their
delete requests, before a page's delete is sent (listed, not deleted) or after it was applied (deleted, not
checkpointed). The real ASL runs in moto's Step Functions interpreter, its tasks in-process.

Every store is read back in full before and after (directly, over the wire protocols, with faults off): each job ends
COMPLETED with nothing of its scope left anywhere, and every other memory, entity, graph node and relationship as it
was. Each test prints how many faults it injected and survived (`-s`; the suite's totals in the terminal summary).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opensearchpy import OpenSearch

from memerase import runtime
from memerase.jobs.models import JobRecord, JobStatus
from memerase.models import Scope
from memerase_local.neptune_standin.mem0_graph_v1 import write_graph
from memerase_local.neptune_standin.server import NeptuneGraphStandIn
from tests.support import mem0_data as m0
from tests.support import mem0_neptune
from tests.support.neptune_targets import add_foreign_nodes, graph_store, snapshot, target_config
from tests.support.readback import Snapshot, opensearch_memories, s3_memories
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.sfn_harness import StepFunctionsHarness, step_functions
from tests.support.targets import create_tables, memerase_config
from tests.support.wire_faults import WireFaults, killed_as_lambda_reports, wire_faults

USERS, PER_USER, ENTITIES_PER_USER = 4, 60, 2
VICTIM = "user-2"
GRAPH_USERS = ["user-0", "user-1", VICTIM, "user-3"]
MEM0_LABELS = {mem0_neptune.label(), mem0_neptune.label(entities=True), "__Entity__"}
OUT_OF_TIME_MS = 999  # below the jobs' time margin (1000 ms): a worker stops after every page, checkpointing it
PAGE_BYTES = 6_000  # ListVectors pages of ~20 mem0 vectors: many pages, many checkpoints per S3 segment
Survived = Callable[[WireFaults], None]


@dataclass
class World:
    harness: StepFunctionsHarness
    graph: NeptuneGraphStandIn
    osmem_url: str
    data: list[m0.Memory]
    before: dict[str, Any]

    def read_back(self) -> dict[str, Any]:
        """Every store in full, read directly: S3 Vectors, OpenSearch, the Neptune graph (nodes and relationships)."""
        return {
            "s3": s3_memories(m0.BUCKET, m0.INDEX),
            "opensearch": opensearch_memories(OpenSearch(hosts=[self.osmem_url]), m0.INDEX),
            "neptune": snapshot(self.graph),
        }

    def run(self, scope: Scope, faults: WireFaults) -> tuple[JobRecord, dict[str, Any]]:
        """Start a job with the faults armed; wait for its execution; the job as it ended (faults off again)."""
        faults.armed = True
        try:
            job, created = runtime.intake().start(scope, requester="test")
            assert created
            execution = self.harness.wait(job.execution_arn or "", timeout=600)
        finally:
            faults.armed = False
        return runtime.intake().get(job.job_id), execution

    def assert_only_scope_gone(self, user_id: str, also: frozenset[str] = frozenset()) -> None:
        """Nothing of the user (nor the memories `also`) is left in any store; everything else is exactly as it was."""
        after = self.read_back()
        for store in ("s3", "opensearch"):
            expected: Snapshot = {
                k: v for k, v in self.before[store].items() if v.get("user_id") != user_id and k not in also
            }
            assert len(expected) < len(self.before[store])
            assert after[store] == expected, store
        nodes, edges = self.before["neptune"]
        gone = {
            i for i, (labels, props) in nodes.items() if props.get("user_id") == user_id and MEM0_LABELS & {*labels}
        }
        assert gone and also <= set(nodes)
        gone |= also
        assert after["neptune"] == (
            {i: n for i, n in nodes.items() if i not in gone},
            {e for e in edges if e[0] not in gone and e[2] not in gone},
        )


def neptune_data(graph_id: str, data: list[m0.Memory]) -> None:
    """mem0 2.x memories and entities, mem0 1.x graph memory, in one graph (mem0's own writers)."""
    mem0_neptune.write(mem0_neptune.memories_store(graph_id), data)
    entities = [
        m0.entity(f"entity {i} of {user}", [m.id for m in data if m.payload["user_id"] == user][:2], user_id=user)
        for user in GRAPH_USERS
        for i in range(ENTITIES_PER_USER)
    ]
    mem0_neptune.write(mem0_neptune.entity_store(graph_id), entities)
    write_graph(graph_id, GRAPH_USERS, per_user=2)


@pytest.fixture
def world(osmem_url: str, neptune_graph: NeptuneGraphStandIn) -> Iterator[World]:
    config = memerase_config(osmem_url, jobs={"time_margin_ms": 1000}, partitions=(4, 2))
    config["targets"].append(target_config(neptune_graph.graph_id, graph_store(neptune_graph.graph_id)))
    with step_functions(config) as harness, S3VectorsLimits(max_page_bytes=PAGE_BYTES):
        create_tables()
        data = m0.dataset(users=USERS, per_user=PER_USER)
        m0.seed(osmem_url, data)
        neptune_data(neptune_graph.graph_id, data)
        add_foreign_nodes(neptune_graph, VICTIM)
        harness.invoke = killed_as_lambda_reports(harness.invoke)  # type: ignore[method-assign]
        world = World(harness, neptune_graph, osmem_url, data, {})
        world.before = world.read_back()
        yield world


@pytest.fixture
def faults(world: World) -> Iterator[WireFaults]:
    """Wire faults, installed before memerase builds its clients (disarmed until a job runs)."""
    surely = (
        "s3vectors",
        "opensearch",
        "dynamodb",
        "neptune-graph",
    )  # a test whose faults never reached a store proves nothing
    with wire_faults(WireFaults(opensearch_url=world.osmem_url, surely=surely)) as installed:
        runtime.reset()
        yield installed


def completed(job: JobRecord, execution: dict[str, Any]) -> None:
    assert execution["status"] == "SUCCEEDED", execution
    assert job.status == JobStatus.COMPLETED and job.error is None and job.scope is None
    assert job.receipt is not None and job.receipt == job.receipt.sealed()
    assert job.receipt.verified_remaining == 0
    assert VICTIM not in json.dumps(job.public())


def every_client_faulted(faults: WireFaults) -> None:
    """The faults reached every client of the erasure path (a test whose faults never fired proves nothing)."""
    clients = {client for client, _kind in faults.injected}
    assert {"s3vectors", "opensearch", "dynamodb", "neptune-graph"} <= clients, faults.summary()
    assert {"throttle", "5xx", "reset", "slow"} <= set(faults.by_kind()), faults.summary()


@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_job_erases_exactly_its_scope_when_every_client_throttles_resets_fails_and_stalls(
    world: World, faults: WireFaults, survived: Survived, rate: float
) -> None:
    # Given every client of the erasure path answers `rate` of its calls with a retriable throttling error, a 5xx, a
    # connection reset or a slow answer, and workers that stop after every page (many invocations, many calls)
    faults.rate = rate
    world.harness.budget_ms["job_erase"] = lambda: OUT_OF_TIME_MS
    # When a job erases the victim
    job, execution = world.run(Scope.of(user_id=VICTIM), faults)
    # Then the faults reached every client, and the job still completed with a clean verification
    every_client_faulted(faults)
    completed(job, execution)
    # And nothing of the victim is left in any store, everything else exactly as it was
    world.assert_only_scope_gone(VICTIM)
    survived(faults)


@pytest.mark.parametrize("after_send", [False, True], ids=["listed-not-deleted", "deleted-not-checkpointed"])
def test_workers_killed_at_their_delete_requests_lose_nothing_under_wire_faults(
    world: World, faults: WireFaults, survived: Survived, after_send: bool
) -> None:
    # Given 20 % of all calls fault, and every 2nd delete request of each store kills its worker (Lambda's timeout),
    # either before the request is sent (the page was listed, not deleted) or after the store applied it (deleted,
    # not checkpointed)
    for client in ("s3vectors", "opensearch", "neptune-graph"):
        faults.kill_at(client, every=2, after_send=after_send)
    world.harness.budget_ms["job_erase"] = lambda: OUT_OF_TIME_MS
    # When a job erases the victim
    job, execution = world.run(Scope.of(user_id=VICTIM), faults)
    # Then workers of every store were killed, were retried by the state machine from their checkpoints, and the job
    # completed with a clean verification
    killed = {client for client, kind in faults.injected if kind.startswith("killed")}
    assert killed == {"s3vectors", "opensearch", "neptune-graph"}, faults.summary()
    completed(job, execution)
    # And nothing of the victim is left in any store, everything else exactly as it was
    world.assert_only_scope_gone(VICTIM)
    survived(faults)


def test_inline_erasures_by_id_and_by_scope_absorb_every_retriable_fault_in_process(
    world: World, faults: WireFaults, survived: Survived
) -> None:
    # Given every client answers 30 % of its calls with a retriable fault, and the API's inline erasures (no state
    # machine around them to retry: a failure would reach the caller as a 503)
    faults.rate = 0.3
    eraser = runtime.eraser()
    one = [m for m in world.data if m.payload["user_id"] == "user-0"][-1]  # a memory no entity record links
    # When one memory is erased by id, then a whole user by scope, with the faults armed
    faults.armed = True
    try:
        by_id = eraser.delete_memory(one.id)
        by_scope = eraser.delete_matching(Scope.of(user_id=VICTIM))
    finally:
        faults.armed = False
    # Then both succeeded and verified, the faults having reached the stores
    assert by_id.memories == 1 and by_scope.verified, (by_id, by_scope)
    assert {"s3vectors", "opensearch", "neptune-graph"} <= {client for client, _ in faults.injected}
    # And exactly the memory and the victim are gone, everything else as it was
    world.assert_only_scope_gone(VICTIM, also=frozenset({one.id}))
    survived(faults)
