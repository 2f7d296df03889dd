"""Measuring for `bench.erase_one_user --history`: one user erased from an S3 Vectors index and an OpenSearch index
that hold the same memories, by ONE memerase erasure over both targets with the history table (as `memerase
delete-all` does when both are configured: each memory's audit event is written once, whichever targets hold it),
against mem0ai 2.2.1's `delete_all` on each store (mem0 has one vector store per `Memory`: two calls). Every HTTP
request is counted where it reaches the wire, as in `bench.one_user_measure`, and what each copy holds afterwards is
checked. Printing is `bench.one_user_report`'s.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass

from osmem_server import OsmemServer

from bench.one_user_measure import (
    Measure,
    MemeraseRun,
    OpenSearchRequests,
    Snapshot,
    _child_stderr,
    erase_with_mem0,
    erase_with_memerase,
    mem0_memory,
    memerase_target,
    opensearch_config,
    opensearch_contents,
    s3_config,
    warm_up,
)
from memerase.history import HistoryStore
from memerase.models import Scope
from memerase.stores.factory import TargetStores
from tests.support import mem0_data as m0
from tests.support.s3vectors_limits import S3VectorsLimits

MEMERASE_BUCKET = "memerase-bench-both"
MEM0_BUCKET = "mem0-bench-both"


@dataclass
class BothReport:
    memerase: MemeraseRun
    mem0: Measure
    mem0_calls: int  # delete_all calls: one per store
    same: bool


def bench_both(data: list[m0.Memory], victim: str, history: tuple[HistoryStore, Snapshot]) -> BothReport:
    with S3VectorsLimits() as limits, tempfile.TemporaryFile() as server_log:
        with _child_stderr(server_log):
            server = OsmemServer.start(japanese=False)
        try:
            m0.write(m0.opensearch_store(server.url), data)
            with server.clone() as ours, server.clone() as theirs:
                for clone in (ours, theirs):
                    warm_up(clone.url)
                stores = {bucket: m0.s3_store(bucket=bucket) for bucket in (MEMERASE_BUCKET, MEM0_BUCKET)}
                for store in stores.values():
                    m0.write(store, data)
                with OpenSearchRequests() as counter:

                    def snapshot() -> Counter[str]:
                        return Counter(limits.requests) + counter.snapshot()

                    run = erase_with_memerase(_targets(ours.url), snapshot, Scope.of(user_id=victim), history)
                    mem0_run = _mem0_on_both(theirs.url, stores[MEM0_BUCKET], snapshot, victim)
                expected = {m.id: m.payload for m in data if m.payload.get("user_id") != victim}
                left = [m0.s3_contents(stores[b]) for b in (MEMERASE_BUCKET, MEM0_BUCKET)]
                left += [opensearch_contents(url) for url in (ours.url, theirs.url)]
        finally:
            server.close()
    return BothReport(run, mem0_run, 2, same=all(contents == expected for contents in left))


def _targets(opensearch_url: str) -> list[TargetStores]:
    return [
        memerase_target("s3", "s3_vectors", s3_config(MEMERASE_BUCKET)),
        memerase_target("os", "opensearch", opensearch_config(opensearch_url)),
    ]


def _mem0_on_both(opensearch_url: str, s3_store: object, snapshot: Snapshot, victim: str) -> Measure:
    on_s3 = erase_with_mem0(mem0_memory(s3_store, "s3_vectors", s3_config(MEM0_BUCKET)), snapshot, victim)
    opensearch = mem0_memory(m0.opensearch_store(opensearch_url), "opensearch", opensearch_config(opensearch_url))
    return on_s3 + erase_with_mem0(opensearch, snapshot, victim)
