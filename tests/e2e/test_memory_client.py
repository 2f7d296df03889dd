"""mem0ai 2.2.1's own `MemoryClient(api_key=..., host=...)` against `memerase serve`: every deletion call mem0's
hosted platform offers, and its refusals, checked afterwards directly in S3 Vectors (moto), OpenSearch (osmem) and
Neptune Analytics (its openCypher stand-in).

One server for the file; the tests run in file order and each works on memories no other test touches (the reset
test, last, erases whatever is left). Every assertion on the stores compares a snapshot taken before the call with
one taken after: exactly the named memories are gone from every store, every other memory is intact.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from mem0 import MemoryClient
from mem0.exceptions import AuthenticationError, MemoryNotFoundError, ValidationError

from memerase import runtime
from memerase.errors import MissingFilter
from memerase.models import Scope
from tests.e2e.conftest import LocalServer
from tests.support import mem0_data as m0
from tests.support import mem0_neptune
from tests.support.readback import Stores

# memories this file writes next to the seeded ones (user-0..user-3, agent "demo-agent", no run id)
RUN_USER, RUN_A, RUN_B = "run-user", "run-a", "run-b"
AGENT_USER, AGENT_X, AGENT_Y = "agent-user", "agent-x", "agent-y"
EMAIL_USER = "carol@example.com"  # mem0's client percent-encodes it in paths: /v2/entities/user/carol%40example.com/


@dataclass(frozen=True)
class World:
    server: LocalServer
    admin: MemoryClient
    user_1: MemoryClient  # a key scoped to user_id=user-1


def client(server: LocalServer, key: str) -> MemoryClient:
    """mem0's client on its own httpx client (a bounded timeout instead of mem0's 300 s)."""
    return MemoryClient(api_key=key, host=server.url, client=httpx.Client(timeout=60))


@pytest.fixture(scope="module")
def world(memerase_server: LocalServer) -> Iterator[World]:
    rng = random.Random(11)
    extra = [
        *(m0.memory(f"run-a memory {i}", rng, user_id=RUN_USER, run_id=RUN_A) for i in range(4)),
        *(m0.memory(f"run-b memory {i}", rng, user_id=RUN_USER, run_id=RUN_B) for i in range(3)),
        *(m0.memory(f"agent-x memory {i}", rng, user_id=AGENT_USER, agent_id=AGENT_X) for i in range(4)),
        *(m0.memory(f"agent-y memory {i}", rng, user_id=AGENT_USER, agent_id=AGENT_Y) for i in range(2)),
        *(m0.memory(f"carol memory {i}", rng, user_id=EMAIL_USER, agent_id="demo-agent") for i in range(3)),
    ]
    # written with mem0's own vector store classes, into the very bucket/index and OpenSearch index serve seeded
    m0.write(m0.s3_store(bucket="mem0-demo", index="mem0"), extra)
    m0.write(m0.opensearch_store(memerase_server.opensearch_url, index="mem0"), extra)
    mem0_neptune.write(mem0_neptune.memories_store(memerase_server.neptune_graph_id), extra)
    user_1_key, _ = runtime.api_keys().create("e2e-user-1", scopes=[Scope.of(user_id="user-1")])
    admin = client(memerase_server, memerase_server.admin_key)
    user_1 = client(memerase_server, user_1_key)
    yield World(memerase_server, admin, user_1)
    for c in (admin, user_1):
        c.client.close()


def some(stores: Stores, count: int = 1, **filters: str) -> list[str]:
    ids = sorted(stores.matching(**filters))
    assert len(ids) >= count, f"test data: fewer than {count} memories match {filters}"
    return ids[:count]


def assert_only_erased(before: Stores, after: Stores, gone: set[str]) -> None:
    """Exactly `gone` left every store (and it was there before); every other memory is intact, payload included."""
    assert gone, "nothing to check"
    expected = before.without(gone)
    for store, was, now, left in (
        ("S3 Vectors", before.s3, after.s3, expected.s3),
        ("OpenSearch", before.opensearch, after.opensearch, expected.opensearch),
        ("Neptune Analytics", before.neptune, after.neptune, expected.neptune),
    ):
        assert gone <= set(was), f"test data: {store} did not hold {sorted(gone - set(was))} before"
        assert not gone & set(now), f"{store} still holds {sorted(gone & set(now))}"
        assert now == left, f"{store}: memories other than the erased ones changed"


# ---- refusals: nothing is erased ------------------------------------------------------------------------------------


def test_wrong_api_key_makes_the_client_constructor_fail_at_the_ping_handshake(world: World) -> None:
    # Given a key memerase never issued
    # When mem0's client is built with it (its constructor calls GET /v1/ping/)
    # Then the 401 surfaces as mem0's ValueError carrying the server's `detail`
    with pytest.raises(ValueError, match="Missing or invalid API key"):
        client(world.server, "mek_this-key-was-never-issued")


def test_delete_all_without_a_filter_is_refused_with_mem0s_message_and_erases_nothing(world: World) -> None:
    # Given the served stores as they are
    before = world.server.stores()
    # When delete_all() is called with no filter
    with pytest.raises(ValidationError) as refused:
        world.admin.delete_all()
    # Then the client raises its 400-class exception with mem0's own message, and the stores are untouched
    assert refused.value.message == MissingFilter.MESSAGE
    assert refused.value.error_code == "HTTP_400"
    assert world.server.stores() == before


def test_deleting_an_unknown_memory_id_raises_memory_not_found_and_erases_nothing(world: World) -> None:
    # Given the served stores as they are
    before = world.server.stores()
    # When an id no store holds is deleted
    with pytest.raises(MemoryNotFoundError) as refused:
        world.admin.delete("00000000-0000-4000-8000-000000000000")
    # Then 404 -> MemoryNotFoundError, nothing changed
    assert refused.value.error_code == "HTTP_404"
    assert world.server.stores() == before


def test_user_scoped_key_cannot_delete_another_users_memory(world: World) -> None:
    # Given a key scoped to user-1 and one of user-2's memories
    before = world.server.stores()
    [foreign] = some(before, user_id="user-2")
    # When it deletes that memory
    with pytest.raises(MemoryNotFoundError) as refused:
        world.user_1.delete(foreign)
    # Then 404 -> MemoryNotFoundError, as for an unknown id, and that memory (like every other) is still in both stores
    assert refused.value.error_code == "HTTP_404"
    assert world.server.stores() == before


def test_user_scoped_key_cannot_delete_all_memories_of_another_user(world: World) -> None:
    # Given the served stores and a key scoped to user-1
    before = world.server.stores()
    # When the user-1 key asks to delete all of user-2's memories
    with pytest.raises(AuthenticationError) as refused:
        world.user_1.delete_all(user_id="user-2")
    # Then 403 before any job starts: nothing erased
    assert refused.value.error_code == "HTTP_403"
    world.server.wait_for_all_jobs()
    assert world.server.stores() == before


def test_batch_with_one_memory_outside_the_keys_scope_deletes_none_of_them(world: World) -> None:
    # Given a key scoped to user-1, one memory of user-1 and one of user-2
    before = world.server.stores()
    [own] = some(before, user_id="user-1")
    [foreign] = some(before, user_id="user-2")
    # When the user-1 key batch-deletes one of its own memories and one of user-2's
    with pytest.raises(MemoryNotFoundError):  # 404, as for an unknown id
        world.user_1.batch_delete([{"memory_id": own}, {"memory_id": foreign}])
    # Then the batch is all or nothing: even its own memory is still there
    assert world.server.stores() == before


# ---- single and batch deletes (synchronous) ------------------------------------------------------------------------


def test_user_scoped_key_deletes_a_memory_of_its_own_user_from_both_stores(world: World) -> None:
    # Given a key scoped to user-1 and one of user-1's memories
    before = world.server.stores()
    [own] = some(before, user_id="user-1")
    # When the user-1 key deletes one of user-1's memories
    reply = world.user_1.delete(own)
    # Then it is gone from S3 Vectors and OpenSearch, and nothing else is
    assert reply["message"] == "Memory deleted successfully!"
    assert_only_erased(before, world.server.stores(), {own})


def test_delete_removes_exactly_one_memory_from_both_stores(world: World) -> None:
    # Given one memory of user-0 in both stores
    before = world.server.stores()
    [victim] = some(before, user_id="user-0")
    # When the admin key deletes one memory by id
    reply = world.admin.delete(victim)
    # Then one record per store was deleted, and only that memory is gone
    assert reply["deleted"] == 3 and {s["deleted"] for s in reply["stores"] if s["deleted"]} == {1}
    assert_only_erased(before, world.server.stores(), {victim})


def test_history_of_a_deleted_memory_is_a_content_free_delete_row(world: World) -> None:
    # Given one memory of user-0 and its text
    before = world.server.stores()
    [victim] = some(before, user_id="user-0")
    text = before.s3[victim]["data"]
    world.admin.delete(victim)
    # When the erased memory's history is read through mem0's client
    rows = world.admin.history(victim)
    # Then it is one DELETE row in mem0's history columns, without the erased text anywhere
    assert [r["event"] for r in rows] == ["DELETE"]
    [row] = rows
    assert row["memory_id"] == victim and row["is_deleted"] == 1
    assert row["old_memory"] is None and row["new_memory"] is None
    assert text not in str(rows)


def test_batch_delete_removes_exactly_the_listed_memories(world: World) -> None:
    # Given three memories of user-0
    before = world.server.stores()
    victims = some(before, 3, user_id="user-0")
    # When three memories are batch-deleted
    reply = world.admin.batch_delete([{"memory_id": m} for m in victims])
    # Then exactly those three are gone from both stores
    assert reply["message"] == "Successfully deleted 3 memories" and reply["deleted"] == 9
    assert_only_erased(before, world.server.stores(), set(victims))


# ---- bulk deletes (asynchronous jobs run by Step Functions) ---------------------------------------------------------


def test_delete_all_by_user_id_erases_that_user_and_nobody_else(world: World) -> None:
    # Given user-2's memories among the others
    before = world.server.stores()
    gone = before.matching(user_id="user-2")
    # When delete_all(user_id="user-2") is called
    reply = world.admin.delete_all(user_id="user-2")
    # Then a job was accepted, runs to COMPLETED, and exactly user-2's 25 memories are gone
    assert reply["message"] == "Memories deleted successfully!"
    job = world.server.wait_for_job(reply["job_id"])
    assert job["status"] == "COMPLETED", job
    assert len(gone) == 25
    assert_only_erased(before, world.server.stores(), gone)


def test_delete_all_by_agent_id_erases_that_agents_memories_only(world: World) -> None:
    before = world.server.stores()
    gone = before.matching(agent_id=AGENT_X)
    # Given agent-user has memories with agent-x and with agent-y
    assert len(gone) == 4 and len(before.matching(agent_id=AGENT_Y)) == 2
    # When delete_all(agent_id="agent-x") is called
    reply = world.admin.delete_all(agent_id=AGENT_X)
    # Then only agent-x's memories are gone; agent-user's agent-y memories remain
    assert world.server.wait_for_job(reply["job_id"])["status"] == "COMPLETED"
    assert_only_erased(before, world.server.stores(), gone)


def test_delete_all_by_run_id_erases_that_runs_memories_only(world: World) -> None:
    before = world.server.stores()
    gone = before.matching(run_id=RUN_A)
    # Given run-user has memories in run-a and in run-b
    assert len(gone) == 4 and len(before.matching(run_id=RUN_B)) == 3
    # When delete_all(run_id="run-a") is called
    reply = world.admin.delete_all(run_id=RUN_A)
    # Then only run-a's memories are gone
    assert world.server.wait_for_job(reply["job_id"])["status"] == "COMPLETED"
    assert_only_erased(before, world.server.stores(), gone)


def test_delete_all_answers_a_mem0_event_id_whose_event_ends_succeeded(world: World) -> None:
    """Before the fix: no `event_id` in delete_all's answer, and `GET /v1/event/{event_id}/` was 404 no_route."""
    before = world.server.stores()
    gone = before.matching(agent_id=AGENT_Y)
    # Given agent-y's memories of agent-user
    assert len(gone) == 2
    # When delete_all(agent_id="agent-y") is called, and its event is polled on the client's own connection
    reply = world.admin.delete_all(agent_id=AGENT_Y)
    deadline = time.monotonic() + 60
    while True:
        event = world.admin.client.get(f"/v1/event/{reply['event_id']}/")
        assert event.status_code == 200, event.text
        if event.json()["status"] not in ("PENDING", "RUNNING") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    # Then the event is the job, SUCCEEDED, and exactly agent-y's memories are gone
    assert reply["event_id"] == reply["job_id"] and event.json()["id"] == reply["job_id"]
    assert event.json()["status"] == "SUCCEEDED" and event.json()["metadata"]["job_status"] == "COMPLETED"
    assert_only_erased(before, world.server.stores(), gone)


