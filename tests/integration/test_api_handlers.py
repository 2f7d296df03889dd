"""The HTTP API's Lambda handlers, invoked with real API Gateway REST proxy events whose `requestContext.authorizer`
comes from the project's own REQUEST authorizer, over moto server (S3 Vectors, DynamoDB) and osmem-server."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from functions.api_erasures import app as erasures_fn
from functions.api_memories import app as memories_fn
from functions.api_reset import app as reset_fn
from functions.authorizer import app as authorizer_fn
from memerase import runtime
from memerase.engine import Eraser, reads
from memerase.errors import MissingFilter
from memerase.jobs.intake import JobIntake
from memerase.jobs.models import JobStatus
from memerase.keys import ApiKeyStore
from memerase.models import Scope
from memerase_local import proxy_events
from memerase_local.handlers import LambdaContext
from memerase_local.proxy_events import ProxyRequest, Stage
from tests.support import mem0_data as m0
from tests.support.seeded import Seeded
from tests.support.targets import KEYS_TABLE, Deploy, create_tables, memerase_config

STAGE = Stage(
    name="prod", api_id="abcdef", domain="abcdef.execute-api.us-east-1.amazonaws.com", source_ip="203.0.113.7"
)
MEM0_HEADERS = {  # what mem0's MemoryClient (httpx) sends with every request, besides Authorization
    "Accept": "*/*",
    "Accept-Encoding": "gzip, deflate",
    "Content-Type": "application/json",
    "Host": STAGE.domain,
    "User-Agent": "python-httpx/0.28.1",
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Proto": "https",
}


# ---- Lambda and API Gateway plumbing -------------------------------------------------------------------------------


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


def authorizer_event(headers: dict[str, str]) -> dict[str, Any]:
    """What API Gateway sends the REQUEST authorizer for `DELETE /v1/memories` with these headers."""
    return proxy_events.authorizer_event(ProxyRequest("DELETE", "/v1/memories", "/v1/memories", headers), STAGE)


def authorize(key: str, context: LambdaContext) -> dict[str, Any]:
    """Run the authorizer and build `requestContext.authorizer` from its answer, exactly as API Gateway does."""
    policy = authorizer_fn.handler(authorizer_event({"Authorization": f"Token {key}", "Host": STAGE.domain}), context)
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    return {**policy["context"], "principalId": policy["principalId"], "integrationLatency": 41}


@dataclass
class Reply:
    status: int
    headers: dict[str, Any]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


def error_of(reply: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    """Every error is a JSON {"code", "detail"} body with the right status and no stack trace."""
    assert reply.status == status, reply.text
    assert "Traceback" not in reply.text and 'File "' not in reply.text
    assert reply.headers.get("Content-Type", "").startswith("application/json")
    body = reply.json
    assert set(body) == {"code", "detail"} and body["detail"]
    if code is not None:
        assert body["code"] == code, body
    return body


# ---- the deployment under test -------------------------------------------------------------------------------------


@dataclass
class World(Seeded):
    keys: ApiKeyStore
    admin_key: str
    user1_key: str
    user2_key: str
    ctx: LambdaContext
    monkeypatch: pytest.MonkeyPatch
    config: dict[str, Any]  # the MEMERASE_CONFIG in use
    deploy: Deploy

    def call(self, fn: Any, method: str, path: str, resource: str, key: str | None = "admin", **kwargs: Any) -> Reply:
        """Authorize `key` ("admin", "user1", "user2" or a raw key), then invoke the API function with the request
        mem0's client would send: `kwargs` are `path_parameters`, `query` (one value or a list per name), `body` and
        extra `headers`."""
        raw = {"admin": self.admin_key, "user1": self.user1_key, "user2": self.user2_key}.get(key or "", key)
        query = {k: v if isinstance(v, list) else [v] for k, v in (kwargs.pop("query", None) or {}).items()}
        headers = {**MEM0_HEADERS, **(kwargs.pop("headers", None) or {})}
        if raw:
            headers["Authorization"] = f"Token {raw}"
        request = ProxyRequest(method, path, resource, headers, query=query or None, **kwargs)
        authorizer = authorize(raw, self.ctx) if raw else None
        event = proxy_events.rest_event(request, STAGE, authorizer)
        response = fn.handler(event, self.ctx)
        assert response.get("isBase64Encoded") is False
        headers = {
            **(response.get("headers") or {}),
            **{k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items() if v},
        }
        return Reply(response["statusCode"], headers, response.get("body") or "")

    def expect_intact(self) -> None:
        everything = self.everything()
        assert self.contents() == (everything, everything)

    def expect_only(self, kept: dict[str, Any]) -> None:
        assert self.contents() == (kept, kept)


@pytest.fixture
def world(
    aws: str, osmem_url: str, monkeypatch: pytest.MonkeyPatch, lambda_context: LambdaContext, deploy: Deploy
) -> World:
    # 3 users x 4 memories, written by mem0's own S3Vectors and OpenSearchDB, and three API keys
    create_tables(keys=KEYS_TABLE)
    seeded = Seeded.write(osmem_url, m0.dataset(users=3, per_user=4, seed=11))
    keys = ApiKeyStore(KEYS_TABLE)
    admin_key, _ = keys.create("ops", admin=True)
    user1_key, _ = keys.create("tenant-1", scopes=[Scope.of(user_id="user-1")])
    user2_key, _ = keys.create("tenant-2", scopes=[Scope.of(user_id="user-2")])
    monkeypatch.delenv("MEMERASE_API_KEY", raising=False)
    config = memerase_config(osmem_url, jobs={}, api={})
    deploy(config)
    keys_of = {"keys": keys, "admin_key": admin_key, "user1_key": user1_key, "user2_key": user2_key}
    return World(**vars(seeded), **keys_of, ctx=lambda_context, monkeypatch=monkeypatch, config=config, deploy=deploy)


def memory_path(memory_id: str, suffix: str = "") -> tuple[str, str, dict[str, str]]:
    return (f"/v1/memories/{memory_id}/{suffix}", f"/v1/memories/{{memory_id}}/{suffix}", {"memory_id": memory_id})


def delete_memory(world: World, memory_id: str, key: str = "admin") -> Reply:
    path, resource, params = memory_path(memory_id)
    return world.call(memories_fn, "DELETE", path, resource, key, path_parameters=params)


def delete_all(world: World, key: str = "admin", **filters: str) -> Reply:
    return world.call(erasures_fn, "DELETE", "/v1/memories/", "/v1/memories", key, query=filters or None)


def batch(world: World, body: Any, key: str = "admin") -> Reply:
    return world.call(erasures_fn, "DELETE", "/v1/batch/", "/v1/batch", key, body=body)


def start_erasure(world: World, body: dict[str, Any], key: str = "admin", idempotency_key: str | None = None) -> Reply:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    return world.call(erasures_fn, "POST", "/v1/erasures", "/v1/erasures", key, body=body, headers=headers)


def get_erasure(world: World, job_id: str, key: str = "admin") -> Reply:
    return world.call(
        erasures_fn, "GET", f"/v1/erasures/{job_id}", "/v1/erasures/{job_id}", key, path_parameters={"job_id": job_id}
    )


def reset(world: World, body: Any, key: str = "admin") -> Reply:
    return world.call(reset_fn, "POST", "/v1/reset", "/v1/reset", key, body=body)


# ---- authorizer ----------------------------------------------------------------------------------------------------


def test_authorizer_allows_a_valid_key_and_hands_its_scope_to_the_handlers(world: World) -> None:
    # Given a key scoped to user-1
    # When API Gateway runs the authorizer with mem0's `Authorization: Token <key>` header
    policy = authorizer_fn.handler(authorizer_event({"Authorization": f"Token {world.user1_key}"}), world.ctx)
    # Then the policy allows the API and the context carries the key id and scope, as strings only
    statement = policy["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow" and statement["Action"] == "execute-api:Invoke"
    assert policy["principalId"].startswith("key_")
    assert policy["context"]["admin"] == "false"
    assert json.loads(policy["context"]["scopes"]) == [{"user_id": "user-1"}]
    assert all(isinstance(v, str) for v in policy["context"].values())


def test_authorizer_accepts_bearer_scheme_and_lowercase_header(world: World) -> None:
    # Given an HTTP/2 client that lower-cases header names and uses the Bearer scheme
    # When the authorizer runs
    policy = authorizer_fn.handler(authorizer_event({"authorization": f"Bearer {world.admin_key}"}), world.ctx)
    # Then the admin key is recognised
    assert policy["context"]["admin"] == "true"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Token mek_wrong"},
    ],
    ids=["no-header", "empty", "no-key", "other-scheme", "unknown-key"],
)
def test_authorizer_rejects_missing_or_wrong_keys_with_api_gateways_unauthorized(
    world: World, headers: dict[str, str]
) -> None:
    # Given a request without a valid key
    # When the authorizer runs
    # Then it raises Exception("Unauthorized"), which API Gateway turns into a 401
    with pytest.raises(Exception, match="^Unauthorized$") as raised:
        authorizer_fn.handler(authorizer_event(headers), world.ctx)
    assert type(raised.value) is Exception


def test_authorizer_rejects_a_revoked_key(world: World) -> None:
    # Given user-1's key, which worked, is revoked
    authorize(world.user1_key, world.ctx)
    key_id = next(k["key_id"] for k in world.keys.list() if k["name"] == "tenant-1")
    assert world.keys.revoke(key_id)
    # When the authorizer runs with it
    # Then it is refused with API Gateway's 401 contract
    with pytest.raises(Exception, match="^Unauthorized$"):
        authorizer_fn.handler(authorizer_event({"Authorization": f"Token {world.user1_key}"}), world.ctx)


def test_memerase_api_key_env_is_accepted_as_an_admin_key(world: World) -> None:
    # Given MEMERASE_API_KEY is set (the deployment's bootstrap admin secret)
    world.monkeypatch.setenv("MEMERASE_API_KEY", "mek_bootstrap-secret")
    runtime.reset()
    # When a request presents it
    context = authorize("mek_bootstrap-secret", world.ctx)
    # Then it is an admin principal, and handlers accept it
    assert context["admin"] == "true" and context["principalId"] == "env-admin"
    reply = world.call(erasures_fn, "GET", "/v1/entities/", "/v1/entities", "mek_bootstrap-secret")
    assert reply.status == 200 and reply.json["count"] > 0


def test_handler_without_authorizer_context_is_401(world: World) -> None:
    # Given an event that did not pass through the authorizer (no requestContext.authorizer)
    # When the memories function handles it
    reply = world.call(memories_fn, "GET", "/v1/ping/", "/v1/ping", key=None)
    # Then it is a JSON 401, not a crash
    error_of(reply, 401, "unauthorized")


# ---- memories function: ping, delete one, history -------------------------------------------------------------------


def test_ping_returns_the_org_and_project_ids_mem0s_client_needs(world: World) -> None:
    # Given a scoped key
    # When mem0's client performs its handshake
    reply = world.call(memories_fn, "GET", "/v1/ping/", "/v1/ping", "user1")
    # Then both org_id and project_id are present
    assert reply.status == 200
    assert reply.json["status"] == "ok" and reply.json["org_id"] and reply.json["project_id"]


def test_delete_memory_erases_it_from_both_stores_and_leaves_the_others(world: World) -> None:
    # Given one memory among the 12 in both stores
    target = world.data[0]
    # When mem0's client deletes one memory by id (with the trailing slash it sends)
    reply = delete_memory(world, target.id)
    # Then 200 with mem0's message, one deletion per store, and only that memory is gone
    assert reply.status == 200, reply.text
    assert reply.json["message"] == "Memory deleted successfully!" and reply.json["deleted"] == 2
    assert {(s["target"], s["deleted"], s["remaining"]) for s in reply.json["stores"]} == {("s3", 1, 0), ("os", 1, 0)}
    world.expect_only(world.without(lambda m: m.id == target.id))


def test_delete_unknown_memory_is_404_not_found(world: World) -> None:
    # Given the 12 memories in both stores
    # When a memory id no store holds is deleted
    reply = delete_memory(world, str(uuid.uuid4()))
    # Then 404 with a JSON code/detail saying "not found", and nothing was touched
    body = error_of(reply, 404, "not_found")
    assert "not found" in body["detail"].lower()
    world.expect_intact()


def test_scoped_key_cannot_delete_another_users_memory(world: World) -> None:
    # Given a memory of user-2 and user-1's scoped key
    victim = world.of("user-2")[0]
    # When user-1's key deletes a memory of user-2
    reply = delete_memory(world, victim.id, key="user1")
    # Then 404, as for an unknown id, and nothing was deleted
    error_of(reply, 404, "not_found")
    world.expect_intact()


def test_scoped_key_can_delete_its_own_users_memory(world: World) -> None:
    # Given a memory of user-1 and user-1's scoped key
    own = world.of("user-1")[0]
    # When user-1's key deletes one of user-1's memories
    reply = delete_memory(world, own.id, key="user1")
    # Then it is erased
    assert reply.status == 200, reply.text
    world.expect_only(world.without(lambda m: m.id == own.id))


def test_a_scoped_key_is_not_shown_the_stores_bucket_index_or_graph_id(world: World) -> None:
    """Before the fix a scoped key's reply named `s3_vectors:mem0-test/mem0` and `opensearch:mem0`: the bucket and
    the index, which are the operator's business."""
    # Given memories of user-1 and of user-2, user-1's scoped key and the admin key
    own, other = world.of("user-1"), world.of("user-2")[0]
    # When each key deletes a memory by id, and the scoped key a batch of its user's
    scoped = delete_memory(world, own[0].id, key="user1")
    scoped_batch = batch(world, {"memories": [{"memory_id": m.id} for m in own[1:3]]}, key="user1")
    admin = delete_memory(world, other.id, key="admin")
    # Then the scoped key's replies name each store's kind only, the admin's the full labels
    assert scoped.status == scoped_batch.status == admin.status == 200
    for reply in (scoped, scoped_batch):
        assert sorted(s["store"] for s in reply.json["stores"]) == ["opensearch", "s3_vectors"]
        assert m0.BUCKET not in reply.text and f":{m0.INDEX}" not in reply.text
    assert sorted(s["store"] for s in admin.json["stores"]) == [
        f"opensearch:{m0.INDEX}",
        f"s3_vectors:{m0.BUCKET}/{m0.INDEX}",
    ]


