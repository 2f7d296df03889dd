"""Soak: many erasure jobs over overlapping and disjoint scopes, and API deletes by id, all at once, over S3 Vectors,
OpenSearch and Neptune Analytics; bounded in time (SOAK_SECONDS) and size. Then a full audit of every store: exactly
the union of the scopes and the deleted ids is gone, everything else is exactly as it was, and every job COMPLETED
with a clean verification. The real ASL runs in moto's Step Functions interpreter, its tasks in-process; the jobs'
workers stop after every page (many invocations interleave). Not part of the default suite (see conftest.py)."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from opensearchpy import OpenSearch

from memerase import runtime
from memerase.errors import MemoryNotFound
from memerase.jobs.models import JobStatus
from memerase.models import Scope
from memerase_local.neptune_standin.server import NeptuneGraphStandIn
from tests.soak.conftest import FIGURES
from tests.support import mem0_data as m0
from tests.support import mem0_neptune
from tests.support.neptune_targets import target_config
from tests.support.readback import Snapshot, neptune_memories, opensearch_memories, s3_memories
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.sfn_harness import StepFunctionsHarness, step_functions
from tests.support.targets import create_tables, memerase_config

USERS, PER_USER = 10, 60
SOAK_SECONDS = float(os.environ.get("MEMERASE_SOAK_SECONDS", "600"))
API_DELETES = 60
OUT_OF_TIME_MS = 999  # below the time margin: every erase invocation stops after one page
# Overlapping scopes (a user and that user's agent, an agent across users, a run across users) and disjoint ones.
SCOPES = [
    Scope.of(user_id="user-1"),
    Scope.of(user_id="user-1", agent_id="agent-a"),
    Scope.of(agent_id="agent-b"),
    Scope.of(user_id="user-3", run_id="run-1"),
    Scope.of(run_id="run-2", agent_id="agent-a"),
    Scope.of(user_id="user-5"),
    Scope.of(user_id="user-6"),
    Scope.of(user_id="user-7", agent_id="agent-b"),
    Scope.of(user_id="user-8", run_id="run-3"),
    Scope.of(user_id="absent-user"),
]


@dataclass
class World:
    harness: StepFunctionsHarness
    osmem_url: str
    graph: NeptuneGraphStandIn
    data: list[m0.Memory]

    def read_back(self) -> dict[str, Snapshot]:
        return {
            "s3": s3_memories(m0.BUCKET, m0.INDEX),
            "opensearch": opensearch_memories(OpenSearch(hosts=[self.osmem_url]), m0.INDEX),
            "neptune": neptune_memories(self.graph.client(), self.graph.graph_id, mem0_neptune.COLLECTION),
        }


@pytest.fixture
def world(osmem_url: str, neptune_graph: NeptuneGraphStandIn) -> Iterator[World]:
    config = memerase_config(osmem_url, jobs={"time_margin_ms": 1000}, partitions=(4, 2))
    config["targets"].append(target_config(neptune_graph.graph_id))
    with step_functions(config) as harness, S3VectorsLimits(max_page_bytes=6_000):
        create_tables()
        data = m0.dataset(
            users=USERS, per_user=PER_USER, agents=("agent-a", "agent-b", None), runs=("run-1", "run-2", "run-3", None)
        )
        m0.seed(osmem_url, data)
        mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), data)
        harness.budget_ms["job_erase"] = lambda: OUT_OF_TIME_MS
        yield World(harness, osmem_url, neptune_graph, data)


def in_scope(payload: dict[str, Any], scope: Scope) -> bool:
    return all(payload.get(k) == v for k, v in scope.filters().items())


def test_concurrent_jobs_and_api_deletes_erase_exactly_their_scopes_and_ids(world: World) -> None:
    # Given every store read back in full, ten jobs' scopes (overlapping and disjoint, one matching nothing) and random
    # memories to delete by id through the API's engine, some inside the jobs' scopes and some outside
    before = world.read_back()
    assert before["s3"] == before["opensearch"] and len(before["s3"]) == USERS * PER_USER
    by_id = random.Random(5).sample([m.id for m in world.data], API_DELETES)
    not_found = [0]
    lock = threading.Lock()

    def delete_by_id(memory_id: str) -> None:
        try:
            runtime.eraser().delete_memory(memory_id)
        except MemoryNotFound:  # a job got to it first
            with lock:
                not_found[0] += 1

    # When the jobs are all started at once, and the deletes by id run while they do
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = list(pool.map(lambda s: runtime.intake().start(s, requester="soak")[0], SCOPES))
        list(pool.map(delete_by_id, by_id))
    executions = [world.harness.wait(j.execution_arn or "", timeout=SOAK_SECONDS) for j in jobs]
    elapsed = time.monotonic() - started
    # Then every job COMPLETED with a clean verification
    finished = [runtime.intake().get(j.job_id) for j in jobs]
    assert [e["status"] for e in executions] == ["SUCCEEDED"] * len(SCOPES), executions
    assert all(j.status == JobStatus.COMPLETED and j.receipt and j.receipt.verified_remaining == 0 for j in finished)
    # And every store lost exactly the memories of the scopes and the ids deleted, nothing else
    gone = {m.id for m in world.data if any(in_scope(m.payload, s) for s in SCOPES)} | set(by_id)
    after = world.read_back()
    for store, snapshot in before.items():
        assert after[store] == {k: v for k, v in snapshot.items() if k not in gone}, store
    erased = sum(j.receipt.memories_erased for j in finished if j.receipt)
    FIGURES.append(
        f"concurrent soak: {len(SCOPES)} jobs (overlapping and disjoint scopes) + {API_DELETES} API deletes by id at "
        f"once over S3 Vectors, OpenSearch and Neptune Analytics ({USERS * PER_USER} memories each): all jobs "
        f"COMPLETED and verified in {elapsed:.0f} s; {len(gone)} memories gone from every store (receipts count "
        f"{erased} store records, {not_found[0]} deletes by id found their memory already erased by a job); "
        f"{len(before['s3']) - len(gone)} other memories intact in each store; "
        f"{sum(world.harness.invocations.values())} Lambda invocations"
    )
