"""Benchmark: erase one user among many in the Amazon Neptune Analytics vector store, with memerase and with mem0.

Run from the repository root::

    .venv/bin/python -m bench.neptune_erase_one_user [--users 10 --per-user 200 --victim 3]

It writes the same dataset (`tests.support.mem0_data.dataset`, mem0's payload layout) twice, through mem0ai 2.2.1's
own `NeptuneAnalyticsVector.insert`, into two graphs of the Neptune Analytics stand-in (`neptune-graph` ExecuteQuery
over HTTP, openCypher evaluated by FalkorDB: `memerase_local.neptune_standin.server`, started as the tests' session
fixture starts it). Then it erases one user

* with memerase: `Eraser([target]).delete_matching(Scope.of(user_id=...))` on the first graph, the target built by
  `memerase.stores.factory.build_target` from the mem0 `vector_store` block `{"provider": "neptune", ...}`, its
  verification pass (`count_remaining`) measured apart;
* with mem0ai 2.2.1's `Memory.delete_all(user_id=...)` on the second graph (the `Memory` of
  `bench.one_user_measure.mem0_memory`: mem0's own vector store and SQLite history, no LLM or embedder, never
  reached by `delete_all`);

counts the ExecuteQuery requests AT THE SERVER (the stand-in's counter: every request it receives, failed ones
included), times both, checks that each graph holds exactly what it held before minus the user's nodes (every
property compared) and that both kept the same nodes, and prints them side by side with the minimum. Nothing is
asserted on time; the exit status is 0 unless the data check fails.
"""

from __future__ import annotations

import os

from tests.support import fake_aws

# Before boto3 / mem0 are imported: fake credentials (nothing can reach a real AWS account), no mem0 telemetry.
os.environ["MEM0_TELEMETRY"] = "False"
fake_aws.apply()

import logging  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import mem0  # noqa: E402

from bench.one_user_args import dataset_parser, machine_line, parse_dataset_args  # noqa: E402
from bench.one_user_measure import Measure, MemeraseRun, erase_with_mem0, erase_with_memerase, mem0_memory  # noqa: E402
from memerase.models import Scope  # noqa: E402
from memerase.settings import Target  # noqa: E402
from memerase.stores import neptune_analytics  # noqa: E402
from memerase.stores.factory import build_target  # noqa: E402
from memerase_local.neptune_standin.server import NeptuneGraphServer, NeptuneGraphStandIn  # noqa: E402
from tests.support import mem0_data as m0  # noqa: E402
from tests.support import mem0_neptune  # noqa: E402

PAGE = neptune_analytics.PAGE_SIZE  # memerase's page of matching nodes (1000)
BATCH = neptune_analytics.DELETE_BATCH_SIZE  # memerase's DETACH DELETE batch (500)
MEM0_GRAPH = "g-mem0bench"
ENTITIES_LABEL = mem0_neptune.label(entities=True)
Nodes = dict[str, tuple[tuple[str, ...], dict[str, Any]]]


def operation(query: str) -> str:
    """A name for one ExecuteQuery from its openCypher text: what it does (Match or Delete) and to which collection
    (`entities` for mem0's entity label, else the memories)."""
    text = " ".join(query.split())
    kind = "Delete" if "DELETE" in text.upper() else "Match"
    return f"{kind} entities" if ENTITIES_LABEL in text else f"{kind} memories"


def counter(standin: NeptuneGraphStandIn) -> Callable[[], Counter[str]]:
    """Requests received by the server so far, by operation (read from its request log; `requests` is the total)."""

    def snapshot() -> Counter[str]:
        counts = Counter(operation(q.query) for q in list(standin.queries))
        return counts

    return snapshot


def nodes(standin: NeptuneGraphStandIn, graph_id: str) -> Nodes:
    """Every node of a graph, read raw: `~id` -> (labels, properties)."""
    rows = standin.cypher("MATCH (n) RETURN n", graph_id=graph_id)
    return {r["n"]["~id"]: (tuple(sorted(r["n"]["~labels"])), r["n"]["~properties"]) for r in rows}


@dataclass
class Result:
    memerase: MemeraseRun
    mem0: Measure
    matched: int
    same: bool
    left: tuple[int, int, int]  # memerase, mem0, expected

    @property
    def minimum(self) -> int:
        """The memories collection alone: list the matches in pages (openCypher filters on the server), delete them
        in full batches, one verification query. (memerase also sweeps mem0's entity collection: see the report.)"""
        return math.ceil(self.matched / PAGE) + math.ceil(self.matched / BATCH) + 1