def test_history_after_delete_is_a_delete_row_without_the_erased_text(world: World) -> None:
    target = world.data[1]
    # Given a memory was deleted through the API
    assert delete_memory(world, target.id).status == 200
    # When its history is read
    path, resource, params = memory_path(target.id, "history/")
    reply = world.call(memories_fn, "GET", path, resource, path_parameters=params)
    # Then there is a DELETE row whose old_memory is null, and the text appears nowhere
    assert reply.status == 200, reply.text
    rows = reply.json
    deletes = [r for r in rows if r["event"] == "DELETE"]
    assert len(deletes) == 1 and deletes[0]["memory_id"] == target.id
    assert deletes[0]["old_memory"] is None and deletes[0]["new_memory"] is None
    assert target.payload["data"] not in reply.text


def test_scoped_key_cannot_read_another_users_memory_history(world: World) -> None:
    # Given a memory of user-2 and user-1's scoped key
    other = world.of("user-2")[0]
    # When user-1's key reads the history of a user-2 memory
    path, resource, params = memory_path(other.id, "history/")
    reply = world.call(memories_fn, "GET", path, resource, "user1", path_parameters=params)
    # Then 404, as for an unknown id
    error_of(reply, 404, "not_found")


def test_unknown_route_is_a_json_404(world: World) -> None:
    # Given the memories function and an admin key
    # When a path no route serves is requested
    reply = world.call(memories_fn, "GET", "/v1/nothing-here/", "/{proxy+}", path_parameters={"proxy": "x"})
    # Then 404 with the JSON error shape
    error_of(reply, 404, "no_route")


