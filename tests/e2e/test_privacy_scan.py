"""The privacy scan (issue #11, "Privacy"): every operation is run with known secret user, agent and run ids and
memory texts — the HTTP API through its Lambda handlers and the project's authorizer, erasure jobs through moto's
Step Functions interpreter running the real ASL, the SQS and EventBridge triggers, the CLI — and everything they
leave behind is captured and scanned for those secrets, raw and encoded (JSON-escaped, URL-encoded, any case):

- every log record (Powertools' logger and any other logger at WARNING or above) and everything printed (stdout and
  stderr: Powertools' EMF metrics, the CLI's output);
- every item of the jobs table (job records, receipts, work-item rows, locks, idempotency keys) and of the history
  (audit) table;
- every EventBridge event memerase published (a rule routes them to a queue);
- the history of every Step Functions execution (task inputs, outputs, errors);
- error messages (the Lambda error a refused trigger message raises) and every HTTP body that is not the caller's
  own read of its data.

Memory ids are raw ids too (issue #11: "never memory text or raw ids" in logs): they may appear only where the
product keys on them — the audit table's `memory_id`, and the caller's own reads (a memory's history). The data is
written by mem0ai 2.2.1's own S3Vectors and OpenSearchDB classes. Where the product must answer with the secrets
(GET of an entity listing or a memory's history, an error naming the id the caller itself sent, the CLI answering
the operator about what the operator typed), that output is exempt — only for the secrets of that very request.

Not scanned: the stores themselves, and the API-keys table (a scoped key's scope is its user id, by design).
Traces: tracing is off in the tests (Powertools' rule outside Lambda): tests/integration/test_privacy_traces.py
scans them in Lambda.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock
from urllib.parse import quote

import boto3
import pytest

from memerase.engine import Eraser
from memerase.keys import ApiKeyStore
from memerase.models import Scope
from memerase.observability import logger as powertools_logger
from memerase.stores.factory import entity_collection_name
from memerase_local import proxy_events
from memerase_local.handlers import LambdaContext, handler_of
from memerase_local.proxy_events import ProxyRequest, Stage
from tests.support import mem0_data as m0
from tests.support.lambda_events import events_queue
from tests.support.privacy import Captured, leaks, report
from tests.support.sfn_harness import StepFunctionsHarness, step_functions
from tests.support.targets import HISTORY_TABLE, JOBS_TABLE, KEYS_TABLE, create_tables, memerase_config

USERS = {
    "single": "secret-user-7f3a9c@example.com",  # one memory deleted by id, then two in a batch (a scoped key)
    "job": "secret-user-2b8d41@example.com",  # POST /v1/erasures, then its status
    "failed": "secret-user-e5c07a@example.com",  # a job whose worker crashes: FAILED, then resumed
    "cancelled": "secret-user-91fd3e@example.com",  # a job cancelled while held in Plan Work, then resumed
    "mem0": "secret-user-4c6a58@example.com",  # mem0's DELETE /v1/memories/?user_id=
    "entity": "secret-user-d27b90@example.com",  # DELETE /v2/entities/user/<id>/
    "cli": "secret-user-0a1e77@example.com",  # memerase delete, delete-all, jobs
    "bystander": "secret-user-63f5c2@example.com",  # never erased; owns the agent's and the run's memories
}
AGENT = "secret-agent-5d8e1b"  # erased through the SQS trigger
RUN = "secret-run-c09f44"  # erased through the EventBridge trigger
TEXT = "zeta-9931"  # in every memory text and entity name
UNKNOWN_ID = "secret-memory-id-6e0b2f"  # a memory id no store holds, asked for by the callers
IDEMPOTENCY = "ticket-secret-8e21f0"  # an Idempotency-Key header
ERASED = [u for k, u in USERS.items() if k != "bystander"]
STAGE = Stage(name="prod", api_id="abcdef", domain="abcdef.execute-api.us-east-1.amazonaws.com")


# ---- what is captured ---------------------------------------------------------------------------------------------


class Records(logging.Handler):
    """Every log record, with its extra fields and exception text, as one line of text."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = {k: v for k, v in vars(record).items() if k not in ("exc_info", "args", "msg")}
        exc = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        self.lines.append(f"{record.getMessage()} {json.dumps(fields, default=str)} {exc}")


