"""A scoped key cannot learn whether another scope's memory id exists (issue #11, item 10): on every route taking a
memory id, a real id of another user gets exactly the answer an id nobody holds gets (same status, same body), and
nothing is deleted. Through the API's Lambda handlers (the World of test_api_handlers: 3 users x 4 memories)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from tests.integration import test_api_handlers as harness
from tests.integration.test_api_handlers import Reply, World, batch, delete_memory, memories_fn, memory_path

world = harness.world  # the fixtures
lambda_context = harness.lambda_context


def history(world: World, memory_id: str, key: str) -> Reply:
    path, resource, params = memory_path(memory_id, "history/")
    return world.call(memories_fn, "GET", path, resource, key, path_parameters=params)


def batch_with_own(world: World, memory_id: str, key: str) -> Reply:
    """A batch of one of the key's own memories and `memory_id`."""
    own = world.of("user-1")[0].id
    return batch(world, {"memories": [{"memory_id": own}, {"memory_id": memory_id}]}, key=key)


ROUTES: dict[str, Callable[[World, str, str], Reply]] = {
    "DELETE /v1/memories/{id}": lambda w, m, k: delete_memory(w, m, key=k),
    "GET /v1/memories/{id}/history": history,
    "DELETE /v1/batch": batch_with_own,
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_another_users_memory_id_is_answered_as_an_unknown_one(world: World, route: str) -> None:
    # Given user-1's scoped key, a real memory id of user-2, and an id no store holds
    call = ROUTES[route]
    foreign = world.of("user-2")[0].id
    unknown = str(uuid.uuid4())
    # When user-1's key sends each of them to the route
    to_foreign = call(world, foreign, "user1")
    to_unknown = call(world, unknown, "user1")
    # Then both answers are identical (404 not_found, same body), neither names the id, and nothing was deleted
    assert (to_foreign.status, to_foreign.text) == (to_unknown.status, to_unknown.text)
    assert to_foreign.status == 404 and to_foreign.json["code"] == "not_found"
    assert foreign not in to_foreign.text and unknown not in to_unknown.text
    world.expect_intact()


def test_an_admin_still_gets_the_memory_of_any_user(world: World) -> None:
    # Given the admin key and a memory of user-2
    victim = world.of("user-2")[0]
    # When the admin deletes it
    reply = delete_memory(world, victim.id)
    # Then it is erased (only scoped keys are confined)
    assert reply.status == 200, reply.text
    world.expect_only(world.without(lambda m: m.id == victim.id))