def test_unexpected_failure_is_a_generic_500_without_internals(world: World) -> None:
    # Given the engine fails with an unexpected exception carrying internal details
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom at /var/task/secret.py")

    world.monkeypatch.setattr(Eraser, "delete_memories", broken)
    # When a delete is requested
    reply = delete_memory(world, world.data[0].id)
    # Then 500 internal_error, and neither the message nor a traceback leaks
    error_of(reply, 500, "internal_error")
    assert "secret" not in reply.text and "boom" not in reply.text


def test_unreachable_store_is_503_with_retry_after(world: World) -> None:
    # Given the OpenSearch target is unreachable
    conf = copy.deepcopy(world.config)
    conf["targets"][1]["vector_store"]["config"].update(host="127.0.0.1", port=9)
    world.deploy(conf)
    # When a memory is deleted
    reply = delete_memory(world, world.data[0].id)
    # Then 503 with Retry-After (the caller should retry), and S3 was not touched either
    error_of(reply, 503)
    assert reply.headers.get("Retry-After") == "2"
    assert len(m0.s3_contents(world.s3)) == len(world.data)


# ---- erasures function: filtered delete --------------------------------------------------------------------------


def test_delete_all_for_a_user_is_202_and_the_stores_are_already_clean(world: World) -> None:
    # Given 3 users x 4 memories in both stores and no state machine
    # When mem0's client deletes all of user-1's memories (no state machine: the job runs inline)
    reply = delete_all(world, user_id="user-1")
    # Then 202 with mem0's message and a job id, and only user-1 is gone from both stores
    assert reply.status == 202, reply.text
    assert reply.json["message"] == "Memories deleted successfully!"
    assert reply.json["job_id"].startswith("job-") and reply.json["status"] == "COMPLETED"
    assert reply.json["status_url"] == f"/{STAGE.name}/v1/erasures/{reply.json['job_id']}"
    world.expect_only(world.without(lambda m: m.payload["user_id"] == "user-1"))


