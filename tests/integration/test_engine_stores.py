"""The engine over real wire protocols: moto server (S3 Vectors with AWS limits, DynamoDB) and osmem-server."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from memerase.engine import Eraser
from memerase.errors import MemoryNotFound, MissingFilter, ResetNotAllowed
from memerase.history import HistoryStore
from memerase.models import Scope
from memerase.stores.factory import entity_collection_name
from tests.support import mem0_data as m0
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.targets import os_target, s3_target

HISTORY_TABLE = "memerase-history"


def test_delete_matching_erases_exactly_one_user_from_both_stores_across_many_pages(
    s3_mem0: Any, os_mem0: Any, osmem_url: str, history: HistoryStore
) -> None:
    # Given 6 users x 300 memories written by mem0 into S3 Vectors and OpenSearch
    data = m0.dataset(users=6, per_user=300)
    m0.write(s3_mem0, data)
    m0.write(os_mem0, data)
    eraser = Eraser([s3_target(page_size=37), os_target(osmem_url, page_size=41, slices=3)], history=history)
    # When user-2 is erased
    result = eraser.delete_matching(Scope.of(user_id="user-2"))
    # Then exactly user-2's memories are gone from both stores, everything else is intact, payload included
    expected = {m.id: m.payload for m in data if m.payload["user_id"] != "user-2"}
    assert m0.s3_contents(s3_mem0) == expected
    assert m0.opensearch_contents(os_mem0) == expected
    assert result.verified and result.deleted == 600 and result.history_events == 300 and result.memories == 300
    assert [s.remaining for s in result.stores] == [0, 0]


def test_delete_matching_is_the_and_of_the_given_filters(s3_mem0: Any, os_mem0: Any, osmem_url: str) -> None:
    # Given memories across users, agents and runs
    data = m0.dataset(users=3, per_user=60)
    m0.write(s3_mem0, data)
    m0.write(os_mem0, data)
    eraser = Eraser([s3_target(page_size=25), os_target(osmem_url, page_size=25)])
    # When erasing user-1 AND agent-a AND run-2
    eraser.delete_matching(Scope.of(user_id="user-1", agent_id="agent-a", run_id="run-2"))

    # Then only memories with all three are gone
    def hit(p: dict[str, Any]) -> bool:
        return p.get("user_id") == "user-1" and p.get("agent_id") == "agent-a" and p.get("run_id") == "run-2"

    expected = {m.id: m.payload for m in data if not hit(m.payload)}
    assert len(expected) < len(data)
    assert m0.s3_contents(s3_mem0) == expected
    assert m0.opensearch_contents(os_mem0) == expected


def test_dry_run_counts_and_deletes_nothing(s3_mem0: Any, os_mem0: Any, osmem_url: str) -> None:
    # Given 3 users x 20 memories written by mem0 into both stores
    data = m0.dataset(users=3, per_user=20)
    m0.write(s3_mem0, data)
    m0.write(os_mem0, data)
    eraser = Eraser([s3_target(), os_target(osmem_url)])
    # When user-0 is erased as a dry run
    result = eraser.delete_matching(Scope.of(user_id="user-0"), dry_run=True)
    # Then each store counts user-0's 20 memories and all 60 are still there
    assert [s.matched for s in result.stores] == [20, 20]
    assert result.deleted == 0 and not result.verified
    assert len(m0.s3_contents(s3_mem0)) == 60 and len(m0.opensearch_contents(os_mem0)) == 60


def test_no_filter_is_refused_with_mem0s_message() -> None:
    # Given no filter at all
    # When a scope is built from it
    with pytest.raises(MissingFilter) as refused:
        Scope.of()
    # Then it is refused with mem0's own message
    assert str(refused.value) == (
        "At least one filter is required to delete all memories. If you want to delete all memories, use the "
        "`reset()` method."
    )


def test_delete_memory_erases_one_memory_everywhere_and_writes_a_content_free_event(
    s3_mem0: Any, os_mem0: Any, osmem_url: str, history: HistoryStore
) -> None:
    # Given a memory in both stores (the audit table is written only by memerase: it never holds text)
    data = m0.dataset(users=2, per_user=5)
    m0.write(s3_mem0, data)
    m0.write(os_mem0, data)
    victim = data[3]
    eraser = Eraser([s3_target(), os_target(osmem_url)], history=history)
    # When it is deleted
    result = eraser.delete_memory(victim.id)
    # Then it is gone from both stores, the rest intact, and history holds only a DELETE event without text
    expected = {m.id: m.payload for m in data if m.id != victim.id}
    assert m0.s3_contents(s3_mem0) == expected and m0.opensearch_contents(os_mem0) == expected
    assert result.verified and result.deleted == 2
    rows = history.history(victim.id)
    assert [(r["event"], r["old_memory"], r["new_memory"]) for r in rows] == [("DELETE", None, None)]


def test_delete_memory_unknown_id_is_not_found(s3_mem0: Any, os_mem0: Any, osmem_url: str) -> None:
    # Given both stores without the memory asked for
    eraser = Eraser([s3_target(), os_target(osmem_url)])
    # When it is deleted by id
    # Then MemoryNotFound says so
    with pytest.raises(MemoryNotFound, match="not found"):
        eraser.delete_memory("00000000-0000-4000-8000-000000000000")


def test_delete_memory_outside_the_callers_scope_is_refused_and_nothing_is_deleted(
    s3_mem0: Any, os_mem0: Any, osmem_url: str
) -> None:
    # Given 2 users' memories in both stores and a caller allowed user-0 only
    data = m0.dataset(users=2, per_user=3)
    m0.write(s3_mem0, data)
    m0.write(os_mem0, data)
    eraser = Eraser([s3_target(), os_target(osmem_url)])
    someone_else = next(m for m in data if m.payload["user_id"] == "user-1")
    # When that caller deletes a memory of user-1
    # Then it is refused as an unknown memory and all 6 memories are still in both stores
    with pytest.raises(MemoryNotFound):
        eraser.delete_memory(someone_else.id, allowed=[Scope.of(user_id="user-0")])
    assert len(m0.s3_contents(s3_mem0)) == 6 and len(m0.opensearch_contents(os_mem0)) == 6


def test_entity_records_of_the_scope_are_erased_and_links_to_erased_memories_stripped(
    s3_limits: S3VectorsLimits, osmem_url: str
) -> None:
    # Given mem0 2.x entity collections beside the memories in both stores
    data = m0.dataset(users=2, per_user=4)
    u0 = [m.id for m in data if m.payload["user_id"] == "user-0"]
    u1 = [m.id for m in data if m.payload["user_id"] == "user-1"]
    ents = [
        m0.entity("Alice", u0[:2], user_id="user-0"),
        m0.entity("Bob", u1[:2], user_id="user-1"),
        m0.entity("Shared", [u0[2], u1[2]], user_id="user-1"),  # a link across scopes, as semantic dedup can make
    ]
    s3_mem, s3_ent = m0.s3_store(), m0.s3_store(index=entity_collection_name("s3_vectors", m0.INDEX))
    os_mem = m0.opensearch_store(osmem_url)
    os_ent = m0.opensearch_store(osmem_url, index=entity_collection_name("opensearch", m0.INDEX))
    for store, items in ((s3_mem, data), (s3_ent, ents), (os_mem, data), (os_ent, ents)):
        m0.write(store, items)
    eraser = Eraser([s3_target(), os_target(osmem_url)])
    # When user-0 is erased
    eraser.delete_matching(Scope.of(user_id="user-0"))
    # Then user-0's entity record is gone, and user-1's remain untouched, even the one that also links user-0's
    # memory (another scope's record is never rewritten; it keeps an id, never a text, of user-0)
    for store in (s3_ent, os_ent):
        left = m0.s3_contents(store) if store is s3_ent else m0.opensearch_contents(store)
        assert {p["data"]: p["linked_memory_ids"] for p in left.values()} == {"Bob": u1[:2], "Shared": [u0[2], u1[2]]}


def test_reset_is_refused_unless_enabled_and_confirmed(s3_mem0: Any, os_mem0: Any, osmem_url: str) -> None:
    # Given 3 memories in S3 Vectors
    m0.write(s3_mem0, m0.dataset(users=1, per_user=3))
    # When a reset is asked without allow_reset, then with allow_reset but the wrong confirmation
    # Then both are refused and the 3 memories are still there
    with pytest.raises(ResetNotAllowed):
        Eraser([s3_target()]).reset("s3", "s3")
    with pytest.raises(ResetNotAllowed):
        Eraser([s3_target()], allow_reset=True).reset("s3", "wrong")
    assert len(m0.s3_contents(s3_mem0)) == 3


def test_reset_recreates_the_stores_identically(s3_mem0: Any, os_mem0: Any, osmem_url: str) -> None:
    # Given 3 memories in both stores, written by mem0, and the S3 Vectors index's settings
    data = m0.dataset(users=1, per_user=3)
    m0.write(s3_mem0, data)
    m0.write(os_mem0, data)
    client = boto3.client("s3vectors")
    before = client.get_index(vectorBucketName=m0.BUCKET, indexName=m0.INDEX)["index"]
    eraser = Eraser([s3_target(), os_target(osmem_url)], allow_reset=True)
    # When both targets are reset, enabled and confirmed
    eraser.reset("s3", "s3")
    eraser.reset("os", "os")
    # Then both are empty and recreated with mem0's index settings and mapping
    after = client.get_index(vectorBucketName=m0.BUCKET, indexName=m0.INDEX)["index"]
    assert {k: after[k] for k in ("dimension", "distanceMetric", "dataType")} == {
        k: before[k] for k in ("dimension", "distanceMetric", "dataType")
    }
    assert m0.s3_contents(s3_mem0) == {} and m0.opensearch_contents(os_mem0) == {}
    mapping = os_mem0.client.indices.get_mapping(index=m0.INDEX)[m0.INDEX]["mappings"]["properties"]
    assert mapping["vector_field"]["dimension"] == m0.DIMS and mapping["id"]["type"] == "keyword"


def test_cancelled_partition_returns_before_deleting_what_it_listed(s3_mem0: Any) -> None:
    from memerase.engine import MEMORIES, PartitionProgress, RunHooks, StoreRef
    from memerase.stores.base import Partition

    # Given memories of user-0, and a worker whose job was cancelled after it listed a page
    data = m0.dataset(users=2, per_user=30)
    m0.write(s3_mem0, data)
    eraser = Eraser([s3_target(page_size=10, segments=1)])
    # When its partition is processed
    state = eraser.runner.erase(
        StoreRef("s3", MEMORIES),
        {"user_id": "user-0"},
        Partition(),
        PartitionProgress(),
        RunHooks(cancelled=lambda: True),
    )
    # Then nothing was deleted and the cursor did not move, so a resumed job lists those memories again
    assert m0.s3_contents(s3_mem0) == {m.id: m.payload for m in data}
    assert state.deleted == 0 and state.cursor is None and not state.done


def test_a_scope_erasure_lists_entity_links_once_and_never_touches_another_scopes_entity_records(
    s3_limits: S3VectorsLimits, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 1,100 memories of user-0 (three delete batches of 500) and entity records of user-1 that also link
    # user-0's memories (a link across scopes, as semantic dedup can make)
    data = m0.dataset(users=2, per_user=1100, agents=(None,), runs=(None,))
    u0 = [m.id for m in data if m.payload["user_id"] == "user-0"]
    u1 = [m.id for m in data if m.payload["user_id"] == "user-1"]
    ents = [m0.entity(f"e{i}", [u0[i], u1[i]], user_id="user-1") for i in range(0, 1100, 100)]
    m0.write(m0.s3_store(), data)
    m0.write(m0.s3_store(index=entity_collection_name("s3_vectors", m0.INDEX)), ents)
    target = s3_target(segments=1)
    assert target.entities is not None
    listings: list[str] = []
    original = type(target.entities)._pages

    def counting(self: Any, keep: Any) -> Any:
        listings.append(self.index)
        return original(self, keep)

    monkeypatch.setattr(type(target.entities), "_pages", counting)
    # When user-0 is erased
    result = Eraser([target]).delete_matching(Scope.of(user_id="user-0"))
    # Then the entity collection was listed for links once for the three delete batches (the adapter's link index),
    # and user-1's records are byte for byte as they were (outside every erased memory's scope and the erased scope)
    assert result.verified and result.stores[0].deleted == 1100
    assert listings.count(entity_collection_name("s3_vectors", m0.INDEX)) == 1
    left = m0.s3_contents(m0.s3_store(index=entity_collection_name("s3_vectors", m0.INDEX)))
    assert left == {e.id: e.payload for e in ents}
