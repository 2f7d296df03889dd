"""Benchmark: one bulk erasure job (the real Step Functions ASL) over >= 100,000 mem0 memories, projected to 10 million.

Run from the repository root::

    .venv/bin/python -m bench.job_throughput [--memories 100000 --tenants 20 --share 0.5 --pages-per-invocation 5]
    .venv/bin/python -m bench.job_throughput --opensearch [--memories 10000]   # S3 Vectors and OpenSearch

Everything runs in emulation, in-process: moto's Step Functions interpreter executes ``infra/erasure_job.asl.json``
(the DISTRIBUTED Map included), its Lambda tasks are dispatched to ``functions/<name>/app.py``
(``tests.support.sfn_harness``); S3 Vectors is moto with AWS's documented limits enforced
(``tests.support.s3vectors_limits.S3VectorsLimits``); the jobs table is moto DynamoDB; with ``--opensearch`` an
osmem-server is added as a second target.

Data. ``--memories`` memories of ``--tenants`` tenants (``user_id`` tenant-N) in mem0's payload layout
(``tests.support.mem0_data.mem0_payload``: data, hash, created_at, updated_at, text_lemmatized, user_id, agent_id,
run_id), key = memory id, 8-dim float32 vectors. The S3 Vectors index is created by mem0ai's own ``S3Vectors`` class,
but the memories are written with plain ``PutVectors`` calls in 500-vector batches (what mem0's ``insert`` sends,
without going through its class, so 100,000 memories take seconds). ``--share`` of the memories, spread over every
tenant, carry the shared ``agent_id`` "agent-shared"; the others a per-tenant agent. With ``--opensearch`` the same
memories are also written to OpenSearch through mem0ai's ``OpenSearchDB.insert`` (one request per document: slow,
hence the smaller default).

The job. ONE job, ``Scope(agent_id="agent-shared")``, started with ``runtime.launcher().start`` as the API would.

Time budget model. In emulation the default harness budget (900,000 ms left, always) against the default
``time_margin_ms`` (60,000) lets one invocation run a whole partition, which no 15-minute Lambda would do at 10
million memories. So each erase invocation gets a *page clock*: its ``get_remaining_time_in_millis`` starts at
900,000 ms and every list page the invocation requests (a ListVectors call, counted where S3VectorsLimits admits it
on the invocation's thread; an OpenSearch search with ``--opensearch``) costs ``(900,000 - 60,000) / (N - 0.5)`` ms,
so an invocation stops after N pages (``--pages-per-invocation``, default 5; fewer when its partition ends) and the
Map's worker loop really loops. Counting requests rather than calls to the clock keeps the model independent of
how often the worker consults it.
Emulated wall time is not used for the budget: it measures moto (its ListVectors sorts and hashes the whole index
per call) and the GIL shared by the concurrent Map iterations, not AWS. What an invocation would cover on AWS is
modelled separately in the projection (see ``aws_model``).

Counted. Lambda invocations by function (the harness), state transitions: StateEntered events of the parent
execution (``get_execution_history``) plus those of the DISTRIBUTED Map's child executions (moto 5.2.5 keeps no
child histories: ``list_executions(mapRunArn=...)`` is not implemented and the child events go to a throwaway
``EventManager``, so ``EventManager.add_event`` is wrapped to count them; cross-checked against the structure
2 x erase invocations + 1 per item), child executions (``list_map_runs`` / ``describe_map_run``), S3 Vectors requests
by operation and by calling function (``S3VectorsLimits``), DynamoDB requests (botocore ``before-call``).
Nothing is asserted on time; the exit status is 1 only if the data check fails.
"""

from __future__ import annotations

import os