def test_delete_all_never_answers_an_error_after_erasing(world: World) -> None:
    # Given 3 users x 4 memories in both stores
    # When mem0's client deletes all of user-0's memories
    reply = delete_all(world, user_id="user-0")
    erased = world.contents() == (world.without(lambda m: m.payload["user_id"] == "user-0"),) * 2
    # Then the answer matches what happened: an erasure is never reported to the client as a failed request
    assert (reply.status, erased) == (202, True), reply.text


def test_delete_all_without_filters_is_400_with_mem0s_message(world: World) -> None:
    # Given 3 users x 4 memories in both stores
    # When delete_all is called with no filter
    reply = delete_all(world)
    # Then 400 with mem0's exact wording, and nothing was deleted
    body = error_of(reply, 400)
    assert body["detail"] == (
        "At least one filter is required to delete all memories. If you want to delete all "
        "memories, use the `reset()` method."
    )
    assert body["detail"] == MissingFilter.MESSAGE
    world.expect_intact()


def test_delete_all_with_wildcard_user_is_400_and_deletes_nothing(world: World) -> None:
    # Given 3 users x 4 memories in both stores
    # When user_id="*" is sent (mem0's OpenSearch adapter would match everything)
    reply = delete_all(world, user_id="*")
    # Then 400 and nothing was deleted
    body = error_of(reply, 400, "invalid_request")
    assert "wildcard" in body["detail"]
    world.expect_intact()


def test_delete_all_with_app_id_is_400(world: World) -> None:
    # Given 3 users x 4 memories in both stores
    # When the platform-only app_id filter is sent
    reply = delete_all(world, app_id="app-1")
    # Then 400 and nothing was deleted
    error_of(reply, 400, "invalid_request")
    world.expect_intact()


def test_scoped_key_cannot_delete_all_of_another_user(world: World) -> None:
    # Given user-1's scoped key and user-2's memories
    # When user-1's key asks to delete all of user-2's memories
    reply = delete_all(world, key="user1", user_id="user-2")
    # Then 403 and nothing was deleted
    error_of(reply, 403, "forbidden")
    world.expect_intact()


def test_scoped_key_may_narrow_its_scope_with_agent_id(world: World) -> None:
    # Given user-1's scoped key and user-1's memories of several agents
    # When user-1's key deletes user-1's memories of agent-a only
    reply = delete_all(world, key="user1", user_id="user-1", agent_id="agent-a")
    # Then it is allowed and erases exactly that intersection
    assert reply.status == 202, reply.text
    world.expect_only(
        world.without(lambda m: m.payload["user_id"] == "user-1" and m.payload.get("agent_id") == "agent-a")
    )


# ---- erasures function: batch ------------------------------------------------------------------------------------


def test_batch_delete_erases_the_listed_memories(world: World) -> None:
    # Given three of the 12 memories in both stores
    chosen = [world.data[0].id, world.data[5].id, world.data[9].id]
    # When mem0's client batch-deletes three memories
    reply = batch(world, {"memories": [{"memory_id": m} for m in chosen]})
    # Then 200, six deletions (three per store), and exactly those are gone
    assert reply.status == 200, reply.text
    assert reply.json["message"] == "Successfully deleted 3 memories" and reply.json["deleted"] == 6
    world.expect_only(world.without(lambda m: m.id in chosen))


def test_batch_of_more_than_1000_is_413(world: World) -> None:
    # Given 3 users x 4 memories in both stores
    # When 1001 memories are sent in one batch
    reply = batch(world, {"memories": [{"memory_id": str(uuid.UUID(int=i))} for i in range(1001)]})
    # Then 413 and nothing was deleted
    error_of(reply, 413, "too_large")
    world.expect_intact()