def run(standin: NeptuneGraphStandIn, data: list[m0.Memory], victim: str) -> Result:
    ours, theirs = standin.graph_id, MEM0_GRAPH
    standin.create_graph(theirs)
    for graph_id in (ours, theirs):
        mem0_neptune.write(mem0_neptune.memories_store(graph_id), data, batch=500)
    before = {graph_id: nodes(standin, graph_id) for graph_id in (ours, theirs)}
    snapshot = counter(standin)

    config = mem0_neptune.neptune_config(ours)
    target = build_target(Target.model_validate({"name": "neptune", "vector_store": config}))
    memerase_run = erase_with_memerase(target, snapshot, Scope.of(user_id=victim))
    config = mem0_neptune.neptune_config(theirs)
    memory = mem0_memory(mem0_neptune.memories_store(theirs), "neptune", config["config"])
    mem0_run = erase_with_mem0(memory, snapshot, victim)

    after = {graph_id: nodes(standin, graph_id) for graph_id in (ours, theirs)}
    expected = {
        graph_id: {i: n for i, n in before[graph_id].items() if n[1].get("user_id") != victim} for graph_id in before
    }
    same = after == expected and set(after[ours]) == set(after[theirs])
    matched = sum(1 for m in data if m.payload["user_id"] == victim)
    return Result(memerase_run, mem0_run, matched, same, (len(after[ours]), len(after[theirs]), len(expected[ours])))


def _pretty(counts: Counter[str]) -> str:
    return ", ".join(f"{op} {n}" for op, n in counts.most_common()) or "-"


def report(r: Result) -> None:
    run_ = r.memerase
    print(f"\n  {'run':<32}{'requests':>9}{'wall ms':>10}   breakdown (at the server)")
    rows = [
        ("memerase erase", run_.erase),
        ("memerase verify", run_.verify),
        ("memerase erase+verify", run_.both),
        ("mem0 Memory.delete_all", r.mem0),
    ]
    for label, m in rows:
        print(f"  {label:<32}{m.total:>9}{m.seconds * 1000:>10.1f}   {_pretty(m.requests)}")
    pages, batches = math.ceil(r.matched / PAGE), math.ceil(r.matched / BATCH)
    print(
        f"  {'minimum (erase+verify)':<32}{r.minimum:>9}{'-':>10}   "
        f"pages ceil({r.matched}/{PAGE})={pages} + delete ceil({r.matched}/{BATCH})={batches} + verify 1 "
        "(the memories only)"
    )
    print(
        f"  memerase: scanned {run_.scanned}, matched {run_.matched}, deleted {run_.deleted}, "
        f"verified remaining {run_.remaining}"
    )
    verdict = "OK" if r.same else "MISMATCH"
    ours, theirs, expected = r.left
    print(
        f"  remaining nodes: memerase {ours} == mem0 {theirs} == expected {expected}, every property as before, "
        f"the user's nodes absent: {verdict}"
    )
    both, over = run_.both.total, run_.both.total / r.minimum
    vs_both = r.mem0.total / both
    speed = r.mem0.seconds / run_.both.seconds if run_.both.seconds else float("inf")
    print("\nRatios")
    print(f"  memerase (erase+verify) / minimum: {over:.2f}x")
    print(f"  mem0 / memerase (erase+verify):    {vs_both:.1f}x fewer requests (target >= 100x: {_met(vs_both)})")
    print(f"  mem0 / memerase (erase only):      {r.mem0.total / run_.erase.total:.1f}x")
    print(f"  time mem0 / memerase (e+v):        {speed:.1f}x")


def _met(ratio: float) -> str:
    return "met" if ratio >= 100 else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = dataset_parser("python -m bench.neptune_erase_one_user", __doc__.split("\n\n")[0])
    args = parse_dataset_args(parser, argv)
    logging.disable(logging.WARNING)  # mem0 logs every deletion at INFO and its notices at WARNING

    victim = f"user-{args.victim}"
    data = m0.dataset(users=args.users, per_user=args.per_user)
    matched = sum(1 for m in data if m.payload["user_id"] == victim)
    print("memerase benchmark: erase one user among many in Neptune Analytics (mem0 `neptune` vector store)")
    print(machine_line())
    print(f"versions: mem0ai {mem0.__version__}; stand-in: neptune-graph ExecuteQuery over HTTP, FalkorDB")
    print(
        f"dataset: {args.users} users x {args.per_user} memories = {len(data)} memories (mem0 payloads, "
        f"{m0.DIMS}-dim vectors); erasing {victim} = {matched} memories; each tool gets its own graph"
    )
    print(f"limits: memerase page {PAGE} nodes, DETACH DELETE batch {BATCH}; mem0 delete_all lists 1000 at a time")
    print(
        "counting: every ExecuteQuery request the stand-in receives, named by what it does (Match = list, get or "
        "count; Delete) and its collection (memories, or mem0 2.x's entities beside them)"
    )

    started = time.perf_counter()
    server = NeptuneGraphServer.start()
    try:
        for name, value in server.standin.env().items():
            os.environ[name] = value
        result = run(server.standin, data, victim)
    finally:
        server.stop()
    report(result)
    print(f"\ntotal bench time {time.perf_counter() - started:.1f} s")
    return 0 if result.same else 1


if __name__ == "__main__":
    sys.exit(main())
