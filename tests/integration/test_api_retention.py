"""POST /v1/erasures with `older_than_days` / `expired`, and the same fields on SQS/EventBridge messages: what is
accepted, what is refused (deleting nothing, echoing nothing), and that a criterion never widens a key's scope."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pydantic import ValidationError

from memerase import runtime
from memerase.jobs.trigger_messages import ErasureMessage, start_from_message
from tests.integration import test_api_handlers as api
from tests.integration.test_api_handlers import World, error_of, get_erasure, start_erasure
from tests.support import mem0_data as m0
from tests.support.s3vectors_limits import S3VectorsLimits  # moto lists every vector in every segment without it

OLD = "2020-01-02T03:04:05.678901+00:00"


lambda_context = api.lambda_context  # the fixtures of test_api_handlers' deployment
api_world = api.world


@pytest.fixture(name="world")
def _world(request: pytest.FixtureRequest) -> World:
    """test_api_handlers' deployment: 3 users x 4 fresh memories in both stores, an admin and two scoped keys."""
    deployed: World = request.getfixturevalue("api_world")
    return deployed


def add_old_memories(world: World) -> dict[str, list[m0.Memory]]:
    """Two old memories and one without created_at for user-1 and user-2, written by mem0 into both stores."""
    rng = random.Random(5)
    added: dict[str, list[m0.Memory]] = {}
    for user in ("user-1", "user-2"):
        old = [m0.memory(f"old {i} of {user}", rng, user_id=user) for i in range(2)]
        for memory in old:
            memory.payload["created_at"] = OLD
        undated = m0.memory(f"undated of {user}", rng, user_id=user)
        del undated.payload["created_at"]
        added[user] = [*old, undated]
        for store in (world.s3, world.os_):
            m0.write(store, added[user])
        world.data.extend(added[user])
    return added


def test_an_admin_erases_one_users_memories_older_than_30_days(world: World, s3_limits: S3VectorsLimits) -> None:
    # Given three users' fresh memories, and old and undated ones of user-1 and user-2
    added = add_old_memories(world)
    # When an admin asks to erase user-1's memories older than 30 days
    reply = start_erasure(world, {"user_id": "user-1", "older_than_days": 30})
    # Then only user-1's two old memories are gone, from both stores
    assert reply.status == 202, reply.text
    gone = {m.id for m in added["user-1"][:2]}
    world.expect_only(world.without(lambda m: m.id in gone))
    # And the job shows its cutoff and the undated memory kept in each store, never the user id
    job = get_erasure(world, reply.json["job_id"]).json
    assert job["status"] == "COMPLETED" and job["criteria"]["created_before"]
    assert job["unreadable_kept"] == 2 and job["receipt"]["unreadable_kept"] == 2
    assert "user-1" not in str(job)


def test_a_scoped_key_may_erase_expired_memories_of_its_own_scope(world: World) -> None:
    # Given memories of three users, none expired
    # When user-1's key asks to erase user-1's expired memories
    reply = start_erasure(world, {"user_id": "user-1", "expired": True}, key="user1")
    # Then the job runs and erases nothing (nothing is expired)
    assert reply.status == 202, reply.text
    world.expect_intact()


@pytest.mark.parametrize(
    "body",
    [{"older_than_days": 30}, {"expired": True}, {"user_id": "user-2", "older_than_days": 30}],
    ids=["age-everyone", "expired-everyone", "age-other-user"],
)
def test_a_criterion_never_widens_a_scoped_key(world: World, body: dict[str, Any]) -> None:
    # Given old memories of user-1 and user-2 and user-1's scoped key
    add_old_memories(world)
    # When that key asks for an erasure across every scope, or of another user, by a criterion
    reply = start_erasure(world, body, key="user1")
    # Then it is forbidden and nothing is deleted
    error_of(reply, 403, "forbidden")
    world.expect_intact()


@pytest.mark.parametrize(
    ("body", "echo"),
    [
        ({"older_than_days": 0}, None),
        ({"older_than_days": -7777}, "7777"),
        ({"older_than_days": 12.5}, "12.5"),
        ({"older_than_days": 30.0}, "30.0"),
        ({"older_than_days": "thirty"}, "thirty"),
        ({"older_than_days": True}, None),
        ({"older_than_days": 987654}, "987654"),
        ({"older_than_days": None, "expired": "sure"}, "sure"),
        ({"expired": 1}, None),
        ({"user_id": "user-1", "older_than": 30}, None),
    ],
    ids=[
        "zero",
        "negative",
        "fraction",
        "whole-float",
        "string",
        "bool",
        "too-old",
        "expired-string",
        "expired-int",
        "typo",
    ],
)
def test_bad_criteria_are_refused_with_400_without_echo_and_delete_nothing(
    world: World, body: dict[str, Any], echo: str | None
) -> None:
    # Given old memories of user-1 and user-2
    add_old_memories(world)
    # When an erasure names a criterion of the wrong type or range
    reply = start_erasure(world, body)
    # Then 400, the value is not echoed, and nothing is deleted
    error_of(reply, 400)
    if echo is not None:
        assert echo not in reply.text
    world.expect_intact()


def test_nothing_at_all_is_still_refused_with_mem0s_message(world: World) -> None:
    # Given the deployment
    # When an erasure has no filter and no criterion (expired false is no criterion)
    reply = start_erasure(world, {"expired": False})
    # Then mem0's own MissingFilter message
    body = error_of(reply, 400)
    assert body["detail"].startswith("At least one filter is required to delete all memories")
    world.expect_intact()


def test_a_queue_message_with_an_age_alone_starts_an_age_job_across_every_scope_where_allowed(world: World) -> None:
    # Given old memories of user-1 and user-2, and a deployment that allows criteria without a scope on its channels
    added = add_old_memories(world)
    # When an SQS message asks for every memory older than 30 days
    message = ErasureMessage.model_validate({"older_than_days": 30})
    job = start_from_message(runtime.intake(), message, "sqs", "message-1", unscoped_allowed=True)
    # Then both users' old memories are gone, nothing else
    gone = {m.id for user in added.values() for m in user[:2]}
    world.expect_only(world.without(lambda m: m.id in gone))
    assert job.source == "sqs"


@pytest.mark.parametrize(
    "body", [{"older_than_days": 0}, {"older_than_days": "30"}, {"older_than_days": 1.0}, {"expired": "true"}]
)
def test_a_queue_message_with_a_bad_criterion_is_refused_without_echo(body: dict[str, Any]) -> None:
    # Given a malformed message body
    # When it is validated
    with pytest.raises(ValidationError) as refused:
        ErasureMessage.model_validate(body)
    # Then it is refused and the value is not in the error
    assert "input_value" not in str(refused.value)