def test_batch_with_one_unknown_id_is_404_and_deletes_nothing(world: World) -> None:
    # Given 3 users x 4 memories in both stores
    # When a batch holds two known ids and one unknown
    body = {
        "memories": [{"memory_id": world.data[0].id}, {"memory_id": str(uuid.uuid4())}, {"memory_id": world.data[1].id}]
    }
    reply = batch(world, body)
    # Then 404 and the known memories are still there (all or nothing)
    error_of(reply, 404, "not_found")
    world.expect_intact()


def test_scoped_batch_touching_another_user_is_404_and_deletes_nothing(world: World) -> None:
    # Given user-1's scoped key, and memories of user-1 and user-2
    # When user-1's key batch-deletes one own memory and one of user-2
    body = {"memories": [{"memory_id": world.of("user-1")[0].id}, {"memory_id": world.of("user-2")[0].id}]}
    reply = batch(world, body, key="user1")
    # Then 404, as for an unknown id, and nothing was deleted
    error_of(reply, 404, "not_found")
    world.expect_intact()


def test_batch_with_the_same_id_twice_counts_one_memory(world: World) -> None:
    """Before the fix: "Successfully deleted 2 memories" for one memory. Decision: distinct ids are counted (a
    repeated id is not refused: mem0's client sends whatever list it is given, and the erasure is the same)."""
    # Given one memory in both stores
    target = world.data[0]
    # When mem0's client batch-deletes it with its id given twice
    reply = batch(world, {"memories": [{"memory_id": target.id}, {"memory_id": target.id}]})
    # Then 200 saying one memory was deleted (one record per store), and only that memory is gone
    assert reply.status == 200, reply.text
    assert reply.json["message"] == "Successfully deleted 1 memories" and reply.json["deleted"] == 2
    world.expect_only(world.without(lambda m: m.id == target.id))


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[]",
        json.dumps({"memories": []}),
        json.dumps({"memories": "x"}),
        json.dumps({"memories": [{"id": "x"}]}),
        json.dumps({"ids": ["x"]}),
        json.dumps({"memories": [{"memory_id": ""}]}),
    ],
    ids=["not-json", "array", "empty-list", "not-a-list", "wrong-item-key", "wrong-key", "empty-id"],
)
def test_malformed_batch_body_is_400_not_422(world: World, body: str) -> None:
    # Given 3 users x 4 memories in both stores
    # When the batch body is malformed
    reply = batch(world, body)
    # Then 400 (mem0's client expects 400 for bad input, not FastAPI-style 422), and nothing was deleted
    error_of(reply, 400)
    world.expect_intact()


# ---- erasures function: entities ---------------------------------------------------------------------------------


def test_entities_lists_users_agents_and_runs_with_counts(world: World) -> None:
    # Given 3 users x 4 memories with agents and runs, in both stores
    # When an admin lists entities
    reply = world.call(erasures_fn, "GET", "/v1/entities/", "/v1/entities")
    # Then every user, agent and run appears with its count of distinct memories (a memory in both stores counts once)
    assert reply.status == 200, reply.text
    found = {(e["type"], e["id"]): e["total_memories"] for e in reply.json["results"]}
    expected: dict[tuple[str, str], int] = {}
    for m in world.data:
        for kind in ("user", "agent", "run"):
            if value := m.payload.get(f"{kind}_id"):
                expected[(kind, value)] = expected.get((kind, value), 0) + 1
    assert found == expected and reply.json["count"] == len(expected)


def test_entities_come_in_pages_linked_by_next_as_mem0s_paginated_answers(world: World) -> None:
    """Before the fix: one answer read every record of every target, however large the stores: no bound to set
    (AttributeError here) and no `next`."""
    # Given 3 users x 4 memories in two targets, and one store request per page
    world.monkeypatch.setattr(reads, "ENTITY_PAGE_REQUESTS", 1)
    # When an admin lists entities, then follows the `next` link it is given
    first = world.call(erasures_fn, "GET", "/v1/entities/", "/v1/entities")
    assert first.status == 200, first.text
    link = urlsplit(first.json["next"])
    query = {k: v[0] for k, v in parse_qs(link.query).items()}
    second = world.call(erasures_fn, "GET", "/v1/entities/", "/v1/entities", query=query)
    # Then the first page holds the first target's entities and an absolute `next` link on the caller's own host and
    # stage; the second holds the second target's and no `next`
    assert (link.scheme, link.netloc, link.path) == ("https", STAGE.domain, f"/{STAGE.name}/v1/entities/")
    assert second.status == 200 and second.json["next"] is None and second.json["previous"] is None
    users = {e["id"]: e["total_memories"] for e in first.json["results"] if e["type"] == "user"}
    assert users == {u: len(world.of(u)) for u in ("user-0", "user-1", "user-2")}
    assert first.json["results"] == second.json["results"] and first.json["count"] == len(first.json["results"])


def test_entities_from_a_made_up_cursor_is_400(world: World) -> None:
    """Before the fix: the parameter was ignored (200 with every entity)."""
    # Given the deployment's two targets
    # When entities are listed from a cursor this API did not give
    reply = world.call(erasures_fn, "GET", "/v1/entities/", "/v1/entities", query={"cursor": "WzksbnVsbF0"})
    # Then 400 naming the cursor
    assert "invalid cursor" in error_of(reply, 400, "invalid_request")["detail"]