@pytest.fixture
def log_records() -> Iterator[Records]:
    """Powertools' logger at DEBUG (the most the template's LogLevel allows; it does not propagate) and every other
    logger at WARNING or above (what a Lambda's root logger passes on); the logger's level is restored after."""
    records = Records()
    root = logging.getLogger()
    quiet = Records()
    quiet.setLevel(logging.WARNING)
    quiet.lines = records.lines
    level = powertools_logger.log_level
    powertools_logger.setLevel(logging.DEBUG)
    powertools_logger.addHandler(records)
    root.addHandler(quiet)
    try:
        yield records
    finally:
        powertools_logger.removeHandler(records)
        root.removeHandler(quiet)
        powertools_logger.setLevel(level)


# ---- the deployment and its callers --------------------------------------------------------------------------------


@dataclass
class World:
    harness: StepFunctionsHarness
    captured: Captured
    data: list[m0.Memory]
    admin_key: str
    scoped_key: str
    events_url: str
    ctx: LambdaContext = field(default_factory=LambdaContext)

    def mine(self, user: str) -> list[m0.Memory]:
        return [m for m in self.data if m.payload.get("user_id") == USERS[user] and "agent_id" not in m.payload]

    def call(
        self,
        function: str,
        method: str,
        path: str,
        resource: str,
        *,
        key: str | None = None,
        own: frozenset[str] = frozenset(),
        **request: Any,
    ) -> tuple[int, Any]:
        """One HTTP request through the authorizer and the API function, as API Gateway runs them. The body is
        captured; `own` are the secrets the caller may see in it (what it sent, what it reads of its own data)."""
        raw_key = key or self.admin_key
        headers = {"Content-Type": "application/json", "Host": STAGE.domain, "Authorization": f"Token {raw_key}"}
        headers.update(request.pop("headers", None) or {})
        proxy = ProxyRequest(method, path, resource, headers, **request)
        authorizer_event = proxy_events.authorizer_event(proxy, STAGE)
        try:
            policy = handler_of("authorizer")(authorizer_event, self.ctx)
        except Exception as refused:  # API Gateway answers 401 itself
            self.captured.add(f"error authorizer {method} {resource}", f"{refused!s} {refused!r}")
            return 401, None
        context = {**policy["context"], "principalId": policy["principalId"]}
        response = handler_of(function)(proxy_events.rest_event(proxy, STAGE, context), self.ctx)
        body = response.get("body") or ""
        self.captured.add(f"http {method} {resource} {response['statusCode']}", body, own)
        return response["statusCode"], json.loads(body) if body else None

    def wait_for_executions(self, timeout: float = 120) -> None:
        sfn = boto3.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            executions = sfn.list_executions(stateMachineArn=self.harness.state_machine_arn)["executions"]
            if all(e["status"] != "RUNNING" for e in executions):
                return
            assert time.monotonic() < deadline, "executions still running"
            time.sleep(0.1)

    def job(self, job_id: str) -> dict[str, Any]:
        self.wait_for_executions()
        status, view = self.call(
            "api_erasures", "GET", f"/v1/erasures/{job_id}", "/v1/erasures/{job_id}", path_parameters={"job_id": job_id}
        )
        assert status == 200, view
        return dict(view)


def seed(osmem_url: str) -> list[m0.Memory]:
    """Three memories per user (agent- and run-less), three of the bystander with the secret agent, three with the
    secret run, and one entity record per user linking its memories — written by mem0's own classes."""
    memories = [m0.memory(f"the secret plan {TEXT}, part {i}", user_id=u) for u in USERS.values() for i in range(3)]
    memories += [m0.memory(f"agent note {TEXT} {i}", user_id=USERS["bystander"], agent_id=AGENT) for i in range(3)]
    memories += [m0.memory(f"run note {TEXT} {i}", user_id=USERS["bystander"], run_id=RUN) for i in range(3)]
    entities = [
        m0.entity(f"Project {TEXT}", [m.id for m in memories if m.payload["user_id"] == u], user_id=u)
        for u in USERS.values()
    ]
    m0.write(m0.s3_store(), memories)
    m0.write(m0.s3_store(index=entity_collection_name("s3_vectors", m0.INDEX)), entities)
    m0.write(m0.opensearch_store(osmem_url), memories)
    m0.write(m0.opensearch_store(osmem_url, index=entity_collection_name("opensearch", m0.INDEX)), entities)
    return memories


