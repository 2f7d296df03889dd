"""Neptune Analytics' adapter absorbs the faults AWS documents as retriable in-process, as boto3's own retries do for
the other stores: not only ConflictException and ThrottlingException but also InternalServerException (modelled
`retryable` in botocore's neptune-graph model) and a connection reset. An API erasure (by id, or an inline scope
erasure) has no state machine around it to retry, so without this one 500 or reset fails the whole request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from memerase.stores.base import Partition
from memerase.stores.neptune_analytics import NeptuneAnalyticsStore
from memerase.stores.neptune_client import NeptuneGraph, RetryPolicy, make_client
from memerase_local.neptune_standin.server import NeptuneGraphStandIn
from tests.support import mem0_neptune
from tests.support.mem0_data import dataset
from tests.support.wire_faults import RESET, WireFaults, wire_faults


@pytest.fixture
def resets() -> Iterator[WireFaults]:
    """Wire faults that reset the connection of every Neptune call while armed (`rate` 1), disarmed to begin with."""
    faults = WireFaults(rate=1.0)
    with wire_faults(faults):
        yield faults


def store(standin: NeptuneGraphStandIn, waits: list[float]) -> NeptuneAnalyticsStore:
    graph = NeptuneGraph(make_client("us-east-1"), standin.graph_id, RetryPolicy(attempts=4), waits.append)
    return NeptuneAnalyticsStore(graph, "mem0")


def test_internal_server_errors_are_retried_in_process(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given one user's memories, and a graph that answers the next two requests with InternalServerException (500)
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), dataset(users=2, per_user=3))
    waits: list[float] = []
    neptune = store(neptune_graph, waits)
    neptune_graph.fail_next("InternalServerException", 2)
    # When the user's memories are listed and deleted
    records = neptune.list_matching({"user_id": "user-0"}, Partition(), None).records
    neptune.delete_batch([r.native_id for r in records])
    # Then the listing succeeded on its third attempt, after two waits, and the deletion went through
    assert len(records) == 3 and len(waits) == 2
    assert neptune.count_remaining({"user_id": "user-0"}) == 0


def test_connection_resets_are_retried_in_process(neptune_graph: NeptuneGraphStandIn, resets: WireFaults) -> None:
    # Given one user's memories, and the next two Neptune calls reset at the wire
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), dataset(users=2, per_user=3))
    waits: list[float] = []
    neptune = store(neptune_graph, waits)  # its client built with the wire faults in place
    resets.only, resets.budget = (RESET,), 2
    resets.armed = True
    # When the user's memories are listed and deleted
    records = neptune.list_matching({"user_id": "user-0"}, Partition(), None).records
    neptune.delete_batch([r.native_id for r in records])
    resets.armed = False
    # Then both resets were absorbed (two waits) and the deletion went through
    assert resets.injected[("neptune-graph", "reset")] == 2 and len(waits) == 2
    assert len(records) == 3 and neptune.count_remaining({"user_id": "user-0"}) == 0