def test_a_wrong_method_on_a_known_path_is_405_with_allow_through_the_gateway(world: World) -> None:
    """Before the fix: 404 no_route."""
    # Given the served API
    # When a path it serves with DELETE is requested with GET
    reply = world.admin.client.get("/v1/memories/")
    # Then 405 naming the method it takes
    assert (reply.status_code, reply.headers["Allow"]) == (405, "DELETE")
    assert reply.json()["code"] == "method_not_allowed"


def test_delete_users_by_user_id_erases_that_user_and_nobody_else(world: World) -> None:
    # Given user-3's memories among the others
    before = world.server.stores()
    gone = before.matching(user_id="user-3")
    # When delete_users(user_id="user-3") is called (DELETE /v2/entities/user/user-3/)
    reply = world.admin.delete_users(user_id="user-3")
    # Then (mem0's client returns its own message, not the job) once the job finished, exactly user-3 is gone
    assert reply == {"message": "Entity deleted successfully."}
    world.server.wait_for_all_jobs()
    assert len(gone) == 25
    assert_only_erased(before, world.server.stores(), gone)


def test_delete_users_erases_a_user_whose_id_mem0_percent_encodes_in_the_path(world: World) -> None:
    # Given three memories of a user whose id is an e-mail address
    before = world.server.stores()
    gone = before.matching(user_id=EMAIL_USER)
    assert len(gone) == 3
    # When delete_users(user_id="carol@example.com") is called: mem0's client quotes the path segment, so the request
    # is DELETE /v2/entities/user/carol%40example.com/ (REST APIs hand the path to the Lambda still encoded)
    world.admin.delete_users(user_id=EMAIL_USER)
    world.server.wait_for_all_jobs()
    # Then carol's memories are gone, and nobody else's
    assert_only_erased(before, world.server.stores(), gone)


