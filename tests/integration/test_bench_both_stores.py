"""The erase-one-user benchmark's run over both stores with the history table (`bench.one_user_both`), on a small
dataset: one erasure over S3 Vectors and OpenSearch writes each memory's audit event once, every request is counted
where it is sent, and both tools leave the same data."""

from __future__ import annotations

from bench.one_user_both import bench_both
from bench.one_user_measure import _history
from tests.support import mem0_data as m0

VICTIM = "user-1"


def test_one_erasure_over_both_stores_writes_each_audit_event_once_and_leaves_what_mem0_leaves(aws: str) -> None:
    # Given 3 users x 150 memories, the same in an S3 Vectors index and an OpenSearch index, for each tool
    data = m0.dataset(users=3, per_user=150)
    # When the bench erases user-1 from both with one memerase erasure (history on), and with mem0 on each store
    report = bench_both(data, VICTIM, _history())
    # Then memerase deleted the 150 memories in each store and wrote 150 audit events in 2 transactions, reading
    # nothing from the table
    run = report.memerase
    assert run.memories == 150 and run.deleted == 300 and run.remaining == 0
    assert run.history is not None and dict(run.history.requests) == {"TransactWriteItems": 2}
    # And its store requests are one listing page and one delete batch per store, the entity probes and the refresh
    assert dict(run.erase.requests) == {
        "ListVectors": 1,
        "DeleteVectors": 1,
        "GetIndex": 1,
        "Refresh": 1,
        "Search": 1,
        "Bulk": 1,
        "IndexExists": 1,
    }
    # And mem0 got and deleted each memory one request at a time on both stores
    assert report.mem0.requests["GetVectors"] == report.mem0.requests["DeleteVectors"] == 150
    assert report.mem0.requests["DeleteDoc"] == 150 and report.mem0_calls == 2
    # And all four copies hold exactly the other users' memories
    assert report.same
