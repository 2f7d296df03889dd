"""The privacy scan of traces (issue #11): in Lambda, with tracing on (the template's `Tracing: Active`), every
subsegment the X-Ray SDK sends to the daemon is captured at the wire (a UDP socket standing in for the X-Ray daemon)
while the handlers serve requests carrying secret ids and texts, and scanned for them. A trace is read by whoever
may read the account's traces, not by the caller: nothing in it is the caller's own read.

The handlers run in a fresh interpreter (the tracer is chosen when `memerase.observability` is imported), over moto
server and osmem-server, with data written by mem0ai 2.2.1's own classes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memerase.principal import Principal
from memerase_local import proxy_events
from memerase_local.proxy_events import ProxyRequest, Stage
from tests.integration.test_triggers import eventbridge_event, sqs_event
from tests.support import mem0_data as m0
from tests.support.privacy import Captured, leaks, report
from tests.support.targets import create_tables, memerase_config

ROOT = Path(__file__).resolve().parents[2]
USER, OTHER, JOB_USER = "secret-user-a81c3e@example.com", "secret-user-5f02d9@example.com", "secret-user-c7d41b@x.org"
AGENT, TEXT, UNKNOWN_ID = "secret-agent-e93a07", "zeta-9931", "secret-memory-id-41d7aa"
TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
INVOKE = """
import json, sys
from memerase_local.handlers import LambdaContext, handler_of
outcomes = []
for function, event in json.load(open(sys.argv[1])):
    try:
        response = handler_of(function)(event, LambdaContext(function))
        outcomes.append(str(response.get("statusCode", "ok")))
    except Exception as exc:
        outcomes.append(type(exc).__name__)
json.dump(outcomes, open(sys.argv[2], "w"))
"""


class Daemon:
    """The X-Ray daemon's UDP endpoint: every datagram the SDK sends."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.datagrams: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self.socket.getsockname()
        return f"{host}:{port}"

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                self.datagrams.append(self.socket.recv(65_536).decode("utf-8", errors="replace"))
            except TimeoutError:
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.socket.close()

    def subsegments(self) -> list[dict[str, Any]]:
        """The documents sent (each datagram is a header line, then one segment or subsegment)."""
        return [json.loads(d.split("\n", 1)[1]) for d in self.datagrams if "\n" in d]


@pytest.fixture
def daemon() -> Iterator[Daemon]:
    listening = Daemon()
    yield listening
    listening.close()


def api(function: str, method: str, path: str, resource: str, **request: Any) -> tuple[str, dict[str, Any]]:
    """An API Gateway proxy event for `function`, as an admin key's request arrives after the authorizer."""
    headers = {"Content-Type": "application/json", "Host": "abcdef.execute-api.us-east-1.amazonaws.com"}
    proxy = ProxyRequest(method, path, resource, headers, **request)
    context = {**Principal(key_id="key_ops", admin=True).context(), "principalId": "key_ops"}
    return function, proxy_events.rest_event(proxy, Stage(name="prod"), context)


def test_traces_in_lambda_carry_no_secret_id_or_text(aws: str, osmem_url: str, daemon: Daemon, tmp_path: Path) -> None:
    # Given memories of secret users (one with a secret agent) written by mem0's own classes in both stores
    data = [m0.memory(f"the secret plan {TEXT} {i}", user_id=u) for u in (USER, OTHER, JOB_USER) for i in range(2)]
    data.append(m0.memory(f"agent note {TEXT}", user_id=OTHER, agent_id=AGENT))
    m0.seed(osmem_url, data)
    create_tables()
    one, batch = data[0], [data[2], data[3]]
    calls = [
        api("api_erasures", "GET", "/v1/entities/", "/v1/entities"),
        api(
            "api_memories",
            "DELETE",
            f"/v1/memories/{one.id}/",
            "/v1/memories/{memory_id}",
            path_parameters={"memory_id": one.id},
        ),
        api(
            "api_memories",
            "GET",
            f"/v1/memories/{one.id}/history/",
            "/v1/memories/{memory_id}/history",
            path_parameters={"memory_id": one.id},
        ),
        api(
            "api_memories",
            "DELETE",
            f"/v1/memories/{UNKNOWN_ID}/",
            "/v1/memories/{memory_id}",
            path_parameters={"memory_id": UNKNOWN_ID},
        ),
        api(
            "api_erasures", "DELETE", "/v1/batch/", "/v1/batch", body={"memories": [{"memory_id": m.id} for m in batch]}
        ),
        api("api_erasures", "POST", "/v1/erasures", "/v1/erasures", body={"user_id": JOB_USER}),
        api("api_erasures", "DELETE", "/v1/memories/", "/v1/memories", query={"user_id": [USER], "email": [TEXT]}),
        ("sqs_erasure", sqs_event(json.dumps({"agent_id": AGENT}), json.dumps({"user_id": USER, "note": TEXT}))),
        ("scheduled_erasure", eventbridge_event({"user_id": f"{USER} {TEXT}"}, event_id="evt-bad")),
    ]
    (tmp_path / "calls.json").write_text(json.dumps(calls))
    env = {k: v for k, v in os.environ.items() if k != "POWERTOOLS_TRACE_DISABLED"}
    env.update(
        LAMBDA_TASK_ROOT=str(ROOT),
        AWS_LAMBDA_FUNCTION_NAME="memerase",
        AWS_XRAY_DAEMON_ADDRESS=daemon.address,
        _X_AMZN_TRACE_ID=TRACE_ID,
        MEMERASE_CONFIG=json.dumps(memerase_config(osmem_url, jobs={})),
    )

    # When the handlers serve those requests and messages in Lambda, traced
    done = subprocess.run(
        [sys.executable, "-c", INVOKE, str(tmp_path / "calls.json"), str(tmp_path / "outcomes.json")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = json.loads((tmp_path / "outcomes.json").read_text())
    assert outcomes == ["200", "200", "200", "404", "200", "202", "400", "ok", "InvalidRequest"], outcomes
    daemon.close()

    # Then the SDK sent the handlers' subsegments (with their AWS and HTTP calls) to the daemon
    subsegments = daemon.subsegments()
    names = [s.get("name") for s in subsegments]
    assert names.count("## handler") == len(calls), names
    assert {"dynamodb", "s3vectors"} <= set(names), names
    # And none of them carries a secret id, a memory id or a memory's text, raw or encoded
    captured = Captured()
    for datagram in daemon.datagrams:
        captured.add("trace", datagram)
    found = leaks(captured, [USER, OTHER, JOB_USER, AGENT, TEXT, UNKNOWN_ID, *(m.id for m in data)])
    assert found == [], report(found)
