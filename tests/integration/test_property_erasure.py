"""Property: for any mem0 dataset and any non-empty filter, an erasure removes exactly the matching memories.

Random datasets are written with mem0ai's own vector store classes into S3 Vectors (moto with AWS's limits) and
OpenSearch (osmem); every example gets fresh, uniquely named indexes, since function-scoped fixtures are shared by all
the examples of one test.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from opensearchpy import OpenSearch

from memerase.engine import Eraser
from memerase.models import Scope
from tests.support import mem0_data as m0
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.targets import os_target, s3_target

LONG_A = "L" * 299 + "a"  # beyond OpenSearch's keyword ignore_above (256): matched through the text field
LONG_B = "L" * 299 + "b"
USERS = ["u1", "u2", "U1", "u-1", "1", "01", LONG_A, LONG_B]
AGENTS: list[str | None] = [None, "a1", "a2", "A1", "u1"]
RUNS: list[str | None] = [None, "r1", "r2", "1", "run-\u00e9"]
ABSENT = ["ghost", "u", "a", "r1x", "L" * 300, LONG_A[:-1]]  # present nowhere, some prefixes of present values

_index_numbers = itertools.count()

FILTER_VALUES = {
    "user_id": USERS + ABSENT,
    "agent_id": [a for a in AGENTS if a] + ABSENT,
    "run_id": [r for r in RUNS if r] + ABSENT,
}

Row = tuple[str, str | None, str | None]  # (user_id, agent_id, run_id) of one memory

row = st.tuples(st.sampled_from(USERS), st.sampled_from(AGENTS), st.sampled_from(RUNS))
memories = st.integers(0, 80).flatmap(lambda n: st.lists(row, min_size=n, max_size=n))
any_filter = st.sets(st.sampled_from(sorted(FILTER_VALUES)), min_size=1).flatmap(
    lambda keys: st.fixed_dictionaries({k: st.sampled_from(FILTER_VALUES[k]) for k in sorted(keys)})
)


@st.composite
def datasets_and_filters(draw: st.DrawFn) -> tuple[list[Row], dict[str, str]]:
    """A dataset, and either an arbitrary filter or one built from a stored memory's ids (so that something matches)."""
    rows = draw(memories)
    if rows and draw(st.booleans()):
        held = {k: v for k, v in zip(("user_id", "agent_id", "run_id"), draw(st.sampled_from(rows)), strict=True) if v}
        keys = draw(st.sets(st.sampled_from(sorted(held)), min_size=1))
        return rows, {k: held[k] for k in sorted(keys)}
    return rows, draw(any_filter)


paging = st.fixed_dictionaries({"page_size": st.integers(3, 12), "partitions": st.integers(1, 4)})


def matches(payload: dict[str, Any], wanted: dict[str, str]) -> bool:
    return all(isinstance(payload.get(k), str) and payload[k] == v for k, v in wanted.items())


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=datasets_and_filters(), pages=paging)
@example(scenario=([], {"user_id": "u1"}), pages={"page_size": 7, "partitions": 3})
@example(scenario=([("u1", None, None)] * 15, {"user_id": "u1"}), pages={"page_size": 7, "partitions": 3})
@example(
    scenario=([(LONG_A, "a1", "r1"), (LONG_B, "a1", "r1")], {"user_id": LONG_A, "agent_id": "a1"}),
    pages={"page_size": 3, "partitions": 2},
)
def test_erasure_removes_exactly_the_matching_memories_from_every_store_and_verifies(
    s3_limits: S3VectorsLimits,
    osmem_url: str,
    scenario: tuple[list[Row], dict[str, str]],
    pages: dict[str, int],
) -> None:
    # Given a random dataset written by mem0 into fresh indexes of both stores
    rows, wanted = scenario
    index = f"prop-{next(_index_numbers)}"
    rng = random.Random(len(rows))
    data = [m0.memory(f"memory {i}", rng, user_id=u, agent_id=a, run_id=r) for i, (u, a, r) in enumerate(rows)]
    s3, os_ = m0.s3_store(index=index), m0.opensearch_store(osmem_url, index=index)
    try:
        m0.write(s3, data)
        m0.write(os_, data)
        size, parts = pages["page_size"], pages["partitions"]
        eraser = Eraser(
            [
                s3_target(index=index, page_size=size, segments=parts),
                os_target(osmem_url, index=index, page_size=size, slices=parts),
            ]
        )
        # When the memories matching a random non-empty filter are erased
        result = eraser.delete_matching(Scope.of(**wanted))
        # Then in every store exactly the matching memories are gone and every other memory is intact with its payload
        expected_left = {m.id: m.payload for m in data if not matches(m.payload, wanted)}
        matched = len(data) - len(expected_left)
        event("some memories match" if matched else "no memory matches")
        assert m0.s3_contents(s3) == expected_left
        assert m0.opensearch_contents(os_) == expected_left
        # And the result counts exactly the matches in each store, and verifies
        assert [(s.matched, s.deleted, s.remaining) for s in result.stores] == [(matched, matched, 0)] * 2
        assert result.deleted == 2 * matched
        assert result.verified
    finally:
        s3.delete_col()
        OpenSearch(hosts=[osmem_url]).indices.delete(index=index, ignore_unavailable=True)