def test_scoped_key_sees_only_its_own_entity(world: World) -> None:
    # Given user-1's scoped key and the memories of three users
    # When user-1's key lists entities
    reply = world.call(erasures_fn, "GET", "/v1/entities/", "/v1/entities", "user1")
    # Then only user-1 is listed: no other users, and no agents or runs (which span users)
    assert reply.status == 200, reply.text
    assert [(e["type"], e["id"]) for e in reply.json["results"]] == [("user", "user-1")]
    assert reply.json["results"][0]["total_memories"] == len(world.of("user-1"))


def test_delete_user_entity_is_202_and_erases_the_user(world: World) -> None:
    # Given user-2's memories among the others
    # When mem0's client deletes the user entity user-2
    reply = world.call(
        erasures_fn,
        "DELETE",
        "/v2/entities/user/user-2/",
        "/v2/entities/{entity_type}/{entity_id}",
        path_parameters={"entity_type": "user", "entity_id": "user-2"},
    )
    # Then 202 with a job id and user-2 is gone from both stores
    assert reply.status == 202, reply.text
    assert reply.json["job_id"] and reply.json["message"] == "Entity deleted successfully."
    world.expect_only(world.without(lambda m: m.payload["user_id"] == "user-2"))


def test_delete_entity_of_unknown_type_is_400(world: World) -> None:
    # Given 3 users x 4 memories in both stores
    # When the entity type is not user/agent/run
    reply = world.call(
        erasures_fn,
        "DELETE",
        "/v2/entities/app/user-2/",
        "/v2/entities/{entity_type}/{entity_id}",
        path_parameters={"entity_type": "app", "entity_id": "user-2"},
    )
    # Then 400 and nothing was deleted
    error_of(reply, 400, "invalid_request")
    world.expect_intact()


def test_scoped_key_cannot_delete_another_user_entity(world: World) -> None:
    # Given user-1's scoped key and user-2's memories
    # When user-1's key deletes the user entity user-2
    reply = world.call(
        erasures_fn,
        "DELETE",
        "/v2/entities/user/user-2/",
        "/v2/entities/{entity_type}/{entity_id}",
        "user1",
        path_parameters={"entity_type": "user", "entity_id": "user-2"},
    )
    # Then 403 and nothing was deleted
    error_of(reply, 403)
    world.expect_intact()


# ---- erasures function: jobs ---------------------------------------------------------------------------------------


def test_erasure_with_the_same_idempotency_key_returns_the_same_job(world: World) -> None:
    # Given user-1's memories and an Idempotency-Key
    # When the same erasure is posted twice with one Idempotency-Key
    first = start_erasure(world, {"user_id": "user-1", "reason": "gdpr_art17"}, idempotency_key="req-42")
    second = start_erasure(world, {"user_id": "user-1", "reason": "gdpr_art17"}, idempotency_key="req-42")
    # Then both are 202 with the same job id, and user-1 is erased
    assert first.status == 202 and second.status == 202, (first.text, second.text)
    assert first.json["job_id"] == second.json["job_id"]
    world.expect_only(world.without(lambda m: m.payload["user_id"] == "user-1"))


def test_idempotency_key_reused_for_a_different_scope_is_409(world: World) -> None:
    # Given an erasure of user-1 under key req-7
    assert start_erasure(world, {"user_id": "user-1"}, idempotency_key="req-7").status == 202
    # When the same key is used to erase user-2
    reply = start_erasure(world, {"user_id": "user-2"}, idempotency_key="req-7")
    # Then 409 and user-2 is untouched
    error_of(reply, 409, "job_conflict")
    assert {m.id for m in world.of("user-2")} <= set(m0.s3_contents(world.s3))


def test_dry_run_counts_matches_and_deletes_nothing(world: World) -> None:
    # Given user-0's memories in both stores
    # When a dry-run erasure of user-0 is posted
    reply = start_erasure(world, {"user_id": "user-0", "dry_run": True})
    assert reply.status == 202, reply.text
    # Then the job reports how many memories each store holds for user-0, and nothing was deleted
    job = get_erasure(world, reply.json["job_id"]).json
    assert job["dry_run"] is True and job["status"] == "COMPLETED"
    assert {(p["target"], p["remaining"]) for p in job["progress"]} == {("s3", 4), ("os", 4)}
    world.expect_intact()


def test_completed_job_shows_a_receipt_and_no_raw_ids(world: World) -> None:
    # Given an erasure of user-1, completed
    job_id = start_erasure(world, {"user_id": "user-1"}).json["job_id"]
    # When its status is read
    reply = get_erasure(world, job_id)
    # Then it is COMPLETED with a sealed receipt of the erased count, and user-1's id appears nowhere
    assert reply.status == 200, reply.text
    job = reply.json
    assert job["status"] == "COMPLETED" and job["job_id"] == job_id
    assert job["receipt"]["erased"] == 2 * len(world.of("user-1")) and job["receipt"]["verified_remaining"] == 0
    assert len(job["receipt"]["digest"]) == 64 and job["scope_hash"] == runtime.hasher().scope(
        Scope.of(user_id="user-1")
    )
    assert "user-1" not in reply.text and 'scope"' not in reply.text


def test_scoped_key_reads_its_own_job(world: World) -> None:
    # Given user-1's key started a job
    job_id = start_erasure(world, {"user_id": "user-1"}, key="user1").json["job_id"]
    # When the same key reads it
    reply = get_erasure(world, job_id, key="user1")
    # Then it sees it
    assert reply.status == 200 and reply.json["status"] == "COMPLETED"


