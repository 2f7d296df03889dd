"""Who deleted what (issue #11, item 9): every erasure request through the API logs the API key's id (never the key)
and API Gateway's request id; memerase's own audit rows name the key's id (`actor_id`). Through the API's Lambda
handlers over moto server and osmem-server (the World of test_api_handlers: 3 users x 4 memories, inline jobs)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from memerase import runtime
from memerase.history import HistoryStore
from memerase.observability import logger
from tests.integration import test_api_handlers as harness
from tests.integration.test_api_handlers import World, batch, delete_all, delete_memory, erasures_fn, reset_fn
from tests.support.targets import HISTORY_TABLE

world = harness.world  # the fixtures
lambda_context = harness.lambda_context


def key_id(world: World, key: str) -> str:
    return runtime.api_keys().authenticate(f"Token {key}").key_id


class Captured(logging.Handler):
    """memerase's log lines as its Logger formats them (Powertools' handler writes to the stdout it found at import,
    out of capsys' reach)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logger.registered_formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def logs() -> Iterator[Captured]:
    captured = Captured()
    logger.addHandler(captured)
    yield captured
    logger.removeHandler(captured)


def audit_lines(printed: str) -> list[dict[str, Any]]:
    """The structured log lines of erasure requests among what the handlers printed."""
    lines = []
    for line in printed.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("message") == "erasure request":
            lines.append(entry)
    return lines


def actors(memory_ids: list[str]) -> set[str | None]:
    history = HistoryStore(HISTORY_TABLE)
    return {row["actor_id"] for m in memory_ids for row in history.history(m) if row["event"] == "DELETE"}


def test_single_and_batch_deletes_log_the_key_id_and_request_id_and_never_the_key(
    world: World, logs: Captured, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a memory of user-1 and two of user-2
    own, others = world.of("user-1")[0], world.of("user-2")[:2]
    capsys.readouterr()
    # When user-1's key deletes its memory and the admin key batch-deletes user-2's two
    assert delete_memory(world, own.id, key="user1").status == 200
    body = {"memories": [{"memory_id": m.id} for m in others]}
    assert batch(world, body).status == 200
    printed = capsys.readouterr()
    printed_all = logs.text + printed.out + printed.err
    # Then one audit line per request names the key's id and the request's id (API Gateway's, the correlation id)
    lines = audit_lines(logs.text)
    assert [(line["action"], line["key_id"]) for line in lines] == [
        ("delete_memory", key_id(world, world.user1_key)),
        ("batch_delete", key_id(world, world.admin_key)),
    ]
    assert all(line["request_id"] and line["request_id"] == line["correlation_id"] for line in lines)
    assert [line["deleted"] for line in lines] == [2, 4]
    # And no key, no memory id and no user id is printed anywhere
    for secret in (world.user1_key, world.admin_key, own.id, *(m.id for m in others), "user-2"):
        assert secret not in printed_all


def test_audit_rows_name_the_key_that_erased(world: World) -> None:
    # Given a memory of user-1, a memory of user-2, and user-3's memories
    own, other = world.of("user-1")[0], world.of("user-2")[0]
    # When user-1's key deletes its memory, the admin key batch-deletes user-2's, and an admin job erases user-0
    assert delete_memory(world, own.id, key="user1").status == 200
    assert batch(world, {"memories": [{"memory_id": other.id}]}).status == 200
    assert delete_all(world, user_id="user-0").status == 202
    # Then each DELETE row's actor_id is the id of the key that erased it
    assert actors([own.id]) == {key_id(world, world.user1_key)}
    assert actors([other.id]) == {key_id(world, world.admin_key)}
    assert actors([m.id for m in world.of("user-0")]) == {key_id(world, world.admin_key)}


def test_jobs_started_cancelled_resumed_and_a_reset_are_logged_with_the_key_id(
    world: World, logs: Captured, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a deployment that allows reset
    world.deploy({**world.config, "allow_reset": True})
    capsys.readouterr()
    # When user-1's key erases its user (a job), then asks to cancel and resume it, and the admin resets a target
    job_id = delete_all(world, key="user1", user_id="user-1").json["job_id"]
    for action in ("cancel", "resume"):
        path = f"/v1/erasures/{job_id}/{action}"
        world.call(
            erasures_fn, "POST", path, f"/v1/erasures/{{job_id}}/{action}", "user1", path_parameters={"job_id": job_id}
        )
    assert world.call(reset_fn, "POST", "/v1/reset", "/v1/reset", body={"target": "s3", "confirm": "s3"}).status == 200
    printed = capsys.readouterr()
    # Then the job's start and the reset are logged with the key's id and the request id (a cancel or resume of a
    # completed job is refused, and logs nothing as an erasure)
    lines = audit_lines(logs.text)
    assert [(line["action"], line["key_id"]) for line in lines] == [
        ("start_job", key_id(world, world.user1_key)),
        ("reset", key_id(world, world.admin_key)),
    ]
    assert lines[0]["job_id"] == job_id and all(line["request_id"] for line in lines)
    everything = logs.text + printed.out + printed.err
    assert world.user1_key not in everything and world.admin_key not in everything