@pytest.fixture
def world(osmem_url: str, log_records: Records) -> Iterator[World]:
    config = memerase_config(osmem_url, jobs={"time_margin_ms": 1000}, api={}, allow_reset=True)
    with step_functions(config) as harness:
        create_tables(keys=KEYS_TABLE)
        data = seed(osmem_url)
        keys = ApiKeyStore(KEYS_TABLE)
        admin_key, _ = keys.create("ops", admin=True)
        scoped_key, _ = keys.create("tenant", scopes=[Scope.of(user_id=USERS["single"])])
        yield World(harness, Captured(), data, admin_key, scoped_key, events_queue())


# ---- the operations ---------------------------------------------------------------------------------------------


def run_api(world: World) -> None:
    """Handshake, entity listing, single and batch delete with a scoped key, a memory's history."""
    single = USERS["single"]
    assert world.call("api_memories", "GET", "/v1/ping/", "/v1/ping", key=world.scoped_key)[0] == 200
    everyone = frozenset(USERS.values()) | {AGENT, RUN}
    assert world.call("api_erasures", "GET", "/v1/entities/", "/v1/entities", own=everyone)[0] == 200
    status, listed = world.call(
        "api_erasures", "GET", "/v1/entities/", "/v1/entities", key=world.scoped_key, own=frozenset({single})
    )
    assert status == 200 and [e["id"] for e in listed["results"]] == [single]
    first, *rest = world.mine("single")
    path = f"/v1/memories/{quote(first.id)}/"
    status, _ = world.call(
        "api_memories",
        "DELETE",
        path,
        "/v1/memories/{memory_id}",
        key=world.scoped_key,
        path_parameters={"memory_id": first.id},
    )
    assert status == 200
    status, _ = world.call(
        "api_memories",
        "GET",
        f"{path}history/",
        "/v1/memories/{memory_id}/history",
        own=frozenset({first.id}),
        path_parameters={"memory_id": first.id},
    )
    assert status == 200
    body = {"memories": [{"memory_id": m.id} for m in rest]}
    status, _ = world.call("api_erasures", "DELETE", "/v1/batch/", "/v1/batch", key=world.scoped_key, body=body)
    assert status == 200