def test_unknown_job_is_404(world: World) -> None:
    # Given a jobs table without that job
    # When a job id that does not exist is read
    reply = get_erasure(world, "job-00000000000000000000000000000000")
    # Then 404
    error_of(reply, 404, "job_not_found")


def test_another_keys_job_is_403(world: World) -> None:
    # Given user-1's key started a job
    job_id = start_erasure(world, {"user_id": "user-1"}, key="user1").json["job_id"]
    # When user-2's key reads it
    reply = get_erasure(world, job_id, key="user2")
    # Then 403
    error_of(reply, 403, "forbidden")


def test_cancelling_a_completed_job_is_409(world: World) -> None:
    # Given a completed job
    job_id = start_erasure(world, {"user_id": "user-1"}).json["job_id"]
    # When it is cancelled
    reply = world.call(
        erasures_fn,
        "POST",
        f"/v1/erasures/{job_id}/cancel",
        "/v1/erasures/{job_id}/cancel",
        path_parameters={"job_id": job_id},
    )
    # Then 409, and it stays COMPLETED
    error_of(reply, 409, "job_conflict")
    assert get_erasure(world, job_id).json["status"] == "COMPLETED"


def test_scoped_erasure_of_another_user_is_403(world: World) -> None:
    # Given user-1's scoped key and user-2's memories
    # When user-1's key posts an erasure of user-2
    reply = start_erasure(world, {"user_id": "user-2"}, key="user1")
    # Then 403 and nothing was deleted
    error_of(reply, 403)
    world.expect_intact()


@pytest.mark.parametrize(
    "body",
    [{}, {"user_id": "user-1", "extra": 1}, {"user_id": "user-1", "dry_run": "maybe"}],
    ids=["no-filter", "unknown-field", "bad-type"],
)
def test_invalid_erasure_request_is_400(world: World, body: dict[str, Any]) -> None:
    # Given 3 users x 4 memories in both stores
    # When an erasure request is invalid
    reply = start_erasure(world, body)
    # Then 400 and nothing was deleted
    error_of(reply, 400)
    world.expect_intact()


def test_an_array_of_erasure_requests_is_400_and_erases_nothing(world: World) -> None:
    """Before the fix: 202, and the first scope (user-1) was erased: Powertools reads a list body's first element
    for a model parameter (its rule for form fields), and the second request was dropped silently."""
    # Given 3 users x 4 memories in both stores
    # When two erasure requests are posted as one JSON array
    reply = world.call(
        erasures_fn, "POST", "/v1/erasures", "/v1/erasures", body=[{"user_id": "user-1"}, {"user_id": "user-2"}]
    )
    # Then 400 naming the problem, and nothing was erased
    body = error_of(reply, 400, "invalid_request")
    assert "one JSON object, not an array" in body["detail"]
    world.expect_intact()


def get_event(world: World, event_id: str, key: str = "admin") -> Reply:
    return world.call(
        erasures_fn,
        "GET",
        f"/v1/event/{event_id}/",
        "/v1/event/{event_id}",
        key,
        path_parameters={"event_id": event_id},
    )


def test_mem0_deletes_answer_with_an_event_id_that_reads_as_a_mem0_event(world: World) -> None:
    """Before the fix: the 202 bodies had no `event_id`, and `GET /v1/event/{event_id}/` was 404 no_route."""
    # Given mem0's filtered delete of user-1 and its entity delete of user-2
    deleted = delete_all(world, user_id="user-1")
    entity = world.call(
        erasures_fn,
        "DELETE",
        "/v2/entities/user/user-2/",
        "/v2/entities/{entity_type}/{entity_id}",
        path_parameters={"entity_type": "user", "entity_id": "user-2"},
    )
    # When each answer's event is read
    for reply in (deleted, entity):
        assert reply.status == 202, reply.text
        assert reply.json["event_id"] == reply.json["job_id"]
        event = get_event(world, reply.json["event_id"])
        # Then it is mem0's event shape, SUCCEEDED (the job COMPLETED), with no raw id anywhere
        assert event.status == 200, event.text
        body = event.json
        assert body["id"] == reply.json["job_id"] and body["event_type"] == "DELETE"
        assert body["status"] == "SUCCEEDED" and body["metadata"]["job_status"] == "COMPLETED"
        assert body["latency"] is not None and body["latency"] >= 0
        assert "user-1" not in event.text and "user-2" not in event.text


@pytest.mark.parametrize(
    ("job_status", "event_status"),
    [
        ("QUEUED", "PENDING"),
        ("RUNNING", "RUNNING"),
        ("COMPLETED", "SUCCEEDED"),
        ("FAILED", "FAILED"),
        ("CANCELLED", "FAILED"),
    ],
)
def test_an_event_maps_the_jobs_status_to_mem0s(world: World, job_status: str, event_status: str) -> None:
    """Before the fix: no event route (404 no_route). CANCELLED is FAILED: the erasure asked for did not happen."""
    # Given a job, as the launcher reports it in each of its statuses
    job_id = delete_all(world, user_id="user-1").json["job_id"]
    real = JobIntake.get
    world.monkeypatch.setattr(
        JobIntake, "get", lambda self, i: real(self, i).model_copy(update={"status": JobStatus(job_status)})
    )
    # When its event is read
    reply = get_event(world, job_id)
    # Then the status is mem0's
    assert reply.status == 200, reply.text
    assert reply.json["status"] == event_status and reply.json["metadata"]["job_status"] == job_status


