"""Benchmark: erase one user among many, in Amazon S3 Vectors and OpenSearch, with memerase and with mem0 itself.

Run from the repository root::

    .venv/bin/python -m bench.erase_one_user [--users 10 --per-user 200 --victim 3] [--history]

For each store it writes the same dataset (mem0ai 2.2.1's own vector-store classes, mem0's payload layout) into two
fresh copies, then erases one user

* with memerase (``Eraser.delete_matching``, stores built by ``memerase.stores.factory.build_target`` as deployed),
  split into the erase pass and the verification pass that ``delete_matching`` runs afterwards;
* with mem0ai 2.2.1's ``Memory.delete_all(user_id=...)`` on the other copy;

counts every HTTP request each of them sends, times them, checks both left exactly the same data (everything but
the erased user), and prints memerase against the theoretical minimum and mem0 against memerase.

Requests are counted where they reach the wire: S3 Vectors by ``S3VectorsLimits.requests`` (the moto server counts
every request it receives, per operation, failed ones included); OpenSearch by patching ``perform_request`` of
opensearch-py's two HTTP connection classes (one call = one HTTP request; the Transport's retries are separate
calls, so they count too). Nothing is asserted on time; the exit status is 0 unless the data check fails.
"""

from __future__ import annotations

import os

# Before boto3 / mem0 are imported: fake credentials (nothing can reach a real AWS account), no mem0 telemetry.
os.environ["MEM0_TELEMETRY"] = "False"
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
)
for _name in ("AWS_PROFILE", "MEMERASE_CONFIG"):
    os.environ.pop(_name, None)

import argparse  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import ExitStack, contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402
from unittest import mock  # noqa: E402

import boto3  # noqa: E402
import mem0  # noqa: E402
import moto  # noqa: E402
import osmem_server  # noqa: E402
from mem0 import Memory  # noqa: E402
from mem0.configs.base import MemoryConfig  # noqa: E402
from mem0.memory.storage import SQLiteManager  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from opensearchpy import OpenSearch  # noqa: E402
from opensearchpy.connection import RequestsHttpConnection, Urllib3HttpConnection  # noqa: E402
from osmem_server import OsmemServer  # noqa: E402

from memerase.engine import Eraser  # noqa: E402
from memerase.history import HistoryStore, table_schema  # noqa: E402
from memerase.models import Scope  # noqa: E402
from memerase.settings import Target  # noqa: E402
from memerase.stores import opensearch as os_adapter  # noqa: E402
from memerase.stores import s3_vectors as s3_adapter  # noqa: E402
from memerase.stores.factory import TargetStores, build_target  # noqa: E402
from tests.support import mem0_data as m0  # noqa: E402
from tests.support.readback import opensearch_memories  # noqa: E402
from tests.support.s3vectors_limits import S3VectorsLimits  # noqa: E402

Snapshot = Callable[[], Counter[str]]
Contents = dict[str, dict[str, Any]]

S3_PAGE = s3_adapter.LIST_PAGE_SIZE  # ListVectors maxResults maximum (1000)
S3_BATCH = s3_adapter.DELETE_BATCH_SIZE  # DeleteVectors keys maximum (500)
OS_PAGE = os_adapter.PAGE_SIZE  # memerase's OpenSearch page size (1000)
OS_BATCH = os_adapter.DELETE_BATCH_SIZE  # memerase's OpenSearch bulk size (1000)
MEMERASE_BUCKET = "memerase-bench"
MEM0_BUCKET = "mem0-bench"
HISTORY_TABLE = "memerase-bench-history"


# ---- request counting -------------------------------------------------------------------------------------------