def run_jobs(world: World) -> list[str]:
    """Erasure jobs through the API and moto's Step Functions: one plain, one whose worker crashes (FAILED) then
    resumed, one cancelled then resumed, and mem0's own bulk routes. Returns the job ids."""
    job_ids = []
    status, accepted = world.call(
        "api_erasures",
        "POST",
        "/v1/erasures",
        "/v1/erasures",
        body={"user_id": USERS["job"]},
        headers={"Idempotency-Key": IDEMPOTENCY},
    )
    assert status == 202, accepted
    job_ids.append(accepted["job_id"])
    assert world.job(accepted["job_id"])["status"] == "COMPLETED"

    def crash(_event: dict[str, Any]) -> None:
        raise RuntimeError("injected worker crash")

    world.harness.faults["job_erase"] = crash  # every attempt, until the state machine gives up
    status, accepted = world.call(
        "api_erasures", "POST", "/v1/erasures", "/v1/erasures", body={"user_id": USERS["failed"]}
    )
    assert status == 202, accepted
    job_ids.append(accepted["job_id"])
    assert world.job(accepted["job_id"])["status"] == "FAILED"
    world.harness.faults.pop("job_erase")
    resume = f"/v1/erasures/{accepted['job_id']}/resume"
    params = {"job_id": accepted["job_id"]}
    assert world.call("api_erasures", "POST", resume, "/v1/erasures/{job_id}/resume", path_parameters=params)[0] == 202
    assert world.job(accepted["job_id"])["status"] == "COMPLETED"

    gate = threading.Event()
    world.harness.faults["job_plan"] = lambda _event: (gate.wait(30), None)[1]
    try:
        status, accepted = world.call(
            "api_erasures", "POST", "/v1/erasures", "/v1/erasures", body={"user_id": USERS["cancelled"]}
        )
        assert status == 202, accepted
        params = {"job_id": accepted["job_id"]}
        cancel = f"/v1/erasures/{accepted['job_id']}/cancel"
        status, view = world.call(
            "api_erasures", "POST", cancel, "/v1/erasures/{job_id}/cancel", path_parameters=params
        )
        assert status == 200 and view["status"] == "CANCELLED", view
    finally:
        gate.set()
    world.wait_for_executions()
    world.harness.faults.pop("job_plan")
    resume = f"/v1/erasures/{accepted['job_id']}/resume"
    assert world.call("api_erasures", "POST", resume, "/v1/erasures/{job_id}/resume", path_parameters=params)[0] == 202
    job_ids.append(accepted["job_id"])
    assert world.job(accepted["job_id"])["status"] == "COMPLETED"

    status, accepted = world.call(
        "api_erasures", "DELETE", "/v1/memories/", "/v1/memories", query={"user_id": [USERS["mem0"]]}
    )
    assert status == 202, accepted
    job_ids.append(accepted["job_id"])
    entity = quote(USERS["entity"], safe="")
    status, accepted = world.call(
        "api_erasures",
        "DELETE",
        f"/v2/entities/user/{entity}/",
        "/v2/entities/{entity_type}/{entity_id}",
        path_parameters={"entity_type": "user", "entity_id": entity},
    )
    assert status == 202, accepted
    job_ids.append(accepted["job_id"])
    for job_id in job_ids[-2:]:
        assert world.job(job_id)["status"] == "COMPLETED"
    return job_ids


def run_refusals(world: World) -> None:
    """Bad input carrying secrets, and requests outside a scoped key's scope: every one refused; then an unexpected
    error whose message quotes data."""
    bystander, single = USERS["bystander"], USERS["single"]
    foreign = next(m for m in world.data if m.payload["user_id"] == bystander)
    erasures = ("api_erasures", "POST", "/v1/erasures", "/v1/erasures")
    refusals: list[tuple[tuple[str, ...], dict[str, Any], frozenset[str]]] = [
        (erasures, {"body": {"user_id": bystander, "note": f"the secret plan {TEXT}"}}, frozenset()),
        (erasures, {"body": {"user_id": [bystander], "agent_id": {"x": AGENT}}}, frozenset()),
        (erasures, {"body": f"user_id={bystander}&{TEXT}", "headers": {"Content-Type": "text/plain"}}, frozenset()),
        (erasures, {"body": f'{{"user_id": "{bystander}", "run_id": "{TEXT}'}, frozenset()),
        (erasures, {"body": {"user_id": f"{bystander} {TEXT}"}}, frozenset()),
        (erasures, {"body": {"user_id": bystander}, "key": world.scoped_key}, frozenset()),
        (
            ("api_erasures", "DELETE", "/v1/memories/", "/v1/memories"),
            {"query": {"user_id": [single], "email": [bystander], "app_id": [TEXT]}},
            frozenset(),
        ),
        (
            ("api_erasures", "DELETE", "/v1/memories/", "/v1/memories"),
            {"query": {"user_id": [bystander, single]}},
            frozenset(),
        ),
        (
            ("api_erasures", "DELETE", "/v1/batch/", "/v1/batch"),
            {"body": {"memories": [{"memory_id": foreign.id}]}, "key": world.scoped_key},
            frozenset({foreign.id}),
        ),
        (
            ("api_erasures", "DELETE", "/v1/batch/", "/v1/batch"),
            {"body": {"memories": [{"memory_id": TEXT * 200}]}},
            frozenset(),
        ),
        (
            ("api_memories", "DELETE", f"/v1/memories/{foreign.id}/", "/v1/memories/{memory_id}"),
            {"path_parameters": {"memory_id": foreign.id}, "key": world.scoped_key},
            frozenset({foreign.id}),
        ),
        (
            ("api_memories", "GET", f"/v1/memories/{foreign.id}/history/", "/v1/memories/{memory_id}/history"),
            {"path_parameters": {"memory_id": foreign.id}, "key": world.scoped_key},
            frozenset({foreign.id}),
        ),
        (
            ("api_memories", "DELETE", f"/v1/memories/{UNKNOWN_ID}/", "/v1/memories/{memory_id}"),
            {"path_parameters": {"memory_id": UNKNOWN_ID}},
            frozenset({UNKNOWN_ID}),
        ),
        (
            ("api_erasures", "GET", f"/v1/erasures/{UNKNOWN_ID}", "/v1/erasures/{job_id}"),
            {"path_parameters": {"job_id": UNKNOWN_ID}},
            frozenset({UNKNOWN_ID}),
        ),
        (
            ("api_reset", "POST", "/v1/reset", "/v1/reset"),
            {"body": {"target": "os", "confirm": TEXT}},
            frozenset(),
        ),
        (("api_memories", "GET", "/v1/ping/", "/v1/ping"), {"key": f"mek_{bystander}"}, frozenset()),
    ]
    for (function, method, path, resource), request, own in refusals:
        status, body = world.call(function, method, path, resource, own=own, **request)
        assert status in (400, 401, 403, 404, 413), (path, status, body)

    def failing(*_args: Any) -> None:  # a library error that quotes the data it was given
        raise RuntimeError(f"unexpected payload {{'user_id': '{bystander}', 'data': 'the secret plan {TEXT}'}}")

    with mock.patch.object(Eraser, "entities", failing):
        status, body = world.call("api_erasures", "GET", "/v1/entities/", "/v1/entities")
    assert status == 500, body


