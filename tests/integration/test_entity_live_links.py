"""A user+agent erasure keeps the entity records the user's other memories still link (issue 18, item 1).

mem0 2.2.1's `_upsert_entity` looks for an entity record with the add's own filters, so `add(user_id="alice")` links
its memory to the record alice's agent "bot" created, tagged {alice, bot}. Erasing {alice, bot} strips the erased
memories' ids from the entity records (as mem0's own `delete_all` does) and deletes only the records of that scope no
memory outside it links; a record of any other scope is never touched. In every store that keeps mem0 2.x entity
collections (S3 Vectors, OpenSearch, Neptune Analytics), inline and through a job's work items.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace

import pytest

from memerase.engine import Eraser
from memerase.models import Scope
from tests.support import mem0_data as m0
from tests.support.entity_worlds import STORES, EntityWorld, erase_as_job, neptune_world, opensearch_world, s3_world

ERASED = Scope.of(user_id="alice", agent_id="bot")
PATHS = ("inline", "job")


@pytest.fixture(params=STORES)
def world(request: pytest.FixtureRequest) -> Iterator[EntityWorld]:
    """mem0's memories and entity stores in one store's stand-in (the shared fixtures), empty."""
    with ExitStack() as stack:
        if request.param == "s3_vectors":
            request.getfixturevalue("aws")
            yield s3_world(stack)
        elif request.param == "opensearch":
            yield opensearch_world(request.getfixturevalue("osmem_url"))
        else:
            yield neptune_world(request.getfixturevalue("neptune_graph").graph_id)


def erase(world: EntityWorld, path: str) -> int | None:
    """Erase alice + agent "bot" inline or as a job; returns the inline result's `entity_records_left_alone` (a job's
    receipt does not carry it), after checking the erasure verified clean."""
    world.strict()
    eraser = Eraser([world.target()])
    if path == "job":  # two passes: the first erases (entity items first), the second finds nothing: clean
        assert erase_as_job(eraser, ERASED)[1:] == [0]
        return None
    result = eraser.delete_matching(ERASED)
    assert result.verified
    return result.entity_records_left_alone


@pytest.mark.parametrize("path", PATHS)
def test_erasing_a_user_and_agent_keeps_the_entity_records_the_users_other_memories_link(
    world: EntityWorld, path: str
) -> None:
    """Before the fix, in every store and both paths, the entity pass deleted every record tagged {alice, bot}:
    `assert tea.id in after` failed (the "Tea" record that alice's own memory links was gone)."""
    # Given alice's memories under {alice, bot} and under {alice}, bob's memory, and the entity records mem0 wrote
    # for the {alice, bot} add: "Tea" and "Green tea" link its memory, "Nothing" links nothing
    with_bot = m0.memory("alice likes green tea", user_id="alice", agent_id="bot")
    alone = m0.memory("alice drinks tea every morning", user_id="alice")
    bob = m0.memory("bob likes tea", user_id="bob")
    tea = m0.entity("Tea", [with_bot.id], user_id="alice", agent_id="bot")
    green = m0.entity("Green tea", [with_bot.id], user_id="alice", agent_id="bot")
    nothing = m0.entity("Nothing", [], user_id="alice", agent_id="bot")
    bobs_tea = m0.entity("Tea", [bob.id], user_id="bob")
    world.write([with_bot, alone, bob], [tea, green, nothing, bobs_tea])
    # and mem0's own `add(user_id="alice")` linked alice's {alice} memory to the {alice, bot} "Tea" record
    world.link("Tea", alone.id, user_id="alice")
    before = world.entity_records()
    assert before[tea.id]["linked_memory_ids"] == [with_bot.id, alone.id]

    # When alice + agent "bot" is erased
    left_alone = erase(world, path)

    # Then the {alice, bot} memory is gone and the other memories stay
    assert world.memory_ids() == {alone.id, bob.id}
    after = world.entity_records()
    # and "Tea" is kept for alice's own memory, with only the erased memory's id stripped from it
    assert tea.id in after
    assert after[tea.id] == {**before[tea.id], "linked_memory_ids": [alone.id]}
    # and the records no remaining memory links are deleted, bob's record is as it was
    assert green.id not in after and nothing.id not in after
    assert after[bobs_tea.id] == before[bobs_tea.id]
    assert set(after) == {tea.id, bobs_tea.id}
    # and the inline result counts the record it left alone
    assert left_alone == (1 if path == "inline" else None)


@pytest.mark.parametrize("path", PATHS)
def test_an_entity_record_of_another_scope_is_never_touched_even_when_it_links_only_erased_memories(
    world: EntityWorld, path: str
) -> None:
    """Adversarial: records mem0 would not write (another user's, alice's without the agent, alice's with another
    agent) each link only the erased memory, or nothing. None is rewritten or deleted."""
    # Given alice + "bot"'s memory and records of other scopes linking only it, or nothing
    erased = m0.memory("alice likes green tea", user_id="alice", agent_id="bot")
    others = [
        m0.entity("Tea", [erased.id], user_id="bob"),
        m0.entity("Tea", [], user_id="bob", agent_id="bot"),
        m0.entity("Green tea", [erased.id], user_id="bob", agent_id="bot"),
        m0.entity("Alice", [erased.id], user_id="alice"),
        m0.entity("Alice", [erased.id], user_id="alice", agent_id="other"),
        m0.entity("Bot", [erased.id], agent_id="bot"),
    ]
    own = m0.entity("Green tea", [erased.id], user_id="alice", agent_id="bot")
    world.write([erased], [*others, own])
    before = world.entity_records()

    # When alice + agent "bot" is erased
    erase(world, path)

    # Then its memory and its own record are gone, and every record of another scope is exactly as it was
    assert world.memory_ids() == set()
    after = world.entity_records()
    assert after == {r.id: before[r.id] for r in others}


def test_a_record_of_the_scope_linking_ids_no_store_can_hold_is_deleted_without_a_refused_request(
    world: EntityWorld,
) -> None:
    """Links mem0 would not write: an empty id and one longer than an S3 Vectors key name no memory, so the record
    goes. Before `S3VectorsStore.stored` left such ids out, the S3 Vectors case failed: `RetryableStoreError: S3 Vectors
    get_vectors on s3_vectors:mem0-test/mem0 failed: ParamValidationError` (botocore refused the empty key)."""
    # Given alice + "bot"'s memory and a record of that scope linking only impossible ids
    erased = m0.memory("alice likes green tea", user_id="alice", agent_id="bot")
    impossible = m0.entity("Green tea", ["", "x" * 2000], user_id="alice", agent_id="bot")
    world.write([erased], [impossible])

    # When alice + agent "bot" is erased inline
    left_alone = erase(world, "inline")

    # Then the memory and the record are gone, nothing left alone
    assert world.memory_ids() == set() and world.entity_records() == {}
    assert left_alone == 0


UNREADABLE_ON_NEPTUNE = pytest.mark.xfail(
    strict=True,
    reason="known defect: NeptuneAnalyticsStore.list_linking's list comprehension fails on a node whose "
    "linked_memory_ids is not a list (the stand-in: 'Type mismatch: expected List or Null but was String'); since "
    "scope erasures unlink too, such a node now fails them as it already failed erasures by id and by criteria",
)


@pytest.mark.parametrize("world", [*STORES[:2], pytest.param(STORES[2], marks=UNREADABLE_ON_NEPTUNE)], indirect=True)
def test_a_record_of_the_scope_whose_links_cannot_be_read_is_kept(world: EntityWorld) -> None:
    """A `linked_memory_ids` that is not a list (mem0 writes lists): no one can tell that no memory needs the record,
    so it is kept as it was, and counted."""
    # Given alice + "bot"'s memory and a record of that scope whose links are a string
    erased = m0.memory("alice likes green tea", user_id="alice", agent_id="bot")
    unreadable = m0.entity("Tea", [], user_id="alice", agent_id="bot")
    unreadable = replace(unreadable, payload={**unreadable.payload, "linked_memory_ids": erased.id})
    world.write([erased], [unreadable])
    before = world.entity_records()

    # When alice + agent "bot" is erased inline
    left_alone = erase(world, "inline")

    # Then the memory is gone, the record is as it was and counted
    assert world.memory_ids() == set()
    assert world.entity_records() == before
    assert left_alone == 1
