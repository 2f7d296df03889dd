"""Entity cleanup stays inside the erased memory's scope (mem0's own rule) and the caller's: another scope's entity
record is never rewritten or deleted, even when its only link is an erased memory."""

from __future__ import annotations

from typing import Any

import pytest

from memerase.engine import Eraser
from memerase.models import Scope
from memerase.stores.factory import entity_collection_name
from tests.support import mem0_data as m0
from tests.support.targets import os_target, s3_target


@pytest.fixture
def linked(s3_mem0: Any, os_mem0: Any, osmem_url: str) -> dict[str, Any]:
    """alice's memory (agent "bot") linked by alice/bot's entity records and by bob's, in both targets."""
    alice = m0.memory("alice likes tea", user_id="alice", agent_id="bot")
    other = m0.memory("alice lives in Paris", user_id="alice", agent_id="bot")
    bob = m0.memory("bob plays chess", user_id="bob")
    records = {
        "own_only": m0.entity("Tea", [alice.id], user_id="alice", agent_id="bot"),
        "own_shared": m0.entity("Alice", [alice.id, other.id], user_id="alice", agent_id="bot"),
        "user_level": m0.entity("Alice", [alice.id], user_id="alice"),  # does not carry the memory's agent
        "bobs": m0.entity("Chess", [alice.id], user_id="bob"),  # another scope whose only link is alice's memory
    }
    for store, name in ((m0.s3_store, "s3_vectors"), (m0.opensearch_store, "opensearch")):
        args = (osmem_url,) if name == "opensearch" else ()
        m0.write(store(*args), [alice, other, bob])
        m0.write(store(*args, index=entity_collection_name(name, m0.INDEX)), list(records.values()))
    return {"alice": alice, "other": other, "records": records}


def entity_contents(osmem_url: str) -> list[dict[str, dict[str, Any]]]:
    s3 = m0.s3_contents(m0.s3_store(index=entity_collection_name("s3_vectors", m0.INDEX)))
    os_ = m0.opensearch_contents(
        m0.opensearch_store(osmem_url, index=entity_collection_name("opensearch", m0.INDEX), fast_create=False)
    )
    return [s3, os_]


def test_deleting_a_memory_by_id_touches_only_entity_records_of_its_own_scope(
    linked: dict[str, Any], osmem_url: str
) -> None:
    # Given alice/bot's memory, linked by two alice/bot records, an alice-only record and a record of bob's
    records = linked["records"]
    # When an admin deletes it by id
    result = Eraser([s3_target(), os_target(osmem_url)]).delete_memory(linked["alice"].id)
    # Then the alice/bot record linking only it is gone, the other alice/bot record lost that link, and the
    # alice-only and bob records are byte for byte as they were (counted as left alone, in each target)
    for contents in entity_contents(osmem_url):
        assert records["own_only"].id not in contents
        assert contents[records["own_shared"].id]["linked_memory_ids"] == [linked["other"].id]
        assert contents[records["user_level"].id] == records["user_level"].payload
        assert contents[records["bobs"].id] == records["bobs"].payload
    assert result.entity_records_left_alone == 4


def test_a_scoped_caller_never_changes_an_entity_record_outside_its_scopes(
    linked: dict[str, Any], osmem_url: str
) -> None:
    # Given a caller scoped to alice + agent "bot"
    allowed = [Scope.of(user_id="alice", agent_id="bot")]
    records = linked["records"]
    # When it deletes alice's memory by id
    Eraser([s3_target(), os_target(osmem_url)]).delete_memories([linked["alice"].id], allowed=allowed)
    # Then bob's record, whose only link was that memory, still exists unchanged in both targets
    for contents in entity_contents(osmem_url):
        assert contents[records["bobs"].id] == records["bobs"].payload
        assert records["own_only"].id not in contents