def test_an_event_is_read_with_the_jobs_own_permission(world: World) -> None:
    """Before the fix: 404 no_route for every key."""
    # Given a job started by user-1's key
    job_id = start_erasure(world, {"user_id": "user-1"}, key="user1").json["job_id"]
    # When user-1's key, user-2's key and an admin read its event, and an unknown event is read
    own, other, admin = (get_event(world, job_id, key=k) for k in ("user1", "user2", "admin"))
    unknown = get_event(world, "job-00000000000000000000000000000000")
    # Then as for GET /v1/erasures/{job_id}: the starter and admins see it, another key is 403, an unknown id 404
    assert (own.status, admin.status) == (200, 200)
    error_of(other, 403, "forbidden")
    error_of(unknown, 404, "job_not_found")


def test_an_erasure_request_erases_a_user_whose_id_has_a_star_and_is_longer_than_1024_characters(world: World) -> None:
    """Before the fix the body was refused: `max_length` 1024 on user_id, then "wildcard characters (* ?) are not
    allowed". A URL cannot carry such an id through API Gateway (query and path ids stay at 1,024 characters): the
    JSON body does."""
    # Given memories of a user whose id mem0 accepted, and of a user whose id differs by its last character
    user, twin = "u*" * 750, "u*" * 749 + "uX"
    extra = [m0.memory(f"note {i}", user_id=u) for i, u in enumerate([user, user, twin])]
    m0.write(world.s3, extra)
    m0.write(world.os_, extra)
    world.data += extra
    # When an erasure of that user is posted, and one of an id longer than 8,192 characters
    reply = start_erasure(world, {"user_id": user})
    too_long = start_erasure(world, {"user_id": "u" * 8193})
    # Then the user's two memories are gone and nothing else; the overlong id is refused
    assert reply.status == 202, reply.text
    world.expect_only(world.without(lambda m: m.payload["user_id"] == user))
    error_of(too_long, 400)


# ---- reset function ----------------------------------------------------------------------------------------------


def test_reset_with_a_scoped_key_is_403(world: World) -> None:
    # Given a deployment with reset enabled
    world.deploy({**world.config, "allow_reset": True})
    # When a non-admin key asks for a reset
    reply = reset(world, {"target": "s3", "confirm": "s3"}, key="user1")
    # Then 403 and nothing was deleted
    error_of(reply, 403, "forbidden")
    world.expect_intact()


def test_reset_while_disabled_is_403_even_for_admin(world: World) -> None:
    # Given allow_reset is false (the default)
    # When an admin asks for a reset
    reply = reset(world, {"target": "s3", "confirm": "s3"})
    # Then 403 and nothing was deleted
    body = error_of(reply, 403, "reset_not_allowed")
    assert "allow_reset" in body["detail"]
    world.expect_intact()


def test_reset_with_a_mismatched_confirmation_is_403(world: World) -> None:
    # Given a deployment with reset enabled
    world.deploy({**world.config, "allow_reset": True})
    # When the confirmation does not name the target
    reply = reset(world, {"target": "s3", "confirm": "os"})
    # Then 403 and nothing was deleted
    error_of(reply, 403, "reset_not_allowed")
    world.expect_intact()


def test_reset_of_an_unknown_target_is_400(world: World) -> None:
    # Given a deployment with reset enabled
    world.deploy({**world.config, "allow_reset": True})
    # When the target is not configured
    reply = reset(world, {"target": "nope", "confirm": "nope"})
    # Then 400
    error_of(reply, 400, "unknown_target")
    world.expect_intact()


def test_reset_with_a_malformed_body_is_400(world: World) -> None:
    # Given a deployment with reset enabled
    world.deploy({**world.config, "allow_reset": True})
    # When the body lacks the confirmation
    reply = reset(world, {"target": "s3"})
    # Then 400 and nothing was deleted
    error_of(reply, 400, "invalid_request")
    world.expect_intact()


def test_reset_enabled_confirmed_by_admin_empties_only_that_target(world: World) -> None:
    # Given a deployment with reset enabled
    world.deploy({**world.config, "allow_reset": True})
    # When an admin resets target s3, confirming with its name
    reply = reset(world, {"target": "s3", "confirm": "s3"})
    # Then 200, S3 Vectors is empty and OpenSearch is untouched
    assert reply.status == 200, reply.text
    assert reply.json["target"] == "s3"
    s3, os_ = world.contents()
    assert s3 == {} and os_ == {m.id: m.payload for m in world.data}


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"user_id": ["user-0"], "metadata": ["x"]}, "metadata"),
        ({"user_id": ["user-0"], "app_id": ["app"]}, "app_id"),
        ({"user_id": ["user-0"], "userid": ["user-1"]}, "userid"),
        ({"user_id": ["user-0", "user-1"]}, "user_id"),  # refused by validation: a filter is one string
    ],
)
def test_delete_all_refuses_parameters_that_would_silently_widen_it(
    world: World, query: dict[str, list[str]], named: str
) -> None:
    # Given a filtered delete carrying an extra, misspelt or repeated parameter (as API Gateway delivers it)
    # When it reaches the handler
    reply = world.call(erasures_fn, "DELETE", "/v1/memories/", "/v1/memories", query=query)
    # Then it is refused naming the parameter, and nothing is erased
    body = error_of(reply, 400, "invalid_request")
    assert named in body["detail"]
    world.expect_intact()
