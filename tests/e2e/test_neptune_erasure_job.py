"""The real ASL, end to end in moto's Step Functions interpreter, over a Neptune Analytics target beside S3 Vectors.

The Neptune graph holds what mem0 writes there: mem0 2.x memories and entities (mem0ai 2.2.1's own
`NeptuneAnalyticsVector` through boto3 to the `neptune_graph` stand-in), mem0 1.x graph memory (mem0ai 1.0.11's own
openCypher statements), and another application's nodes carrying the same user id. A job erasing one user must end
COMPLETED with a receipt line per Neptune collection and leave exactly that user's mem0 nodes gone, every other node
and relationship intact (properties included), even when the stand-in answers with ConflictException or
ThrottlingException. A Neptune Database (`neptunedb`) graph store is run over gremlite with an injected
ConcurrentModificationException.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.traversal import Bytecode
from gremlite import SQLiteConnection

from memerase import runtime
from memerase.jobs.models import JobRecord, JobStatus, StoreProgress
from memerase.models import Scope
from memerase.stores import neptune_db
from memerase.stores.graph_scope import GRAPH, GRAPH_EMBEDDINGS, USER_ID_ONLY
from memerase.stores.neptune_db import NeptuneDbGraph
from memerase_local.neptune_standin.mem0_graph_v1 import write_graph
from memerase_local.neptune_standin.server import NeptuneGraphStandIn
from tests.support import mem0_data as m0
from tests.support import mem0_neptune
from tests.support.gremlin_standin import open_gremlin_graph
from tests.support.neptune_db_scenarios import FlakyConnection, write_entity_graph
from tests.support.neptune_db_scenarios import snapshot as gremlin_snapshot
from tests.support.neptune_targets import TARGET, add_foreign_nodes, graph_store, snapshot, target_config
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.sfn_harness import StepFunctionsHarness, step_functions
from tests.support.targets import create_tables, memerase_config

USERS, PER_USER, ENTITIES_PER_USER, GRAPH_TRIPLES = 3, 40, 3, 2
VICTIM = "user-1"
GRAPH_USERS = ["user-0", VICTIM, "user-2", "user"]  # "user": mem0 1.x's stand-in for data added without a user id
GRAPH_NODES_PER_USER = GRAPH_TRIPLES + 2  # write_graph: a chain of GRAPH_TRIPLES + 1 entities, and one extra
MEM0_LABELS = {mem0_neptune.label(), mem0_neptune.label(entities=True), "__Entity__"}
# The adapter makes 6 attempts per query, and up to 3 Neptune work items (memories, entities, graph) query at once:
# 3 x 5 absorbed failures at most, so a burst of 3 x 6 + 1 makes at least one call fail for good.
BURST = 3 * 6 + 1
Nodes = dict[str, tuple[list[str], dict[str, Any]]]
Edges = set[tuple[Any, ...]]


@dataclass
class World:
    harness: StepFunctionsHarness
    graph: NeptuneGraphStandIn
    data: list[m0.Memory]
    s3: Any  # mem0's S3Vectors
    before: tuple[Nodes, Edges]

    def run(self, scope: Scope) -> tuple[JobRecord, dict[str, Any]]:
        job, created = runtime.intake().start(scope, requester="test")
        assert created
        execution = self.harness.wait(job.execution_arn or "")
        return runtime.intake().get(job.job_id), execution

    def escalated(self) -> list[str]:
        """Record the errorType of every Lambda invocation that failed (what the ASL's Retry rules match on)."""
        errors: list[str] = []
        invoke = self.harness.invoke

        def recording(function: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
            answer = invoke(function, body, request_headers, response_headers)
            if response_headers.get("x-amz-function-error"):
                errors.append(json.loads(answer)["errorType"])
            return answer

        self.harness.invoke = recording  # type: ignore[method-assign]
        return errors

    def assert_only_victim_gone(self) -> None:
        """The victim's mem0 nodes (memories, entities, graph entities) and their relationships are gone from the
        graph; every other node and relationship is there as it was. S3 Vectors lost exactly the victim's memories."""
        nodes, edges = self.before
        gone = {i for i, (labels, props) in nodes.items() if props.get("user_id") == VICTIM and MEM0_LABELS & {*labels}}
        assert gone, "the victim had no mem0 nodes to erase"
        assert snapshot(self.graph) == (
            {i: n for i, n in nodes.items() if i not in gone},
            {e for e in edges if e[0] not in gone and e[2] not in gone},
        )
        assert m0.s3_contents(self.s3) == {m.id: m.payload for m in self.data if m.payload["user_id"] != VICTIM}


def neptune_data(graph_id: str, data: list[m0.Memory]) -> None:
    """mem0 2.x memories and entities, mem0 1.x graph memory, and another application's nodes, in one graph."""
    mem0_neptune.write(mem0_neptune.memories_store(graph_id), data)
    entities = [
        m0.entity(f"entity {i} of {user}", [m.id for m in data if m.payload["user_id"] == user][:2], user_id=user)
        for user in {m.payload["user_id"] for m in data}
        for i in range(ENTITIES_PER_USER)
    ]
    mem0_neptune.write(mem0_neptune.entity_store(graph_id), entities)
    write_graph(graph_id, GRAPH_USERS, per_user=GRAPH_TRIPLES)


def job_config(target: dict[str, Any]) -> dict[str, Any]:
    """S3 Vectors (mem0's default test collection) and `target`, with the job tables."""
    config = memerase_config("http://127.0.0.1:9", jobs={"time_margin_ms": 1000})
    config["targets"] = [config["targets"][0], target]  # S3 Vectors, not OpenSearch
    return config


@pytest.fixture
def world(neptune_graph: NeptuneGraphStandIn) -> Iterator[World]:
    target = target_config(neptune_graph.graph_id, graph_store(neptune_graph.graph_id))
    # S3VectorsLimits: moto's ListVectors with AWS's limits and its segments (plain moto ignores segmentIndex)
    with step_functions(job_config(target)) as harness, S3VectorsLimits():
        create_tables()
        data = m0.dataset(users=USERS, per_user=PER_USER)
        s3 = m0.s3_store()
        m0.write(s3, data)
        neptune_data(neptune_graph.graph_id, data)
        add_foreign_nodes(neptune_graph, VICTIM)
        yield World(harness, neptune_graph, data, s3, snapshot(neptune_graph))


def neptune_lines(job: JobRecord) -> dict[str, StoreProgress]:
    assert job.receipt is not None
    return {line.role: line for line in job.receipt.stores if line.target == TARGET}


def assert_completed(job: JobRecord, execution: dict[str, Any]) -> None:
    assert execution["status"] == "SUCCEEDED", execution
    assert job.status == JobStatus.COMPLETED and job.error is None and job.scope is None
    assert job.receipt is not None and job.receipt == job.receipt.sealed()
    assert job.receipt.verified_remaining == 0
    assert VICTIM not in json.dumps(job.public())


def test_job_erases_one_user_from_neptune_memories_entities_and_graph_beside_s3_vectors(world: World) -> None:
    # Given three users' memories in S3 Vectors and in Neptune, their mem0 2.x entities and mem0 1.x graph data,
    # and another application's nodes carrying the victim's user id
    # When a job erases the victim
    job, execution = world.run(Scope.of(user_id=VICTIM))
    # Then it completed, two passes (the erasure and a clean verification)
    assert_completed(job, execution)
    assert job.receipt is not None and job.receipt.passes == 2
    # And the receipt has a line for each Neptune collection, each counting the victim's nodes
    lines = neptune_lines(job)
    assert {role: (line.deleted, line.remaining, line.note) for role, line in lines.items()} == {
        "memories": (PER_USER, 0, None),
        "entities": (ENTITIES_PER_USER, 0, None),
        GRAPH: (GRAPH_NODES_PER_USER, 0, None),
    }
    assert job.receipt.memories_erased == 2 * PER_USER  # S3 Vectors and Neptune
    # And exactly the victim's mem0 nodes are gone; everything else (foreign nodes included) is intact
    world.assert_only_victim_gone()


@pytest.mark.parametrize(
    ("code", "times", "escalates"),
    [
        ("ConflictException", 3, False),  # absorbed by the adapter's own retries (6 attempts)
        ("ThrottlingException", 3, False),
        ("ConflictException", BURST, True),  # more than the adapter absorbs: RetryableStoreError, retried by the ASL
        ("ThrottlingException", BURST, True),  # Throttled, retried by the ASL by name
    ],
)
def test_job_completes_through_neptune_conflicts_and_throttling(
    world: World, code: str, times: int, escalates: bool
) -> None:
    # Given the stand-in fails the next requests to Neptune with `code`, as soon as the job starts
    errors = world.escalated()
    world.graph.fail_next(code, times)
    # When a job erases the victim
    job, execution = world.run(Scope.of(user_id=VICTIM))
    # Then every injected failure was consumed, and only a burst longer than the adapter's retries reached the state
    # machine, as the error its Retry rules name
    assert world.graph.requests > times
    expected = {"ConflictException": "RetryableStoreError", "ThrottlingException": "Throttled"}[code]
    assert set(errors) == ({expected} if escalates else set())
    # And the job completed exactly: the victim gone, everything else intact
    assert_completed(job, execution)
    assert {role: line.deleted for role, line in neptune_lines(job).items()} == {
        "memories": PER_USER,
        "entities": ENTITIES_PER_USER,
        GRAPH: GRAPH_NODES_PER_USER,
    }
    world.assert_only_victim_gone()


def test_job_for_a_user_and_an_agent_leaves_the_graph_and_says_not_applicable(world: World) -> None:
    # Given the victim's memories, some of them with agent-a
    with_agent = [m for m in world.data if m.payload["user_id"] == VICTIM and m.payload.get("agent_id") == "agent-a"]
    assert with_agent
    # When a job erases the victim with agent-a
    job, execution = world.run(Scope.of(user_id=VICTIM, agent_id="agent-a"))
    # Then it completed; the graph line says why it was left alone
    assert_completed(job, execution)
    lines = neptune_lines(job)
    assert (lines[GRAPH].note, lines[GRAPH].deleted) == (USER_ID_ONLY, 0)
    assert lines["memories"].deleted == len(with_agent)
    # And only those memories are gone from Neptune: the victim's user-level entity nodes, which lie outside the
    # erased user+agent scope, are byte for byte as they were (another scope's record is never rewritten), and no
    # graph node was touched
    nodes, edges = world.before
    gone = {m.id for m in with_agent}
    assert any(set(n[1].get("linked_memory_ids", [])) & gone for n in nodes.values()), "no entity linked them"
    assert snapshot(world.graph) == ({i: n for i, n in nodes.items() if i not in gone}, edges)


# ---- Neptune Database (gremlin): the graph store `neptunedb` over gremlite ---------------------------------------

DB_ENDPOINT = "neptune-db://db.cluster-e2e.us-east-1.neptune.amazonaws.com:8182"
EMBEDDINGS = "mem0_neptune_vector_store"


class PerThreadSQLite(RemoteConnection):  # type: ignore[misc]
    """gremlite over one SQLite file, a connection per thread: the job's Lambda tasks run on threads of this
    process, and SQLite connections refuse use from another thread."""

    def __init__(self, path: Path) -> None:
        super().__init__("gremlite", "g")
        self._path = path
        self._local = threading.local()
        self._opened: list[SQLiteConnection] = []

    def submit(self, bytecode: Bytecode) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = SQLiteConnection(self._path, autocommit=True)
            self._opened.append(connection)
        return connection.submit(bytecode)

    def is_closed(self) -> bool:
        return False

    def close(self) -> None:
        """Kept open until the test ends (`close_all`): memerase closes its connection after failures."""

    def close_all(self) -> None:
        """Close what this thread opened; SQLite refuses to close the others' connections from here (they close
        when collected)."""
        for connection in self._opened:
            with contextlib.suppress(sqlite3.ProgrammingError):
                connection.close()


def test_job_erases_one_user_from_a_neptune_database_graph_through_concurrent_modifications(
    neptune_graph: NeptuneGraphStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given mem0 1.x graph memory on Neptune Database (gremlite standing in, vertices labelled `__Entity__`) for
    # three users, whose first two drops fail with ConcurrentModificationException
    path = tmp_path / "neptune-db.sqlite"
    with open_gremlin_graph(path) as gremlin:
        written = write_entity_graph(gremlin.g, ["user-0", VICTIM, "user"], per_user=4)
        before = gremlin_snapshot(gremlin.g)
    sqlite = PerThreadSQLite(path)
    flaky = FlakyConnection(sqlite, failures=2)
    built: list[str] = []

    def build_graph(endpoint: str, region_name: str | None, base_label: bool) -> NeptuneDbGraph:
        built.append(endpoint)
        return NeptuneDbGraph.connected(lambda: flaky, base_label, numeric_ids=True)

    monkeypatch.setattr(neptune_db, "build_graph", build_graph)
    # And the entity embeddings mem0 1.x keeps in the main vector store (Neptune Analytics here), keyed by vertex id
    embeddings = mem0_neptune.memories_store(neptune_graph.graph_id, collection=EMBEDDINGS)
    vectors = [
        m0.Memory(str(vertex), {"name": f"entity {vertex}", "type": "person", "user_id": user}, [0.5] * m0.DIMS)
        for user, ids in written.vertices.items()
        for vertex in ids
    ]
    mem0_neptune.write(embeddings, vectors)
    graph_block = {"provider": "neptunedb", "config": {"endpoint": DB_ENDPOINT, "base_label": True}}
    config = job_config(target_config(neptune_graph.graph_id, graph_block))
    config["targets"] = config["targets"][1:]  # the Neptune target alone
    try:
        with step_functions(config) as harness:
            create_tables()
            # When a job erases the victim
            job, created = runtime.intake().start(Scope.of(user_id=VICTIM), requester="test")
            execution = harness.wait(job.execution_arn or "")
            done = runtime.intake().get(job.job_id)
        # Then it completed through the conflicts (retried by the adapter), its receipt counting the victim's
        # vertices and their embeddings
        assert created and built and flaky.failures_left == 0 and flaky.attempts > 2
        assert_completed(done, execution)
        lines = neptune_lines(done)
        assert (lines[GRAPH].deleted, lines[GRAPH_EMBEDDINGS].deleted) == (4, 4)
        # And exactly the victim's vertices (with their edges) and embeddings are gone, nothing else
        with open_gremlin_graph(path) as gremlin:
            assert gremlin_snapshot(gremlin.g) == before.without(written.vertices[VICTIM])
    finally:
        sqlite.close_all()
    left = mem0_neptune.contents(embeddings)
    assert {i: p["user_id"] for i, p in left.items()} == {
        v.id: v.payload["user_id"] for v in vectors if v.payload["user_id"] != VICTIM
    }
