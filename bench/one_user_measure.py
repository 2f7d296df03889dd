"""Measuring for `bench.erase_one_user`: the two stores written twice, one user erased with memerase and with mem0,
every HTTP request counted where it reaches the wire, and what each copy holds afterwards. Nothing here prints a
report: `bench.one_user_report` does. The caller sets the fake-credential environment before importing this module
(see `bench.erase_one_user`).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
from mem0 import Memory
from mem0.configs.base import MemoryConfig
from mem0.memory.storage import SQLiteManager
from opensearchpy import OpenSearch
from opensearchpy.connection import RequestsHttpConnection, Urllib3HttpConnection
from osmem_server import OsmemServer

from bench.cost_model import minimum_requests
from memerase.engine import Eraser
from memerase.history import HistoryStore, table_schema
from memerase.models import Scope
from memerase.settings import Target
from memerase.stores import opensearch as os_adapter
from memerase.stores import s3_vectors as s3_adapter
from memerase.stores.factory import TargetStores, build_target
from tests.support import mem0_data as m0
from tests.support.readback import opensearch_memories
from tests.support.s3vectors_limits import S3VectorsLimits

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
    "POST /{index}/_bulk": "Bulk",
    "POST /{index}/_count": "Count",
    "GET /{index}/_count": "Count",
    "POST /{index}/_refresh": "Refresh",
    "HEAD /{index}": "IndexExists",
    "DELETE /{index}/_doc/{id}": "DeleteDoc",
}


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
    memories: int = 0  # distinct memories erased (each target's copy of one memory counts once)

    @property
    def both(self) -> Measure:
        return self.erase + self.verify


def erase_with_memerase(
    target: TargetStores | list[TargetStores],
    snapshot: Snapshot,
    scope: Scope,
    history: tuple[HistoryStore, Snapshot] | None = None,
) -> MemeraseRun:
    """`Eraser.delete_matching` over one target (or several, in one erasure), with its verification pass
    (`count_remaining`) measured apart."""
    targets = target if isinstance(target, list) else [target]
    total, verify, history_measure = Measure(), Measure(), Measure()
    for store in (s for t in targets for s in (t.memories, t.entity_collection)):
        original = store.count_remaining

        def count_remaining(filters: Any, _original: Callable[[Any], int] = original) -> int:
            with measured(snapshot, verify):
                return _original(filters)

        store.count_remaining = count_remaining  # type: ignore[method-assign]  # this instance only
    scanned: dict[str, int] = {}

    def progress(label: str, scanned_so_far: int, _deleted: int) -> None:
        scanned[label] = scanned_so_far

    eraser = Eraser(targets, history=history[0] if history else None)
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
        memories=result.memories,
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


def s3_config(bucket: str) -> dict[str, Any]:
    """mem0's S3 Vectors vector-store configuration of the bench's index in `bucket` (memerase's too)."""
    return {"vector_bucket_name": bucket, "collection_name": m0.INDEX, "embedding_model_dims": m0.DIMS}


def opensearch_config(url: str) -> dict[str, Any]:
    """mem0's OpenSearch vector-store configuration of the bench's index on the server at `url`."""
    host, port = _host_port(url)
    return {"host": host, "port": port, "collection_name": m0.INDEX, "embedding_model_dims": m0.DIMS}


def memerase_target(name: str, provider: str, config: dict[str, Any]) -> TargetStores:
    """The target a deployment builds from the same configuration."""
    return build_target(Target.model_validate({"name": name, "vector_store": {"provider": provider, "config": config}}))


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
        return minimum_requests(self.minimum_scanned, self.memerase.matched, self.page, self.batch)


def bench_s3(data: list[m0.Memory], victim: str, history: tuple[HistoryStore, Snapshot] | None) -> StoreReport:
    with S3VectorsLimits() as limits:

        def snapshot() -> Counter[str]:
            return Counter(limits.requests)

        stores = {}
        for bucket in (MEMERASE_BUCKET, MEM0_BUCKET):
            stores[bucket] = m0.s3_store(bucket=bucket)
            m0.write(stores[bucket], data)
        target = memerase_target("s3", "s3_vectors", s3_config(MEMERASE_BUCKET))
        run = erase_with_memerase(target, snapshot, Scope.of(user_id=victim), history)
        memory = mem0_memory(stores[MEM0_BUCKET], "s3_vectors", s3_config(MEM0_BUCKET))
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
    target = memerase_target("os", "opensearch", opensearch_config(ours))
    run = erase_with_memerase(target, counter.snapshot, Scope.of(user_id=victim), history)
    memory = mem0_memory(m0.opensearch_store(theirs), "opensearch", opensearch_config(theirs))
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