# Before boto3 / mem0 / powertools are imported: fake credentials (nothing can reach a real AWS account).
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    MEM0_TELEMETRY="False",
    POWERTOOLS_SERVICE_NAME="memerase-bench",
    POWERTOOLS_TRACE_DISABLED="1",
    POWERTOOLS_METRICS_NAMESPACE="memerase-bench",
    POWERTOOLS_LOG_LEVEL="WARNING",
)
for _name in ("AWS_PROFILE", "MEMERASE_CONFIG", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import ExitStack, contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402
from unittest import mock  # noqa: E402

import boto3  # noqa: E402
import moto  # noqa: E402
import pytest  # noqa: E402
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager  # noqa: E402

from memerase import runtime  # noqa: E402
from memerase.history import table_schema as history_schema  # noqa: E402
from memerase.jobs.repository import table_schema as jobs_schema  # noqa: E402
from memerase.models import Scope  # noqa: E402
from memerase.stores import s3_vectors as s3_adapter  # noqa: E402
from tests.support import mem0_data as m0  # noqa: E402
from tests.support.s3vectors_limits import PUT_VECTORS_MAX_VECTORS, S3VectorsLimits  # noqa: E402
from tests.support.sfn_harness import StepFunctionsHarness, step_functions  # noqa: E402
from tests.support.targets import targets  # noqa: E402

SHARED_AGENT = "agent-shared"
JOBS_TABLE = "memerase-bench-jobs"
HISTORY_TABLE = "memerase-bench-history"
PROJECT_TO = 10_000_000  # memories erased
PER = 10_000  # "per 10,000 memories erased"

# ---- public list prices (US East (N. Virginia), on-demand, free tiers ignored; as published on the AWS pricing
# pages in 2025 -- check https://aws.amazon.com/step-functions/pricing/ and https://aws.amazon.com/lambda/pricing/
# before relying on them) ------------------------------------------------------------------------------------------
SFN_STANDARD_PER_TRANSITION = 0.025 / 1000  # USD per state transition, Standard workflows
LAMBDA_PER_GB_SECOND = 0.0000166667  # USD, x86
LAMBDA_PER_REQUEST = 0.20 / 1_000_000  # USD
# S3 Vectors: storage, PUT (per logical GB) and QueryVectors are priced publicly, but this bench does not know a
# reliable list price for ListVectors / DeleteVectors / GetVectors requests, so S3 Vectors request cost is omitted.

# ---- AWS limits and the assumptions of the AWS model -------------------------------------------------------------
LAMBDA_TIMEOUT_MS = 900_000  # Lambda's maximum timeout (15 min)
TIME_MARGIN_MS = 60_000  # JobsConfig.time_margin_ms default, used unchanged in the emulated job too
LAMBDA_MEMORY_GB = 1.0  # assumed function memory (1024 MB, the harness's FakeContext value)
S3V_VECTORS_PER_S = 2_500  # per index, PutVectors + DeleteVectors combined (documented S3 Vectors limit)
S3V_WRITE_REQUESTS_PER_S = 1_000  # per index, PutVectors + DeleteVectors requests combined
LIST_PAGE = s3_adapter.LIST_PAGE_SIZE  # 1000
DELETE_BATCH = s3_adapter.DELETE_BATCH_SIZE  # 500
DEFAULT_LIST_MS = 150.0  # ASSUMED latency of one ListVectors page (1000 vectors, returnMetadata) -- not measured
DEFAULT_DELETE_MS = 100.0  # ASSUMED latency of one DeleteVectors request (500 keys) -- not measured
DEFAULT_CHECKPOINT_MS = 10.0  # ASSUMED DynamoDB PutItem of the cursor, once per page
SHORT_TASK_S = 1.0  # ASSUMED duration of Plan / Finalize invocations


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
    client = boto3.client("s3vectors")
    left = in_scope = 0
    token: str | None = None
    while True:
        params: dict[str, Any] = {
            "vectorBucketName": m0.BUCKET,
            "indexName": m0.INDEX,
            "maxResults": LIST_PAGE,
            "returnMetadata": True,
        }
        if token:
            params["nextToken"] = token
        page = client.list_vectors(**params)
        for v in page.get("vectors", []):
            left += 1
            in_scope += (v.get("metadata") or {}).get("agent_id") == SHARED_AGENT
        token = page.get("nextToken")
        if not token:
            return left, in_scope


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


# ---- the AWS model ----------------------------------------------------------------------------------------------


@dataclass
class AwsModel:
    """What one S3 Vectors erase page costs on AWS, and how many pages fit in a 15-minute invocation."""

    items: int
    matched_per_page: float
    deletes_per_page: float  # as measured: the worker fills every DeleteVectors batch, buffering across pages
    list_ms: float
    delete_ms: float
    checkpoint_ms: float

    @property
    def latency_page_s(self) -> float:
        return (self.list_ms + self.deletes_per_page * self.delete_ms + self.checkpoint_ms) / 1000

    @property
    def limit_page_s(self) -> float:
        """A page's share of the per-index delete limit when every item's worker deletes at once."""
        return self.matched_per_page / (S3V_VECTORS_PER_S / self.items)

    @property
    def page_s(self) -> float:
        return max(self.latency_page_s, self.limit_page_s)

    @property
    def pages_per_invocation(self) -> int:
        return math.floor((LAMBDA_TIMEOUT_MS - TIME_MARGIN_MS) / 1000 / self.page_s) + 1


# ---- the run ----------------------------------------------------------------------------------------------------


def config(opensearch_url: str | None, history: bool) -> dict[str, Any]:
    """S3 Vectors, and OpenSearch when it runs: the same target blocks the tests use."""
    both = targets(opensearch_url or "http://unused:1")
    out: dict[str, Any] = {
        "targets": both if opensearch_url else both[:1],
        "jobs": {"table_name": JOBS_TABLE, "time_margin_ms": TIME_MARGIN_MS},
    }
    if history:
        out["history"] = {"table_name": HISTORY_TABLE}
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
    monkeypatch = pytest.MonkeyPatch()
    probe = Probe(page_ms=(LAMBDA_TIMEOUT_MS - TIME_MARGIN_MS) / (args.pages_per_invocation - 0.5))
    try:
        with ExitStack() as stack:
            harness = stack.enter_context(step_functions(config(opensearch_url, args.history), monkeypatch))
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
            job, _created = runtime.launcher().start(Scope.of(agent_id=SHARED_AGENT), requester="bench", source="bench")
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
            child_executions = sum(
                sfn.describe_map_run(mapRunArn=r["mapRunArn"])["executionCounts"]["total"] for r in runs
            )
            all_entered = sum(probe.entered_by_manager.values())
            done = runtime.launcher().get(job.job_id)
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
    finally:
        monkeypatch.undo()


def phases(probe: Probe, total: float) -> dict[str, float]:
    spans: dict[str, tuple[float, float]] = {}
    for i in probe.invocations:
        lo, hi = spans.get(i.function, (i.started, i.started + i.seconds))
        spans[i.function] = (min(lo, i.started), max(hi, i.started + i.seconds))
    out = {name: hi - lo for name, (lo, hi) in spans.items()}
    out["(whole job)"] = total
    return out


# ---- report -----------------------------------------------------------------------------------------------------


def per(value: float, erased: int) -> float:
    return value * PER / erased if erased else float("nan")


def money(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def report(args: argparse.Namespace, r: Result) -> bool:
    p = r.probe
    erase_inv = [i for i in p.invocations if i.function == "job_erase"]
    by_function = Counter(i.function for i in p.invocations)
    s3_erase_inv = [i for i in erase_inv if i.target == "s3"]
    items_s3 = r.items_by_target.get("s3", 0)
    items_total = sum(r.items_by_target.values())
    billed = r.parent_transitions + r.child_transitions + r.child_executions
    structural = 2 * len(erase_inv) + r.child_executions

    print("\n== job ==")
    print(
        f"status: {r.status}; map runs: {r.map_runs}; work items (child executions): {r.child_executions} "
        f"({', '.join(f'{t}: {n}' for t, n in r.items_by_target.items())})"
    )
    print(
        f"memories erased: {r.erased:,} of {r.data.memories:,} ({r.data.matching:,} matched the scope); "
        f"records deleted over {len(r.left)} store(s): {r.records:,}; S3 Vectors vectors scanned: "
        f"{r.scanned_s3:,}"
    )
    print(
        f"wall time (start_execution -> SUCCEEDED, emulated): {r.job_seconds:.1f} s  ->  "
        f"{r.erased / r.job_seconds:,.0f} memories erased per second"
    )
    print("  phase spans: " + ", ".join(f"{k} {v:.1f} s" for k, v in r.phase_seconds.items()))
    pages = [i.pages for i in s3_erase_inv]
    if pages:
        print(
            f"budget: page clock, {args.pages_per_invocation} pages per erase invocation "
            f"({p.page_ms:,.0f} simulated ms per page against a {TIME_MARGIN_MS:,} ms margin); S3 erase "
            f"invocations covered {min(pages)}-{max(pages)} pages (mean {sum(pages) / len(pages):.2f})"
        )

    print(f"\n== per {PER:,} memories erased (measured) ==")
    print(f"  {'Lambda invocations':<28}{'total':>9}{'per 10k':>10}")
    for name in ("job_plan", "job_erase", "job_verify", "job_finalize", "job_fail"):
        if by_function[name]:
            print(f"  {name:<28}{by_function[name]:>9,}{per(by_function[name], r.erased):>10.2f}")
    total_inv = sum(by_function.values())
    print(f"  {'all functions':<28}{total_inv:>9,}{per(total_inv, r.erased):>10.2f}")
    errors = Counter(f"{i.function}: {i.error}" for i in p.invocations if i.error)
    print(
        "  failed invocations (retried by the ASL): "
        + (", ".join(f"{k} x{n}" for k, n in errors.items()) if errors else "none")
    )
    print(f"  {'state transitions':<28}{'total':>9}{'per 10k':>10}")
    rows = [
        ("parent (StateEntered)", r.parent_transitions),
        ("children (StateEntered)", r.child_transitions),
        ("child executions started", r.child_executions),
        ("billed (sum)", billed),
    ]
    for label, n in rows:
        print(f"  {label:<28}{n:>9,}{per(n, r.erased):>10.2f}")
    check = "matches" if r.child_transitions == structural else "DIFFERS from"
    print(
        f"  children {check} the ASL's structure: 2 x {len(erase_inv)} erase invocations + "
        f"{r.child_executions} items = {structural}"
    )
    print(f"  {'S3 Vectors requests':<28}{'total':>9}{'per 10k':>10}   by function")
    for op, n in r.s3_requests.most_common():
        where = ", ".join(f"{f} {c[op]}" for f, c in sorted(r.s3_by_function.items()) if c[op])
        print(f"  {op:<28}{n:>9,}{per(n, r.erased):>10.2f}   {where}")
    dyn = sum(r.dynamodb.values())
    print(
        f"  {'DynamoDB requests':<28}{dyn:>9,}{per(dyn, r.erased):>10.2f}   "
        + ", ".join(f"{op} {n}" for op, n in r.dynamodb.most_common())
    )
    if r.os_requests is not None:
        osn = sum(r.os_requests.values())
        print(
            f"  {'OpenSearch HTTP requests':<28}{osn:>9,}{per(osn, r.erased):>10.2f}   "
            + ", ".join(f"{op} {n}" for op, n in r.os_requests.most_common())
        )

    ok = True
    print("\n== data check ==")
    note = "" if r.erased == r.data.matching else "  <- differs from the memories that matched"
    print(f"  receipt: {r.erased:,} S3 Vectors records erased, {r.data.matching:,} matched{note}")
    for store, (left, in_scope) in r.left.items():
        expected = r.data.memories - r.data.matching
        good = in_scope == 0 and left == expected
        ok &= good
        print(
            f"  {store}: {left:,} memories left (expected {expected:,}), {in_scope} of the scope left: "
            f"{'OK' if good else 'MISMATCH'}"
        )

    project(args, r, items_s3 or 1, items_total)
    return ok


def project(args: argparse.Namespace, r: Result, items_s3: int, items_total: int) -> None:
    """Two passes, as the state machine runs them: pass 1 lists the whole index and erases the matches; pass 2 (the
    verification) lists what is left, in the same partitioned Map, and finds nothing."""
    p = r.probe
    share = r.erased / args.memories if args.memories else args.share
    erase_s3 = r.s3_by_function.get("job_erase", Counter())
    deletes_per_page = erase_s3["DeleteVectors"] / erase_s3["ListVectors"] if erase_s3["ListVectors"] else 1.0
    erased = PROJECT_TO
    index_size = erased / share
    pages_per_item = math.ceil(index_size / items_s3 / LIST_PAGE)
    verify_pages_per_item = math.ceil((index_size - erased) / items_s3 / LIST_PAGE)
    total_pages = pages_per_item * items_s3
    verify_pages = verify_pages_per_item * items_s3
    model = AwsModel(
        items=items_s3,
        matched_per_page=LIST_PAGE * share,
        deletes_per_page=deletes_per_page,
        list_ms=args.list_ms,
        delete_ms=args.delete_ms,
        checkpoint_ms=args.checkpoint_ms,
    )
    budget_s = (LAMBDA_TIMEOUT_MS - TIME_MARGIN_MS) / 1000
    verify_page_s = (args.list_ms + args.checkpoint_ms) / 1000
    fixed_parent = r.parent_transitions  # Plan, Map, Verify, Choice per pass, and Finalize: not growing with data

    def scenario(erase_ppi: int, verify_ppi: int) -> dict[str, float]:
        erase_inv = math.ceil(pages_per_item / erase_ppi) * items_s3
        verify_inv = math.ceil(verify_pages_per_item / verify_ppi) * items_s3
        children = 2 * (erase_inv + verify_inv) + 2 * items_s3
        transitions = fixed_parent + children + 2 * items_s3
        invocations = erase_inv + verify_inv + 5  # + plan and verify per pass, finalize
        deletes = math.ceil(erased / DELETE_BATCH) + erase_inv
        erase_s = total_pages * model.page_s
        verify_s = verify_pages * verify_page_s
        gb_s = (erase_s + verify_s + 5 * SHORT_TASK_S) * LAMBDA_MEMORY_GB
        return {
            "erase_inv": erase_inv + verify_inv,
            "invocations": invocations,
            "children": children,
            "transitions": transitions,
            "sfn": transitions * SFN_STANDARD_PER_TRANSITION,
            "lambda_req": invocations * LAMBDA_PER_REQUEST,
            "lambda_gb_s": gb_s,
            "lambda_compute": gb_s * LAMBDA_PER_GB_SECOND,
            "verify_s": verify_pages_per_item * verify_page_s,
            "erase_s": erase_s,
            "lists": total_pages + verify_pages,
            "deletes": deletes,
        }

    emulated = scenario(args.pages_per_invocation, args.pages_per_invocation)
    aws = scenario(model.pages_per_invocation, max(1, int(budget_s / verify_page_s)))
    print(f"\n== projection to {erased:,} memories erased (S3 Vectors, one index) ==")
    print(
        f"assumes the measured shape: {share:.1%} of the index matches, so the index holds {index_size:,.0f} "
        f"vectors; {items_s3} ListVectors segments (work items); pass 1 (erase): {pages_per_item:,} pages of "
        f"{LIST_PAGE} per segment; pass 2 (verification, same partitioned Map): {verify_pages_per_item:,} pages per "
        "segment, nothing found"
    )
    print(
        f"AWS page model: a page = ListVectors {args.list_ms:.0f} ms + "
        f"{deletes_per_page:.2f} x DeleteVectors {args.delete_ms:.0f} ms + checkpoint "
        f"{args.checkpoint_ms:.0f} ms = {model.latency_page_s * 1000:.0f} ms of latency (ASSUMED latencies), but "
        f"{items_s3} workers share the {S3V_VECTORS_PER_S:,} vectors/s per-index delete limit, so a page of "
        f"{model.matched_per_page:.0f} deletions takes >= {model.limit_page_s * 1000:.0f} ms -> "
        f"{model.page_s * 1000:.0f} ms; a 15-min invocation ({LAMBDA_TIMEOUT_MS - TIME_MARGIN_MS:,} ms before the "
        f"margin) covers {model.pages_per_invocation:,} erase pages or {int(budget_s / verify_page_s):,} "
        "verification pages"
    )
    print(
        f"  {'':<34}{'emulated (' + str(args.pages_per_invocation) + ' pages/inv)':>26}{'AWS (15-min invocations)':>26}"
    )
    rows = [
        ("worker invocations (both passes)", "erase_inv", "{:,.0f}"),
        ("Lambda invocations (all)", "invocations", "{:,.0f}"),
        ("child StateEntered", "children", "{:,.0f}"),
        ("billed state transitions", "transitions", "{:,.0f}"),
        ("Step Functions cost", "sfn", "money"),
        ("Lambda request cost", "lambda_req", "money"),
        ("Lambda GB-seconds", "lambda_gb_s", "{:,.0f}"),
        ("Lambda compute cost", "lambda_compute", "money"),
        ("total cost (SFN + Lambda)", "total", "money"),
        ("S3 ListVectors (both passes)", "lists", "{:,.0f}"),
        ("S3 DeleteVectors (at most)", "deletes", "{:,.0f}"),
    ]
    for s in (emulated, aws):
        s["total"] = s["sfn"] + s["lambda_req"] + s["lambda_compute"]
    for label, key, fmt in rows:
        cells = [money(s[key]) if fmt == "money" else fmt.format(s[key]) for s in (emulated, aws)]
        print(f"  {label:<34}{cells[0]:>26}{cells[1]:>26}")
    linear_inv = len(p.invocations) * erased / r.erased
    linear_tr = (r.parent_transitions + r.child_transitions + r.child_executions) * erased / r.erased
    print(
        f"  (the measured per-10k figures scaled linearly give {linear_inv:,.0f} invocations and "
        f"{linear_tr:,.0f} transitions: the per-job states (plan, verify, finalize) do not grow with the data)"
    )
    print("  S3 Vectors request cost: omitted (no reliable list price known here for ListVectors / DeleteVectors)")
    if items_total > items_s3:
        print(
            f"  OpenSearch work items ({items_total - items_s3}) are not in this projection; see the measured "
            "per-10k figures above"
        )

    delete_s = erased / S3V_VECTORS_PER_S
    latency_s = pages_per_item * model.latency_page_s
    erase_wall = max(delete_s, latency_s)
    print(
        f"\nwall time on AWS (estimate): pass 1 max(delete limit {erased:,} / {S3V_VECTORS_PER_S:,}/s = "
        f"{delete_s / 60:.1f} min, per-segment latency {pages_per_item:,} x {model.latency_page_s * 1000:.0f} ms = "
        f"{latency_s / 60:.1f} min) = {erase_wall / 60:.1f} min (requests/s: "
        f"{S3V_VECTORS_PER_S / DELETE_BATCH:.0f} DeleteVectors/s, far under {S3V_WRITE_REQUESTS_PER_S:,}/s)"
    )
    print(
        f"  + pass 2 (verification): {verify_pages_per_item:,} ListVectors per segment x {verify_page_s * 1000:.0f} ms"
        f" = {aws['verify_s'] / 60:.1f} min, the {items_s3} segments in parallel, each a chain of 15-min "
        "invocations that return their cursor"
    )
    print(
        f"  throttling: {items_s3} workers at {model.latency_page_s * 1000:.0f} ms a page would ask for "
        f"{items_s3 * model.matched_per_page / model.latency_page_s:,.0f} deletions/s, above the "
        f"{S3V_VECTORS_PER_S:,}/s limit: expect 429s absorbed by boto3's retries (8 attempts) and then the "
        "ASL's Throttled retries; rate limits are not emulated here"
    )
    print(
        f"  = about {(erase_wall + aws['verify_s']) / 60:.0f} min end to end (transitions and Lambda start-up "
        "add seconds)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.job_throughput", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--memories", type=int, default=None, help="memories written (default 100,000; 10,000 with --opensearch)"
    )
    parser.add_argument("--tenants", type=int, default=20, help="tenants (user_id values), default 20")
    parser.add_argument(
        "--share",
        type=float,
        default=0.5,
        help="share of memories under the shared agent_id that the job erases (default 0.5)",
    )
    parser.add_argument(
        "--pages-per-invocation",
        type=int,
        default=5,
        help="pages one erase invocation covers under the page-clock budget (default 5)",
    )
    parser.add_argument("--opensearch", action="store_true", help="also erase from OpenSearch (osmem-server)")
    parser.add_argument("--history", action="store_true", help="give memerase its DynamoDB history table (moto)")
    parser.add_argument(
        "--list-ms",
        type=float,
        default=DEFAULT_LIST_MS,
        help=f"ASSUMED ListVectors latency on AWS for the projection (default {DEFAULT_LIST_MS:.0f})",
    )
    parser.add_argument(
        "--delete-ms",
        type=float,
        default=DEFAULT_DELETE_MS,
        help=f"ASSUMED DeleteVectors latency on AWS (default {DEFAULT_DELETE_MS:.0f})",
    )
    parser.add_argument(
        "--checkpoint-ms",
        type=float,
        default=DEFAULT_CHECKPOINT_MS,
        help=f"ASSUMED cursor checkpoint latency (default {DEFAULT_CHECKPOINT_MS:.0f})",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=3600, help="give up waiting for the job after this (s)")
    args = parser.parse_args(argv)
    args.memories = args.memories or (10_000 if args.opensearch else 100_000)
    if args.memories < 1 or args.tenants < 1 or not 0 < args.share <= 1 or args.pages_per_invocation < 1:
        parser.error("need --memories >= 1, --tenants >= 1, 0 < --share <= 1, --pages-per-invocation >= 1")
    logging.disable(logging.WARNING)

    print("memerase benchmark: one bulk erasure job (Step Functions ASL, emulated) and its projection")
    print(
        f"machine: nproc {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}; moto {moto.__version__}"
    )
    print(
        f"dataset: {args.memories:,} memories, {args.tenants} tenants, {args.share:.0%} under agent_id "
        f"{SHARED_AGENT!r}; mem0 payload layout, {m0.DIMS}-dim vectors, written with raw PutVectors "
        f"({PUT_VECTORS_MAX_VECTORS} a request), index created by mem0ai's S3Vectors"
        + ("; OpenSearch via mem0ai OpenSearchDB.insert" if args.opensearch else "; S3 Vectors only")
    )
    print(
        f"prices: Step Functions Standard ${SFN_STANDARD_PER_TRANSITION * 1000:.3f}/1,000 transitions; Lambda "
        f"${LAMBDA_PER_GB_SECOND:.10f}/GB-s + ${LAMBDA_PER_REQUEST * 1e6:.2f}/1M requests "
        f"(us-east-1 list prices, 2025, x86, free tier ignored); {LAMBDA_MEMORY_GB * 1024:.0f} MB functions assumed"
    )

    started = time.perf_counter()
    server = None
    try:
        if args.opensearch:
            from osmem_server import OsmemServer

            server = OsmemServer.start(japanese=False)
        result = run(args, server.url if server else None)
    finally:
        if server is not None:
            server.close()
    ok = report(args, result)
    print(f"\ntotal bench time {time.perf_counter() - started:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
