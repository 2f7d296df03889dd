"""What the engine's results count: memories apart from store records, and what a reset removed."""

from __future__ import annotations

from typing import Any

from memerase.engine import Eraser
from memerase.models import Scope
from memerase.stores.factory import entity_collection_name
from tests.support import mem0_data as m0
from tests.support.targets import os_target, s3_target


def test_reset_reports_how_many_records_it_removed_from_each_collection(
    s3_mem0: Any, os_mem0: Any, osmem_url: str
) -> None:
    # Given 6 memories in OpenSearch, 4 in S3 Vectors and 2 entity records beside them in S3 Vectors
    m0.write(os_mem0, m0.dataset(users=2, per_user=3, agents=(None,), runs=(None,)))
    data = m0.dataset(users=2, per_user=2, agents=(None,), runs=(None,))
    m0.write(s3_mem0, data)
    entities = [m0.entity(f"e{i}", [data[i].id], user_id=data[i].payload["user_id"]) for i in range(2)]
    m0.write(m0.s3_store(index=entity_collection_name("s3_vectors", m0.INDEX)), entities)
    eraser = Eraser([s3_target(), os_target(osmem_url)], allow_reset=True)
    # When both targets are reset
    os_result = eraser.reset("os", "os")
    s3_result = eraser.reset("s3", "s3")
    # Then each result says what was removed, per collection
    assert [(s.role, s.deleted) for s in os_result.stores] == [("memories", 6)]
    assert [(s.role, s.deleted) for s in s3_result.stores] == [("memories", 4), ("entities", 2)]
    assert os_result.deleted == 6 and s3_result.deleted == 6
    assert m0.opensearch_contents(os_mem0) == {} and m0.s3_contents(s3_mem0) == {}


def test_a_memory_kept_in_two_targets_counts_once_as_a_memory_and_twice_as_records(
    s3_mem0: Any, os_mem0: Any, osmem_url: str
) -> None:
    # Given the same 5 memories of user-0 in both targets, beside user-1's
    data = m0.dataset(users=2, per_user=5, agents=(None,), runs=(None,))
    m0.write(s3_mem0, data)
    m0.write(os_mem0, data)
    eraser = Eraser([s3_target(), os_target(osmem_url)])
    # When user-0 is erased inline
    result = eraser.delete_matching(Scope.of(user_id="user-0"))
    # Then 5 memories were erased, as 10 store records, and user-1's memories are untouched
    assert result.memories == 5 and result.deleted == 10 and result.verified
    left = {m.id: m.payload for m in data if m.payload["user_id"] == "user-1"}
    assert m0.s3_contents(s3_mem0) == left and m0.opensearch_contents(os_mem0) == left


def test_deleting_by_id_counts_memories_apart_from_records(s3_mem0: Any, os_mem0: Any, osmem_url: str) -> None:
    # Given 3 memories in both targets
    data = m0.dataset(users=1, per_user=3, agents=(None,), runs=(None,))
    m0.write(s3_mem0, data)
    m0.write(os_mem0, data)
    # When two of them are deleted by id
    result = Eraser([s3_target(), os_target(osmem_url)]).delete_memories([data[0].id, data[1].id])
    # Then 2 memories went, as 4 records, verified gone in each store
    assert result.memories == 2 and result.deleted == 4
    assert [s.remaining for s in result.stores] == [0, 0]
