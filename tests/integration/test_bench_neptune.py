"""The Neptune benchmark's measuring (`bench.neptune_erase_one_user.run`) on a small dataset: it counts requests at
the stand-in, both tools leave the same data, and its data check notices a graph that kept the user's nodes."""

from __future__ import annotations

import pytest

from bench import neptune_erase_one_user as bench
from memerase_local.neptune_standin.server import NeptuneGraphStandIn
from tests.support import mem0_data as m0

VICTIM = "user-1"


def test_bench_counts_both_tools_at_the_server_and_both_leave_the_same_data(
    neptune_graph: NeptuneGraphStandIn,
) -> None:
    # Given 3 users x 12 memories, written by mem0 into two graphs
    data = m0.dataset(users=3, per_user=12)
    # When the bench erases user-1 with memerase on one graph and mem0's delete_all on the other
    result = bench.run(neptune_graph, data, VICTIM)
    # Then both left exactly everything but user-1's 12 nodes
    assert result.same and result.left == (24, 24, 24) and result.matched == 12
    # And mem0 listed twice (its matches, then nothing) and got and deleted each memory one request at a time
    assert result.mem0.requests == {"Match memories": 2 + 12, "Delete memories": 12}
    # And memerase listed the matches once, deleted them in one batch, asked which entity records link them (to strip
    # their ids), swept the entities and verified
    assert result.memerase.erase.requests["Delete memories"] == 1
    assert result.memerase.both.total == 6 and result.memerase.remaining == 0
    # And the counts are what the server received
    assert result.memerase.both.total + result.mem0.total <= neptune_graph.requests


def test_bench_data_check_fails_when_a_graph_keeps_the_users_nodes(
    neptune_graph: NeptuneGraphStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given mem0's delete_all that does nothing
    monkeypatch.setattr(bench, "erase_with_mem0", lambda memory, snapshot, user_id: bench.Measure())
    # When the bench runs
    result = bench.run(neptune_graph, m0.dataset(users=2, per_user=5), VICTIM)
    # Then its data check fails: mem0's graph still holds user-1's nodes
    assert not result.same and result.left == (5, 10, 5)
