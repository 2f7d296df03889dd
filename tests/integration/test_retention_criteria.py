"""Erasure by age and by mem0's expiry, inline through the engine, in every memories store (S3 Vectors over moto,
OpenSearch over osmem-server, Neptune Analytics over its stand-in), on data written by mem0ai 2.2.1's own vector store
classes with mixed timestamp formats, decided against an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from memerase.criteria import CRITERIA_NOT_APPLICABLE, Criteria, Selection
from memerase.engine import Eraser
from memerase.errors import InvalidRequest
from memerase.models import Scope
from memerase.stores.base import Partition
from memerase_local.neptune_standin.server import NeptuneGraphStandIn
from tests.support import mem0_data as m0
from tests.support import mem0_neptune
from tests.support.neptune_targets import graph_store, target_stores
from tests.support.readback import Snapshot
from tests.support.retention_data import AGED, EXPIRED, Dated, dated_memories, ids
from tests.support.targets import os_target, s3_target

ALICE = {"user_id": "alice"}


@dataclass
class World:
    """One memories store with the dated memories written by mem0, and the engine erasing it."""

    data: list[Dated]
    eraser: Eraser
    contents: Callable[[], Snapshot]

    def all_ids(self) -> set[str]:
        return {d.memory.id for d in self.data}


@pytest.fixture(params=["s3_vectors", "opensearch", "neptune_analytics"])
def world(request: pytest.FixtureRequest) -> World:
    if request.param == "s3_vectors":
        request.getfixturevalue("s3_limits")
        data = dated_memories()
        store = m0.s3_store()
        m0.write(store, [d.memory for d in data])
        return World(data, Eraser([s3_target(page_size=4, segments=2)]), lambda: m0.s3_contents(store))
    if request.param == "opensearch":
        url = request.getfixturevalue("osmem_url")
        data = dated_memories(garbage=False)  # OpenSearch refuses them once created_at is mapped `date`
        os_store = m0.opensearch_store(url)
        m0.write(os_store, [d.memory for d in data])
        return World(data, Eraser([os_target(url, page_size=4)]), lambda: m0.opensearch_contents(os_store))
    standin: NeptuneGraphStandIn = request.getfixturevalue("neptune_graph")
    data = dated_memories()
    mem0_store = mem0_neptune.memories_store(standin.graph_id)
    mem0_neptune.write(mem0_store, [d.memory for d in data])
    return World(data, Eraser([target_stores(standin.graph_id)]), lambda: mem0_neptune.contents(mem0_store))


def test_an_age_criterion_in_a_scope_erases_exactly_its_older_memories(world: World) -> None:
    # Given alice's, bob's and an agent's memories with mixed created_at formats around a 30-day cutoff
    before = world.contents()
    # When alice's memories older than 30 days are erased
    result = world.eraser.delete_matching(Scope.of(**ALICE), criteria=AGED)
    # Then exactly alice's strictly older memories are gone: no younger one, none at the cutoff, no other scope's
    gone = ids(world.data, "in", "age", ALICE)
    assert gone and set(before) - set(world.contents()) == gone
    assert world.contents() == {k: v for k, v in before.items() if k not in gone}
    # And alice's memories without a readable created_at are kept and counted
    memories = result.stores[0]
    assert memories.deleted == len(gone) and memories.remaining == 0 and result.verified
    assert memories.unreadable_kept == len(ids(world.data, "unreadable", "age", ALICE))
    assert result.criteria == {"created_before": "2026-05-16T12:00:00Z"}


def test_an_age_criterion_alone_erases_old_memories_of_every_scope_and_never_a_younger_one(world: World) -> None:
    # Given memories of three scopes
    before = world.contents()
    # When every memory older than 30 days is erased, whatever its scope
    result = world.eraser.delete_matching(Scope(), criteria=AGED)
    # Then the older memories of every scope are gone, every younger or unreadable one is kept
    gone = ids(world.data, "in", "age")
    assert gone and set(before) - set(world.contents()) == gone
    kept = set(world.contents())
    assert ids(world.data, "out", "age") <= kept and ids(world.data, "unreadable", "age") <= kept
    assert result.stores[0].unreadable_kept == len(ids(world.data, "unreadable", "age"))
    assert result.verified


def test_the_expired_criterion_erases_what_mem0_hides_and_keeps_unreadable_expiry_dates(world: World) -> None:
    # Given memories whose expiration_date is before, on and after mem0's UTC today, missing or unreadable
    before = world.contents()
    # When alice's expired memories are erased
    result = world.eraser.delete_matching(Scope.of(**ALICE), criteria=EXPIRED)
    # Then exactly alice's memories expiring strictly before today are gone
    gone = ids(world.data, "in", "expiry", ALICE)
    assert gone and set(before) - set(world.contents()) == gone
    assert result.stores[0].unreadable_kept == len(ids(world.data, "unreadable", "expiry", ALICE))
    assert result.criteria == {"expired_before": "2026-06-15"}


def test_both_criteria_together_select_memories_old_and_expired(world: World) -> None:
    # Given the dated memories
    before = world.contents()
    both = Criteria(created_before=AGED.created_before, expired_before=EXPIRED.expired_before)
    # When memories both older than 30 days and expired are erased, in every scope
    world.eraser.delete_matching(Scope(), criteria=both)
    # Then only memories meeting both are gone
    gone = ids(world.data, "in", "age") & ids(world.data, "in", "expiry")
    assert gone and set(before) - set(world.contents()) == gone


def test_a_dry_run_with_a_criterion_deletes_nothing_and_reports_the_counts(world: World) -> None:
    # Given the dated memories
    before = world.contents()
    # When an age erasure across every scope is a dry run
    result = world.eraser.delete_matching(Scope(), dry_run=True, criteria=AGED)
    # Then nothing is deleted, and the counts are what a real run would erase and keep
    assert world.contents() == before
    assert result.stores[0].matched == len(ids(world.data, "in", "age")) and result.deleted == 0
    assert result.stores[0].unreadable_kept == len(ids(world.data, "unreadable", "age"))


def test_remaining_counts_see_the_selection_not_the_whole_scope(world: World) -> None:
    # Given the dated memories
    # When what an age criterion selects in alice's scope is counted
    outcomes = world.eraser.count_remaining(Scope.of(**ALICE), AGED)
    # Then it counts alice's older memories and her unreadable ones apart
    assert outcomes[0].remaining == len(ids(world.data, "in", "age", ALICE))
    assert outcomes[0].unreadable_kept == len(ids(world.data, "unreadable", "age", ALICE))


def test_no_filter_and_no_criterion_is_refused_and_deletes_nothing(world: World) -> None:
    # Given the dated memories
    before = world.contents()
    # When an erasure has neither a filter nor a criterion
    # Then it is refused before anything is deleted
    with pytest.raises(InvalidRequest):
        world.eraser.delete_matching(Scope(), criteria=Criteria())
    with pytest.raises(InvalidRequest):
        world.eraser.delete_matching(Scope())
    assert world.contents() == before


@pytest.mark.parametrize("backend", ["s3_vectors", "opensearch"])
def test_a_criterion_leaves_entity_collections_but_unlinks_erased_memories_in_their_own_scope(
    backend: str, request: pytest.FixtureRequest
) -> None:
    # Given alice's dated memories, and entity records written by mem0's classes: one of alice's linking an old and a
    # young memory, one of alice's linking only an old one, one of bob's linking alice's old memory
    data = [d for d in dated_memories(garbage=False) if d.scope == ALICE]
    old, young = (next(d.memory.id for d in data if d.case.by_age == v) for v in ("in", "out"))
    both = m0.entity("Alice", [old, young], **ALICE)
    only_old = m0.entity("Tea", [old], **ALICE)
    foreign = m0.entity("Bob", [old], user_id="bob", agent_id="helper")
    if backend == "s3_vectors":
        request.getfixturevalue("s3_limits")
        memories, entities = m0.s3_store(), m0.s3_store(index=f"{m0.INDEX}-entities")
        eraser, read = Eraser([s3_target()]), m0.s3_contents
    else:
        url = request.getfixturevalue("osmem_url")
        memories, entities = m0.opensearch_store(url), m0.opensearch_store(url, index=f"{m0.INDEX}_entities")
        eraser, read = Eraser([os_target(url)]), m0.opensearch_contents
    m0.write(memories, [d.memory for d in data])
    m0.write(entities, [both, only_old, foreign])
    # When alice's old memories are erased
    result = eraser.delete_matching(Scope.of(**ALICE), criteria=AGED)
    # Then the entity collection is not erased by the criterion (not applicable), only unlinked: alice's record keeps
    # its young link, the one left without links is gone, bob's record is untouched
    notes = {s.role: s.note for s in result.stores}
    assert notes == {"memories": None, "entities": CRITERIA_NOT_APPLICABLE}
    after = read(entities)
    assert set(after) == {both.id, foreign.id}
    assert after[both.id]["linked_memory_ids"] == [young]
    assert after[foreign.id] == foreign.payload
    assert result.verified


def test_graph_memory_is_left_alone_by_a_criterion(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given alice's dated memories and mem0 1.x graph memory of alice on the same graph
    data = [d for d in dated_memories() if d.scope == ALICE]
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), [d.memory for d in data])
    neptune_graph.cypher("CREATE (:`__Entity__` {`~id`: 'e-1', name: 'tea', user_id: 'alice', mentions: 1})")
    eraser = Eraser([target_stores(neptune_graph.graph_id, graph_store(neptune_graph.graph_id))])
    # When alice's old memories are erased
    result = eraser.delete_matching(Scope.of(**ALICE), criteria=AGED)
    # Then the graph is not applicable and its node is still there
    notes = {s.role: s.note for s in result.stores}
    assert notes["graph"] == CRITERIA_NOT_APPLICABLE and notes["memories"] is None
    assert neptune_graph.cypher("MATCH (n {`~id`: 'e-1'}) RETURN count(n) AS c")[0]["c"] == 1
    assert result.stores[0].deleted == len(ids(data, "in", "age", ALICE))


def test_every_memories_adapter_refuses_an_empty_selection(world: World) -> None:
    # Given the dated memories
    before = world.contents()
    # When a scan or a count is asked with neither a filter nor a criterion, bypassing the engine
    # Then every adapter refuses, and nothing is deleted
    for _, store in world.eraser.stores():
        for empty in ({}, Selection()):
            with pytest.raises(ValueError, match="neither a filter nor a criterion"):
                store.list_matching(empty, Partition(), None)
            with pytest.raises(ValueError, match="neither a filter nor a criterion"):
                store.count_remaining(empty)
    assert world.contents() == before


def test_graph_adapters_refuse_criteria_and_an_empty_selection(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given mem0 1.x graph memory of alice
    neptune_graph.cypher("CREATE (:`__Entity__` {`~id`: 'e-1', name: 'tea', user_id: 'alice', mentions: 1})")
    stores = target_stores(neptune_graph.graph_id, graph_store(neptune_graph.graph_id))
    (_, graph), *_ = stores.graph
    aged = Selection(filters=ALICE, criteria=AGED)
    # When a selection with criteria, or an empty one, reaches the graph adapter directly
    # Then it says not applicable, and its scans refuse: a criterion never becomes "the whole scope" of graph data
    assert graph.not_applicable(aged) == CRITERIA_NOT_APPLICABLE
    for refused in (aged, Selection(), {}):
        with pytest.raises(ValueError):
            graph.list_matching(refused, Partition(), None)
        with pytest.raises(ValueError):
            graph.count_remaining(refused)
    assert neptune_graph.cypher("MATCH (n {`~id`: 'e-1'}) RETURN count(n) AS c")[0]["c"] == 1
