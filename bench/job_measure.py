"""Measuring for `bench.job_throughput`: the world (the real ASL in moto's Step Functions, Lambda tasks dispatched
in-process, S3 Vectors with AWS's limits enforced), the data, the job, and everything counted while it runs.

Nothing here prints a report or prices anything: `bench.job_report` prints, `bench.cost_model` prices. The caller sets
the fake-credential environment before importing this module (see `bench.job_throughput`).
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

from bench.cost_model import LAMBDA_TIMEOUT_MS, TIME_MARGIN_MS, page_clock_ms
from memerase import runtime
from memerase.history import table_schema as history_schema
from memerase.jobs.repository import table_schema as jobs_schema
from memerase.models import Scope
from tests.support import mem0_data as m0
from tests.support.readback import s3_memories
from tests.support.s3vectors_limits import PUT_VECTORS_MAX_VECTORS, S3VectorsLimits
from tests.support.sfn_harness import StepFunctionsHarness, step_functions
from tests.support.targets import memerase_config

SHARED_AGENT = "agent-shared"
JOBS_TABLE = "memerase-bench-jobs"
HISTORY_TABLE = "memerase-bench-history"


# ---- counting ---------------------------------------------------------------------------------------------------


@dataclass
class Invocation:
    function: str
    target: str
    started: float
    seconds: float = 0.0
    pages: int = 0
    error: str | None = None  # the errorType the harness reported to Step Functions, if the task failed


@dataclass
class Probe:
    """Everything counted while the job runs. `where.function` names the Lambda task running on this thread."""

    where: threading.local = field(default_factory=threading.local)
    lock: threading.Lock = field(default_factory=threading.Lock)
    invocations: list[Invocation] = field(default_factory=list)
    s3_by_function: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    dynamodb: Counter[str] = field(default_factory=Counter)
    entered_by_manager: Counter[int] = field(default_factory=Counter)
    page_ms: float = 0.0

    def function(self) -> str:
        return getattr(self.where, "function", "(outside the job)")

    def page_listed(self) -> None:
        """A list page (ListVectors, OpenSearch PIT search) was requested by the invocation on this thread."""
        current: Invocation | None = getattr(self.where, "invocation", None)
        if current is not None:
            current.pages += 1

    def remaining_ms(self) -> int:
        """The page clock: 900,000 ms at the start of an invocation, minus `page_ms` per page listed so far."""
        current: Invocation | None = getattr(self.where, "invocation", None)
        pages = current.pages if current is not None else 0
        return int(LAMBDA_TIMEOUT_MS - pages * self.page_ms)


def install(probe: Probe, harness: StepFunctionsHarness, limits: S3VectorsLimits, stack: ExitStack) -> None:
    """Wrap the harness's Lambda dispatch, S3VectorsLimits' request admission, moto's SFN event manager, botocore."""
    original_invoke = harness.invoke

    def invoke(function: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        name = function.function_name
        try:
            event = json.loads(body.decode() if isinstance(body, bytes | bytearray) else body or "{}")
            target = str((event.get("item") or {}).get("target", "-"))
        except (ValueError, AttributeError):
            target = "-"
        record = Invocation(name, target, time.perf_counter())
        probe.where.function, probe.where.invocation = name, record
        try:
            payload = original_invoke(function, body, request_headers, response_headers)
            if response_headers.get("x-amz-function-error"):
                record.error = str(json.loads(payload).get("errorType", "error"))
            return payload
        finally:
            record.seconds = time.perf_counter() - record.started
            probe.where.function, probe.where.invocation = None, None
            with probe.lock:
                probe.invocations.append(record)

    harness.invoke = invoke  # type: ignore[method-assign]  # the patched LambdaFunction.invoke looks it up per call
    for name in ("job_erase",):
        harness.budget_ms[name] = probe.remaining_ms

    original_admit = limits._admit

    def admit(operation: str) -> Any:  # runs on the calling thread (moto in-process)
        with probe.lock:
            probe.s3_by_function[getattr(probe.where, "function", None) or "(outside the job)"][operation] += 1
        if operation == "ListVectors":
            probe.page_listed()
        return original_admit(operation)

    limits._admit = admit  # type: ignore[method-assign]

    original_add_event = EventManager.add_event

    def add_event(manager: EventManager, context: Any, event_type: Any, *args: Any, **kwargs: Any) -> int:
        if str(event_type).endswith("StateEntered"):
            with probe.lock:
                probe.entered_by_manager[id(manager)] += 1
        return original_add_event(manager, context, event_type, *args, **kwargs)

    stack.enter_context(mock.patch.object(EventManager, "add_event", add_event))

    def count_dynamodb(event_name: str, **_kwargs: Any) -> None:
        with probe.lock:
            probe.dynamodb[event_name.rsplit(".", 1)[-1]] += 1

    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-call.dynamodb", count_dynamodb)  # type: ignore[union-attr]


# ---- data -------------------------------------------------------------------------------------------------------


@dataclass
class Dataset:
    memories: int
    tenants: int
    matching: int
    write_seconds: float = 0.0
    put_requests: int = 0
    os_write_seconds: float = 0.0


def generate(memories: int, tenants: int, share: float, seed: int) -> Iterator[tuple[str, list[float], dict[str, Any]]]:
    rng = random.Random(seed)
    for i in range(memories):
        tenant = i % tenants
        agent = SHARED_AGENT if rng.random() < share else f"agent-{tenant}"
        payload = m0.mem0_payload(
            f"memory {i} of tenant-{tenant}: prefers window seats on long flights",
            user_id=f"tenant-{tenant}",
            agent_id=agent,
            run_id=rng.choice(("run-1", "run-2", None)),
        )
        key = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        yield key, [rng.random() for _ in range(m0.DIMS)], payload


def write_s3(memories: int, tenants: int, share: float, seed: int, opensearch_url: str | None) -> Dataset:
    """Index created by mem0's own S3Vectors class; vectors written with raw PutVectors (500 a request)."""
    m0.s3_store()  # mem0ai's S3Vectors: creates the vector bucket and the index exactly as mem0 does
    client = boto3.client("s3vectors")
    data = Dataset(memories, tenants, 0)
    batch: list[dict[str, Any]] = []
    os_batch: list[m0.Memory] = []
    started = time.perf_counter()

    def flush() -> None:
        if batch:
            client.put_vectors(vectorBucketName=m0.BUCKET, indexName=m0.INDEX, vectors=batch)
            data.put_requests += 1
            batch.clear()

    for key, vector, payload in generate(memories, tenants, share, seed):
        data.matching += payload["agent_id"] == SHARED_AGENT
        batch.append({"key": key, "data": {"float32": vector}, "metadata": payload})
        if opensearch_url:
            os_batch.append(m0.Memory(key, payload, vector))
        if len(batch) == PUT_VECTORS_MAX_VECTORS:
            flush()
    flush()
    data.write_seconds = time.perf_counter() - started
    if opensearch_url:
        started = time.perf_counter()
        m0.write(m0.opensearch_store(opensearch_url), os_batch)  # mem0ai's OpenSearchDB.insert, per document
        data.os_write_seconds = time.perf_counter() - started
    return data


def s3_contents_summary() -> tuple[int, int]:
    """(vectors left, vectors of the erased scope left), by listing the whole index."""
    left = s3_memories(m0.BUCKET, m0.INDEX)
    return len(left), sum(payload.get("agent_id") == SHARED_AGENT for payload in left.values())


def opensearch_summary(url: str) -> tuple[int, int]:
    from opensearchpy import OpenSearch

    client = OpenSearch(hosts=[url])
    client.indices.refresh(index=m0.INDEX)
    left = client.count(index=m0.INDEX)["count"]
    in_scope = client.count(index=m0.INDEX, body={"query": {"term": {"payload.agent_id.keyword": SHARED_AGENT}}})
    return left, in_scope["count"]


@contextmanager
def opensearch_counter(probe: Probe) -> Iterator[Counter[str]]:
    """Every HTTP request opensearch-py sends, by method and first path segment kind; searches feed the page clock."""
    from opensearchpy.connection import RequestsHttpConnection, Urllib3HttpConnection

    counts: Counter[str] = Counter()
    lock = threading.Lock()
    with ExitStack() as stack:
        for cls in (RequestsHttpConnection, Urllib3HttpConnection):
            original = cls.perform_request

            def perform_request(conn: Any, method: str, url: str, *a: Any, _o: Any = original, **k: Any) -> Any:
                parts = [p for p in url.split("?", 1)[0].split("/") if p]
                op = next((p for p in parts if p.startswith("_")), "doc")
                if op == "_search" and "point_in_time" in parts:
                    op = "_search/point_in_time"
                with lock:
                    counts[f"{method} {op}"] += 1
                if op == "_search":
                    probe.page_listed()
                return _o(conn, method, url, *a, **k)

            stack.enter_context(mock.patch.object(cls, "perform_request", perform_request))
        yield counts


# ---- the run ----------------------------------------------------------------------------------------------------


def config(opensearch_url: str | None, history: bool) -> dict[str, Any]:
    """S3 Vectors, and OpenSearch when it runs: the configuration the tests build."""
    out = memerase_config(
        opensearch_url or "http://unused:1",
        history=HISTORY_TABLE if history else None,
        jobs={"table_name": JOBS_TABLE, "time_margin_ms": TIME_MARGIN_MS},
    )
    if not opensearch_url:
        out["targets"] = out["targets"][:1]
    return out


@dataclass
class Result:
    data: Dataset
    status: str
    erased: int  # distinct memories (S3 Vectors records deleted)
    records: int  # records deleted over every store
    scanned_s3: int
    job_seconds: float
    probe: Probe
    s3_requests: Counter[str]
    s3_by_function: dict[str, Counter[str]]
    dynamodb: Counter[str]
    parent_transitions: int
    child_transitions: int
    child_executions: int
    map_runs: int
    items_by_target: Counter[str]
    left: dict[str, tuple[int, int]]
    os_requests: Counter[str] | None
    phase_seconds: dict[str, float]


def run(args: argparse.Namespace, opensearch_url: str | None) -> Result:
    probe = Probe(page_ms=page_clock_ms(args.pages_per_invocation))
    with ExitStack() as stack:
        harness = stack.enter_context(step_functions(config(opensearch_url, args.history)))
        limits = stack.enter_context(S3VectorsLimits())
        os_counts = stack.enter_context(opensearch_counter(probe)) if opensearch_url else None
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(**jobs_schema(JOBS_TABLE))
        if args.history:
            dynamodb.create_table(**history_schema(HISTORY_TABLE))
        print(f"writing {args.memories:,} memories ...", flush=True)
        data = write_s3(args.memories, args.tenants, args.share, args.seed, opensearch_url)
        print(
            f"  S3 Vectors: {data.put_requests} PutVectors requests in {data.write_seconds:.1f} s"
            + (f"; OpenSearch (mem0 OpenSearchDB.insert): {data.os_write_seconds:.1f} s" if opensearch_url else ""),
            flush=True,
        )
        limits.reset_counts()
        if os_counts is not None:
            os_counts.clear()
        install(probe, harness, limits, stack)

        print(
            f"running the job (scope agent_id={SHARED_AGENT!r}, {data.matching:,} matching memories) ...",
            flush=True,
        )
        started = time.perf_counter()
        job, _created = runtime.intake().start(Scope.of(agent_id=SHARED_AGENT), requester="bench", source="bench")
        arn = job.execution_arn or ""
        finished = harness.wait(arn, timeout=args.timeout)
        job_seconds = time.perf_counter() - started

        s3_requests = Counter(limits.requests)
        with probe.lock:
            s3_by_function = {f: Counter(c) for f, c in probe.s3_by_function.items()}
            dynamodb_requests = Counter(probe.dynamodb)
        os_requests = Counter(os_counts) if os_counts is not None else None
        sfn = boto3.client("stepfunctions")
        parent = harness.transitions(arn)
        runs = sfn.list_map_runs(executionArn=arn).get("mapRuns", [])
        child_executions = sum(sfn.describe_map_run(mapRunArn=r["mapRunArn"])["executionCounts"]["total"] for r in runs)
        all_entered = sum(probe.entered_by_manager.values())
        done = runtime.intake().get(job.job_id)
        records = done.receipt.erased if done.receipt else sum(p.deleted for p in done.progress)
        erased = sum(p.deleted for p in done.progress if p.store.startswith("s3_vectors"))
        scanned_s3 = sum(p.scanned for p in done.progress if p.store.startswith("s3_vectors"))
        items_by_target: Counter[str] = Counter()
        for p in done.progress:
            items_by_target[p.target] += p.items_total
        left = {"s3": s3_contents_summary()}
        if opensearch_url:
            left["os"] = opensearch_summary(opensearch_url)
        return Result(
            data=data,
            status=f"{finished['status']} / job {done.status.value}",
            erased=erased,
            records=records,
            scanned_s3=scanned_s3,
            job_seconds=job_seconds,
            probe=probe,
            s3_requests=s3_requests,
            s3_by_function=s3_by_function,
            dynamodb=dynamodb_requests,
            parent_transitions=parent,
            child_transitions=all_entered - parent,
            child_executions=child_executions,
            map_runs=len(runs),
            items_by_target=items_by_target,
            left=left,
            os_requests=os_requests,
            phase_seconds=phases(probe, job_seconds),
        )


def phases(probe: Probe, total: float) -> dict[str, float]:
    spans: dict[str, tuple[float, float]] = {}
    for i in probe.invocations:
        lo, hi = spans.get(i.function, (i.started, i.started + i.seconds))
        spans[i.function] = (min(lo, i.started), max(hi, i.started + i.seconds))
    out = {name: hi - lo for name, (lo, hi) in spans.items()}
    out["(whole job)"] = total
    return out