def run_triggers(world: World) -> None:
    """The SQS trigger (a good message for the agent, malformed ones with secrets) and the EventBridge trigger (a
    good request for the run, a malformed one)."""
    from tests.integration.test_triggers import eventbridge_event, sqs_event

    bystander = USERS["bystander"]
    bodies = (
        json.dumps({"agent_id": AGENT}),
        json.dumps({"user_id": bystander, "note": f"the secret plan {TEXT}"}),
        json.dumps({"user_id": f"{bystander}\u0007"}),  # a control character: refused
        f"user_id={bystander} {TEXT}",
    )
    response = handler_of("sqs_erasure")(sqs_event(*bodies, ids=["ok", "extra", "control", "garbage"]), world.ctx)
    world.captured.add("lambda response sqs_erasure", json.dumps(response))
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == ["control", "extra", "garbage"]
    result = handler_of("scheduled_erasure")(eventbridge_event({"run_id": RUN}, event_id="evt-run"), world.ctx)
    world.captured.add("lambda response scheduled_erasure", json.dumps(result))
    malformed = eventbridge_event({"user_id": bystander, "reason": TEXT * 100}, event_id="evt-bad")
    with pytest.raises(Exception) as refused:
        handler_of("scheduled_erasure")(malformed, world.ctx)
    world.captured.add("lambda error scheduled_erasure", f"{refused.value!s} {refused.value!r}")
    world.wait_for_executions()


def run_cli(world: World, capsys: pytest.CaptureFixture[str], job_ids: list[str]) -> None:
    """`memerase delete`, `delete-all`, `jobs list|show|cancel|resume`, in this process (the same moto)."""
    from memerase_local.cli import main

    cli = USERS["cli"]
    first = world.mine("cli")[0]
    commands: list[tuple[list[str], frozenset[str]]] = [
        (["delete", first.id], frozenset({first.id})),
        (["delete-all", "--user-id", cli], frozenset({cli})),
        (["delete", UNKNOWN_ID], frozenset({UNKNOWN_ID})),
        (["delete-all", "--user-id", f"{cli} {TEXT}"], frozenset({cli})),
        (["jobs", "list", "--limit", "50"], frozenset()),
        *[(["jobs", "show", job_id], frozenset()) for job_id in job_ids],
        (["jobs", "cancel", job_ids[0]], frozenset()),
        (["jobs", "resume", job_ids[0]], frozenset()),
    ]
    printed = capsys.readouterr()  # what the operations before printed is kept, apart from the CLI's output
    world.captured.add("stdout", printed.out)
    world.captured.add("stderr", printed.err)
    for argv, own in commands:
        status = main(argv)
        powertools_logger.setLevel(logging.DEBUG)  # the CLI quietens the logger for its own run
        output = capsys.readouterr()
        world.captured.add(f"cli {argv[0]} {argv[1]} -> {status}", output.out + output.err, own)