def test_delete_and_history_work_for_a_memory_id_mem0_percent_encodes_in_the_path(world: World) -> None:
    # Given a memory whose id holds characters mem0's client percent-encodes (a space, "/", a non-ASCII letter)
    odd = m0.Memory("e2e memory/ü 1", m0.mem0_payload("an oddly named memory", user_id=EMAIL_USER), [0.5] * m0.DIMS)
    m0.write(m0.s3_store(bucket="mem0-demo", index="mem0"), [odd])
    m0.write(m0.opensearch_store(world.server.opensearch_url, index="mem0"), [odd])
    mem0_neptune.write(mem0_neptune.memories_store(world.server.neptune_graph_id), [odd])
    before = world.server.stores()
    # When it is deleted by id (DELETE /v1/memories/e2e%20memory%2F%C3%BC%201/) and its history read
    reply = world.admin.delete(odd.id)
    rows = world.admin.history(odd.id)
    # Then it is gone from both stores, nothing else is, and its history is the content-free DELETE row
    assert reply["deleted"] == 3
    assert_only_erased(before, world.server.stores(), {odd.id})
    assert [(r["memory_id"], r["event"], r["old_memory"]) for r in rows] == [(odd.id, "DELETE", None)]


# ---- reset: last, it erases everything that is left ------------------------------------------------------------------


def test_reset_with_an_admin_key_erases_every_memory_of_every_entity(world: World) -> None:
    before = world.server.stores()
    entities = {(e["type"], e["name"]) for e in world.admin.users()["results"]}
    # Given memories of several users and agents are left
    assert len(before.ids()) > 40
    assert {("user", "user-0"), ("user", "user-1"), ("user", RUN_USER), ("agent", "demo-agent")} <= entities
    # When MemoryClient.reset() is called (GET /v1/entities/, then DELETE /v2/entities/{type}/{name}/ for each)
    reply = world.admin.reset()
    # Then once the jobs it started have finished, both stores are empty and no entity is left
    assert reply == {"message": "Client reset successful. All users and memories deleted."}
    world.server.wait_for_all_jobs()
    assert world.server.stores() == Stores({}, {}, {})
    assert world.admin.users()["results"] == []