class OpenSearchRequests:
    """Counts every HTTP request opensearch-py sends, by method and path shape (indices and ids generalised)."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stack = ExitStack()

    def __enter__(self) -> OpenSearchRequests:
        for cls in (RequestsHttpConnection, Urllib3HttpConnection):
            self._stack.enter_context(mock.patch.object(cls, "perform_request", self._wrap(cls.perform_request)))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.requests)

    def _wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        counter = self

        def perform_request(connection: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            with counter._lock:
                counter.requests[_os_operation(method, url)] += 1
            return original(connection, method, url, *args, **kwargs)

        return perform_request


def _os_operation(method: str, url: str) -> str:
    """A readable name (`Bulk`, `CreatePIT`, ...) for one request; else its shape, e.g. `GET /{index}/_mapping`."""
    shaped: list[str] = []
    for part in (p for p in url.split("?", 1)[0].split("/") if p):
        if shaped and shaped[-1] == "_doc":
            shaped.append("{id}")  # generated ids may start with "_" too
        elif part.startswith("_") or (shaped and shaped[-1] == "_search"):
            shaped.append(part)
        else:
            shaped.append("{index}" if not shaped else "{id}")
    shape = f"{method} /{'/'.join(shaped)}"
    return OS_NAMES.get(shape, shape)


OS_NAMES = {
    "POST /{index}/_search/point_in_time": "CreatePIT",
    "DELETE /_search/point_in_time": "DeletePIT",
    "POST /_search": "Search(PIT)",
    "GET /_search": "Search(PIT)",
    "POST /{index}/_search": "Search",
    "GET /{index}/_search": "Search",
    "POST /_bulk": "Bulk",
    "POST /{index}/_count": "Count",
    "GET /{index}/_count": "Count",
    "POST /{index}/_refresh": "Refresh",
    "HEAD /{index}": "IndexExists",
    "DELETE /{index}/_doc/{id}": "DeleteDoc",
}


def _pretty(counts: Counter[str]) -> str:
    return ", ".join(f"{op} {n}" for op, n in counts.most_common()) or "-"


class BotoRequests:
    """Counts the HTTP requests of one boto3 client (every attempt, via botocore's `before-send` event)."""

    def __init__(self, client: Any) -> None:
        self.requests: Counter[str] = Counter()
        client.meta.events.register("before-send", self._count)

    def _count(self, event_name: str, **kwargs: Any) -> None:
        self.requests[event_name.rsplit(".", 1)[-1]] += 1

    def snapshot(self) -> Counter[str]:
        return Counter(self.requests)


# ---- measurements -----------------------------------------------------------------------------------------------


@dataclass
class Measure:
    requests: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def __add__(self, other: Measure) -> Measure:
        return Measure(self.requests + other.requests, self.seconds + other.seconds)


@contextmanager
def measured(snapshot: Snapshot, into: Measure) -> Iterator[None]:
    before = snapshot()
    started = time.perf_counter()
    try:
        yield
    finally:
        into.seconds += time.perf_counter() - started
        into.requests.update(snapshot() - before)


@dataclass
class MemeraseRun:
    erase: Measure
    verify: Measure
    scanned: int
    matched: int
    deleted: int
    remaining: int
    history: Measure | None = None

    @property
    def both(self) -> Measure:
        return self.erase + self.verify


def erase_with_memerase(
    target: TargetStores, snapshot: Snapshot, scope: Scope, history: tuple[HistoryStore, Snapshot] | None = None
) -> MemeraseRun:
    """`Eraser.delete_matching`, with its verification pass (`count_remaining`) measured apart."""
    total, verify, history_measure = Measure(), Measure(), Measure()
    for store in (target.memories, target.entity_collection):
        original = store.count_remaining

        def count_remaining(filters: Any, _original: Callable[[Any], int] = original) -> int:
            with measured(snapshot, verify):
                return _original(filters)

        store.count_remaining = count_remaining  # type: ignore[method-assign]  # this instance only
    scanned: dict[str, int] = {}

    def progress(label: str, scanned_so_far: int, _deleted: int) -> None:
        scanned[label] = scanned_so_far

    eraser = Eraser([target], history=history[0] if history else None)
    with ExitStack() as stack:
        if history:
            stack.enter_context(measured(history[1], history_measure))
        with measured(snapshot, total):
            result = eraser.delete_matching(scope, progress=progress)
    erase = Measure(total.requests - verify.requests, total.seconds - verify.seconds)
    return MemeraseRun(
        erase=erase,
        verify=verify,
        scanned=sum(scanned.values()),
        matched=sum(s.matched for s in result.stores),
        deleted=sum(s.deleted for s in result.stores),
        remaining=sum(s.remaining or 0 for s in result.stores),
        history=history_measure if history else None,
    )


def mem0_memory(vector_store: Any, provider: str, config: dict[str, Any]) -> Memory:
    """mem0's `Memory` without its LLM / embedder (never reached by delete_all): only what delete_all touches."""
    memory = Memory.__new__(Memory)
    memory.config = MemoryConfig(vector_store={"provider": provider, "config": config}, history_db_path=":memory:")
    memory.vector_store = vector_store
    memory.db = SQLiteManager(":memory:")  # mem0's history: a local SQLite file, no HTTP
    memory.collection_name = config["collection_name"]
    memory.api_version = memory.config.version
    memory.custom_instructions = None
    memory.reranker = None
    memory.llm = None
    memory.embedding_model = None
    memory._entity_store = None  # a fresh process: entity cleanup is a no-op, as in mem0
    return memory


def erase_with_mem0(memory: Memory, snapshot: Snapshot, user_id: str) -> Measure:
    run = Measure()
    with measured(snapshot, run):
        memory.delete_all(user_id=user_id)
    return run


# ---- the two stores ---------------------------------------------------------------------------------------------


@dataclass
class StoreReport:
    name: str
    memerase: MemeraseRun
    mem0: Measure
    minimum_scanned: int
    page: int
    batch: int
    scan_note: str
    list_ops: tuple[str, ...]
    delete_ops: tuple[str, ...]
    left_memerase: int
    left_mem0: int
    expected_left: int
    same: bool

    @property
    def minimum(self) -> int:
        return math.ceil(self.minimum_scanned / self.page) + math.ceil(self.memerase.matched / self.batch)


def bench_s3(data: list[m0.Memory], victim: str, history: tuple[HistoryStore, Snapshot] | None) -> StoreReport:
    with S3VectorsLimits() as limits:

        def snapshot() -> Counter[str]:
            return Counter(limits.requests)

        stores = {}
        for bucket in (MEMERASE_BUCKET, MEM0_BUCKET):
            stores[bucket] = m0.s3_store(bucket=bucket)
            m0.write(stores[bucket], data)
        config = {"vector_bucket_name": MEMERASE_BUCKET, "collection_name": m0.INDEX, "embedding_model_dims": m0.DIMS}
        target = build_target(
            Target.model_validate({"name": "s3", "vector_store": {"provider": "s3_vectors", "config": config}})
        )
        run = erase_with_memerase(target, snapshot, Scope.of(user_id=victim), history)
        memory = mem0_memory(stores[MEM0_BUCKET], "s3_vectors", {**config, "vector_bucket_name": MEM0_BUCKET})
        mem0_run = erase_with_mem0(memory, snapshot, victim)
        left = [m0.s3_contents(stores[b]) for b in (MEMERASE_BUCKET, MEM0_BUCKET)]
    return _report(
        "S3 Vectors",
        data,
        victim,
        run,
        mem0_run,
        left,
        minimum_scanned=len(data),
        page=S3_PAGE,
        batch=S3_BATCH,
        scan_note="ListVectors cannot filter: the whole index is listed",
        list_ops=("ListVectors",),
        delete_ops=("DeleteVectors",),
    )


def bench_opensearch(data: list[m0.Memory], victim: str, history: tuple[HistoryStore, Snapshot] | None) -> StoreReport:
    with tempfile.TemporaryFile() as server_log:
        try:
            with _child_stderr(server_log):  # keep osmem-server's own chatter out of the report
                server = OsmemServer.start(japanese=False)
        except Exception:
            server_log.seek(0)
            sys.stderr.write(server_log.read().decode(errors="replace"))
            raise
        return _bench_opensearch(server, data, victim, history)


@contextmanager
def _child_stderr(target: Any) -> Iterator[None]:
    """Point file descriptor 2 at `target` while a child process is spawned (it inherits it), then restore it."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(target.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _bench_opensearch(
    server: OsmemServer, data: list[m0.Memory], victim: str, history: tuple[HistoryStore, Snapshot] | None
) -> StoreReport:
    try:
        m0.write(m0.opensearch_store(server.url), data)  # into the base; each clone is a fresh copy of it
        with server.clone() as ours, server.clone() as theirs:
            for clone in (ours, theirs):
                warm_up(clone.url)
            with OpenSearchRequests() as counter:
                run, mem0_run, left = _erase_both_opensearch(ours.url, theirs.url, counter, victim, history)
    finally:
        server.close()
    matched = sum(1 for m in data if m.payload.get("user_id") == victim)
    return _report(
        "OpenSearch",
        data,
        victim,
        run,
        mem0_run,
        left,
        minimum_scanned=matched,
        page=OS_PAGE,
        batch=OS_BATCH,
        scan_note="a term query on payload.user_id.keyword: only matches are read",
        list_ops=("Search(PIT)", "Search"),
        delete_ops=("Bulk",),
    )


def warm_up(url: str) -> None:
    """An osmem clone copies its index on the first write (~0.2 s at 2000 documents), whichever request it is.
    Pay that outside the measurement, with a write that changes nothing: deleting an id that does not exist."""
    client = OpenSearch(hosts=[url])
    client.bulk(body=[{"delete": {"_index": m0.INDEX, "_id": "memerase-bench-warm-up"}}])


def _erase_both_opensearch(
    ours: str, theirs: str, counter: OpenSearchRequests, victim: str, history: tuple[HistoryStore, Snapshot] | None
) -> tuple[MemeraseRun, Measure, list[Contents]]:
    host, port = _host_port(ours)
    config = {"host": host, "port": port, "collection_name": m0.INDEX, "embedding_model_dims": m0.DIMS}
    target = build_target(
        Target.model_validate({"name": "os", "vector_store": {"provider": "opensearch", "config": config}})
    )
    run = erase_with_memerase(target, counter.snapshot, Scope.of(user_id=victim), history)
    host, port = _host_port(theirs)
    memory = mem0_memory(m0.opensearch_store(theirs), "opensearch", {**config, "host": host, "port": port})
    mem0_run = erase_with_mem0(memory, counter.snapshot, victim)
    return run, mem0_run, [opensearch_contents(url) for url in (ours, theirs)]


def _report(
    name: str,
    data: list[m0.Memory],
    victim: str,
    run: MemeraseRun,
    mem0_run: Measure,
    left: list[Contents],
    **kwargs: Any,
) -> StoreReport:
    expected = {m.id: m.payload for m in data if m.payload.get("user_id") != victim}
    return StoreReport(
        name=name,
        memerase=run,
        mem0=mem0_run,
        left_memerase=len(left[0]),
        left_mem0=len(left[1]),
        expected_left=len(expected),
        same=left[0] == left[1] == expected,
        **kwargs,
    )


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.split("://", 1)[1].rstrip("/").rsplit(":", 1)
    return host, int(port)


def opensearch_contents(url: str, index: str = m0.INDEX) -> Contents:
    """Every memory id with its payload, read back directly."""
    return opensearch_memories(OpenSearch(hosts=[url]), index)


# ---- output -----------------------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f}"


def print_store(r: StoreReport) -> None:
    run = r.memerase
    pages = math.ceil(r.minimum_scanned / r.page)
    batches = math.ceil(run.matched / r.batch)
    print(f"\n{r.name}")
    print(f"  {'run':<32}{'requests':>9}{'wall ms':>10}   breakdown")
    rows = [
        ("memerase erase", run.erase),
        ("memerase verify", run.verify),
        ("memerase erase+verify", run.both),
        ("mem0 Memory.delete_all", r.mem0),
    ]
    for label, m in rows:
        print(f"  {label:<32}{m.total:>9}{_ms(m.seconds):>10}   {_pretty(m.requests)}")
    print(
        f"  {'minimum (erase)':<32}{r.minimum:>9}{'-':>10}   "
        f"list ceil({r.minimum_scanned}/{r.page})={pages} + delete ceil({run.matched}/{r.batch})={batches}"
    )
    print(
        f"  memerase: scanned {run.scanned}, matched {run.matched}, deleted {run.deleted}, "
        f"verified remaining {run.remaining}"
    )
    listed = sum(run.erase.requests.get(op, 0) for op in r.list_ops)
    deleted = sum(run.erase.requests.get(op, 0) for op in r.delete_ops)
    other = run.erase.total - listed - deleted
    others = _pretty(Counter({k: v for k, v in run.erase.requests.items() if k not in r.list_ops + r.delete_ops}))
    print(f"  memerase erase = list {listed} + delete {deleted} + other {other} ({others})")
    print(f"  minimum scan: {r.scan_note}")
    if run.history is not None:
        print(
            f"  memerase DynamoDB history (not in the request figures above; its time is in the wall times): "
            f"{run.history.total} requests ({_pretty(run.history.requests)}), {run.history.seconds * 1000:.1f} ms"
        )
    verdict = "OK" if r.same else "MISMATCH"
    print(
        f"  remaining data: memerase {r.left_memerase} == mem0 {r.left_mem0} == expected {r.expected_left}, "
        f"payloads identical, erased user absent: {verdict}"
    )


def print_summary(reports: list[StoreReport]) -> None:
    print("\nRatios")
    head = (
        f"  {'store':<12}{'memerase':>9}{'minimum':>9}{'erase/min':>11}{' (<=1.2x)':<10}"
        f"{'mem0':>7}{'mem0/(erase+verify)':>21}{' (>=20x)':<9}{'mem0/erase':>12}"
        f"{'time mem0/(e+v)':>17}"
    )
    print(head)
    for r in reports:
        run = r.memerase
        over = run.erase.total / r.minimum
        vs_both = r.mem0.total / run.both.total
        vs_erase = r.mem0.total / run.erase.total
        speed = r.mem0.seconds / run.both.seconds if run.both.seconds else float("inf")
        over_ok = " met" if over <= 1.2 else " NOT met"
        mem0_ok = " met" if vs_both >= 20 else " NOT met"
        print(
            f"  {r.name:<12}{run.erase.total:>9}{r.minimum:>9}{over:>10.2f}x{over_ok:<10}"
            f"{r.mem0.total:>7}{vs_both:>20.1f}x{mem0_ok:<9}{vs_erase:>11.1f}x{speed:>16.1f}x"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.erase_one_user", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10, help="users in the dataset (default 10)")
    parser.add_argument("--per-user", type=int, default=200, help="memories per user (default 200)")
    parser.add_argument("--victim", type=int, default=3, help="the user to erase: user-N (default 3)")
    parser.add_argument(
        "--history",
        action="store_true",
        help="also give memerase its DynamoDB history table (moto) and count those requests apart",
    )
    args = parser.parse_args(argv)
    if args.users < 1 or args.per_user < 1 or not 0 <= args.victim < args.users:
        parser.error("need --users >= 1, --per-user >= 1 and 0 <= --victim < --users")
    logging.disable(logging.WARNING)  # mem0 logs every deletion at INFO and its notices at WARNING

    victim = f"user-{args.victim}"
    data = m0.dataset(users=args.users, per_user=args.per_user)
    matched = sum(1 for m in data if m.payload["user_id"] == victim)
    print("memerase benchmark: erase one user among many")
    print(
        f"machine: nproc {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}"
    )
    print(f"versions: mem0ai {mem0.__version__}, moto {moto.__version__}, osmem-server {osmem_server.__version__}")
    print(
        f"dataset: {args.users} users x {args.per_user} memories = {len(data)} memories (mem0 payloads, "
        f"{m0.DIMS}-dim vectors); erasing {victim} = {matched} memories; each tool gets its own copy"
    )
    print(
        f"limits: S3 ListVectors page {S3_PAGE}, DeleteVectors batch {S3_BATCH}; "
        f"OpenSearch page {OS_PAGE}, bulk {OS_BATCH}"
    )
    print(
        "counting: every HTTP request; PIT open/close and index-existence checks count in memerase's figure, "
        "the minimum counts only list pages and delete batches"
    )

    started = time.perf_counter()
    moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto_server.start()
    try:
        host, port = moto_server.get_host_and_port()
        os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
        history = _history() if args.history else None
        reports = [bench_s3(data, victim, history)]
        if history:
            history = _history(fresh=True)
        reports.append(bench_opensearch(data, victim, history))
    finally:
        moto_server.stop()
    for report in reports:
        print_store(report)
    print_summary(reports)
    print(f"\ntotal bench time {time.perf_counter() - started:.1f} s")
    return 0 if all(r.same for r in reports) else 1


def _history(fresh: bool = False) -> tuple[HistoryStore, Snapshot]:
    """memerase's DynamoDB history table in moto, with its own request counter."""
    resource = boto3.resource("dynamodb")
    client = resource.meta.client
    if fresh:
        client.delete_table(TableName=HISTORY_TABLE)
        client.get_waiter("table_not_exists").wait(TableName=HISTORY_TABLE)
    client.create_table(**table_schema(HISTORY_TABLE))
    counter = BotoRequests(client)
    return HistoryStore(HISTORY_TABLE, resource=resource), counter.snapshot


if __name__ == "__main__":
    sys.exit(main())