# ---- capture of what was left behind ------------------------------------------------------------------------------


def capture_tables_events_and_executions(world: World) -> None:
    dynamodb = boto3.resource("dynamodb")
    for item in dynamodb.Table(JOBS_TABLE).scan()["Items"]:
        world.captured.add(f"jobs table {str(item['sk']).split('#')[0]}", json.dumps(item, default=str))
    erased_ids = frozenset(m.id for m in world.data)
    for item in dynamodb.Table(HISTORY_TABLE).scan()["Items"]:
        world.captured.add("history table", json.dumps(item, default=str), erased_ids)
    sqs = boto3.client("sqs")
    while messages := sqs.receive_message(QueueUrl=world.events_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            world.captured.add("event", message["Body"])
            sqs.delete_message(QueueUrl=world.events_url, ReceiptHandle=message["ReceiptHandle"])
    sfn = boto3.client("stepfunctions")
    for execution in sfn.list_executions(stateMachineArn=world.harness.state_machine_arn)["executions"]:
        history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
        for event in history:
            world.captured.add("execution history", json.dumps(event, default=str))


def test_no_operation_leaves_a_secret_id_or_text_in_logs_metrics_records_events_or_errors(
    world: World, log_records: Records, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given mem0 memories and entity records whose user, agent and run ids and texts are known secrets
    secrets = [*USERS.values(), AGENT, RUN, TEXT, UNKNOWN_ID, IDEMPOTENCY, *(m.id for m in world.data)]

    # When every operation runs: the API, jobs through Step Functions, refusals, the triggers, the CLI, a reset
    run_api(world)
    job_ids = run_jobs(world)
    run_refusals(world)
    run_triggers(world)
    run_cli(world, capsys, job_ids)
    status, _ = world.call("api_reset", "POST", "/v1/reset", "/v1/reset", body={"target": "os", "confirm": "os"})
    assert status == 200
    world.wait_for_executions()
    capture_tables_events_and_executions(world)
    printed = capsys.readouterr()
    world.captured.add("stdout", printed.out)
    world.captured.add("stderr", printed.err)
    for line in log_records.lines:
        world.captured.add("log", line)

    # Then every erased user, the agent and the run are gone from S3 Vectors (the operations did their work)
    left = {(p.get("user_id"), p.get("agent_id"), p.get("run_id")) for p in m0.s3_contents(m0.s3_store()).values()}
    assert left == {(USERS["bystander"], None, None)}
    # And a good deal was captured of each kind
    captured = world.captured
    counts = {
        "log": captured.count("log"),
        "metrics": sum(text.count('"_aws"') for source, text in captured.items if source == "stdout"),
        "jobs table": captured.count("jobs table"),
        "history table": captured.count("history table"),
        "event": captured.count("event"),
        "execution history": captured.count("execution history"),
        "http": captured.count("http"),
        "cli": captured.count("cli"),
        "lambda": captured.count("lambda"),
    }
    print(f"\nprivacy scan: {len(captured.items)} items captured: {counts}; {len(secrets)} secrets")
    assert counts["log"] >= 20 and counts["metrics"] >= 5 and counts["event"] >= 7, counts
    assert counts["jobs table"] >= 10 and counts["history table"] >= 20 and counts["execution history"] >= 50
    # And none of the secrets, raw or encoded, appears anywhere but in the caller's own answers
    found = leaks(captured, secrets)
    assert found == [], report(found)
