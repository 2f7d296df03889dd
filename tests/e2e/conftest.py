"""`memerase serve` started in-process for end-to-end tests: the local API Gateway in front of the project's Lambda
handlers, moto server (Step Functions executing the real ASL) and osmem-server, seeded with sample mem0 memories
(users user-0..user-3 x 25, agent "demo-agent", in S3 Vectors bucket "mem0-demo"/index "mem0", OpenSearch "mem0" and
the Neptune Analytics stand-in's graph, collection "mem0", beside mem0 1.x graph data).

One server per test module (`memerase_server` is module-scoped): each file starts from the same seeded state.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from opensearchpy import OpenSearch

from tests.support.readback import Snapshot, Stores, neptune_memories, opensearch_memories, s3_memories

# mem0 reads MEM0_TELEMETRY and MEM0_DIR once, at import (it writes MEM0_DIR/config.json and, with telemetry on,
# starts a PostHog client): both must be set before anything imports mem0, i.e. before test modules are collected.
_MEM0_HOME = tempfile.mkdtemp(prefix="memerase-e2e-mem0-")
atexit.register(shutil.rmtree, _MEM0_HOME, ignore_errors=True)
os.environ.setdefault("MEM0_TELEMETRY", "False")
os.environ.setdefault("MEM0_DIR", _MEM0_HOME)

BUCKET = "mem0-demo"
INDEX = "mem0"
ACTIVE_JOB = ("QUEUED", "RUNNING")


@pytest.fixture(scope="session")
def aws_call_recorder() -> Iterator[Any]:
    """Every AWS call a handler makes in this session's e2e tests, recorded (tests/support/aws_calls.py)."""
    from tests.support.aws_calls import CallRecorder

    with CallRecorder().installed() as recorder:
        yield recorder


@pytest.fixture(autouse=True)
def calls_allowed_by_template(aws_call_recorder: Any, pytestconfig: pytest.Config) -> Iterator[None]:
    """Issue 18, item 7: after each e2e test, each call a function made (recorded by the harness: the handler's
    name in `memerase_local.handlers.RUNNING`) must be allowed by that function's own policies in template.yaml, as
    rendered for the test's deployment; a function that gains a call without a grant fails here. The distinct calls
    checked are printed at the end of the run (tests/conftest.py).

    Before issue 18's fixes this failed, e.g. test_retention_schedule's dry run with `ScheduledErasureFunction:
    s3vectors:ListVectors on arn:aws:s3vectors:...:bucket/mem0-test/index/mem0: no statement of its role allows it`
    (item 6), and every job by age or expiry with `JobEraseFunction: es:ESHttpGet on
    arn:aws:es:...:domain/.../mem0/_mapping/field/payload.created_at,payload.expiration_date: no statement of its role
    allows it` (a grant StoreReadPolicy lacked)."""
    from tests.support.aws_calls import CallChecker

    checker: CallChecker = getattr(pytestconfig, "_iam_checker", None) or CallChecker()
    pytestconfig._iam_checker = checker  # type: ignore[attr-defined]
    aws_call_recorder.drain()  # calls made between tests (a module's server, other tests' handlers): not this test's
    yield
    refused = checker.refusals(aws_call_recorder.drain())
    if refused:
        pytest.fail("calls not allowed by template.yaml's IAM policies:\n  " + "\n  ".join(refused), pytrace=False)


@dataclass(frozen=True)
class LocalServer:
    url: str
    admin_key: str
    aws_url: str
    opensearch_url: str
    state_machine_arn: str
    neptune_graph_id: str

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.admin_key}"}

    # ---- the stores, read directly (not through memerase) ---------------------------------------------------------

    def s3_memories(self) -> Snapshot:
        return s3_memories(BUCKET, INDEX, boto3.client("s3vectors", endpoint_url=self.aws_url, region_name="us-east-1"))

    def neptune_memories(self) -> Snapshot:
        return neptune_memories(boto3.client("neptune-graph", region_name="us-east-1"), self.neptune_graph_id, INDEX)

    def stores(self) -> Stores:
        return Stores(
            self.s3_memories(),
            opensearch_memories(OpenSearch(hosts=[self.opensearch_url]), INDEX),
            self.neptune_memories(),
        )

    # ---- jobs -----------------------------------------------------------------------------------------------------

    def wait_for_job(self, job_id: str, timeout: float = 60) -> dict[str, Any]:
        """Poll `GET /v1/erasures/{job_id}` until the job has left QUEUED/RUNNING; its final view."""
        deadline = time.monotonic() + timeout
        while True:
            view: dict[str, Any] = requests.get(
                f"{self.url}/v1/erasures/{job_id}", headers=self.admin_headers, timeout=30
            ).json()
            if view.get("status") not in ACTIVE_JOB:
                return view
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {view.get('status')} after {timeout}s: {view}")
            time.sleep(0.2)

    def wait_for_all_jobs(self, timeout: float = 120) -> None:
        """Wait until no execution of the erasure state machine is running (for calls whose job id is not returned,
        like mem0's `delete_users`, whose client discards the server's body)."""
        sfn = boto3.client("stepfunctions", endpoint_url=self.aws_url, region_name="us-east-1")
        deadline = time.monotonic() + timeout
        while True:
            executions = sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]
            running = [e["executionArn"] for e in executions if e["status"] == "RUNNING"]
            if not running:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(running)} erasure executions still running after {timeout}s")
            time.sleep(0.2)


def _opensearch_url(config: dict[str, Any]) -> str:
    for target in config["targets"]:
        store = target["vector_store"]
        if store["provider"] == "opensearch":
            return f"http://{store['config']['host']}:{store['config']['port']}"
    raise AssertionError("the served configuration has no OpenSearch target")


def _neptune_graph_id(config: dict[str, Any]) -> str:
    for target in config["targets"]:
        store = target["vector_store"]
        if store["provider"] == "neptune":
            return str(store["config"]["endpoint"]).removeprefix("neptune-graph://")
    raise AssertionError("the served configuration has no Neptune Analytics target")


@pytest.fixture(scope="module")
def memerase_server() -> Iterator[LocalServer]:
    """`memerase serve` (seeded) on a free port, in a thread of this process; stopped, and the process environment,
    moto's configuration and memerase's cached services restored, when the module is done."""
    from moto.core.config import default_user_config

    from memerase import runtime
    from memerase_local.serve import run_serve

    saved_environ = dict(os.environ)
    sfn_executes = bool(default_user_config["stepfunctions"]["execute_state_machine"])
    ready, stop = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            run_serve(port=0, seed=True, ready=ready, stop=stop)
        except BaseException as exc:  # surface a start-up failure to the fixture instead of a 2-minute wait
            failures.append(exc)
            ready.set()

    thread = threading.Thread(target=serve, name="memerase-serve", daemon=True)
    thread.start()
    try:
        assert ready.wait(120), "memerase serve did not come up within 120 s"
        if failures:
            raise failures[0]
        config = json.loads(os.environ["MEMERASE_CONFIG"])
        server = LocalServer(
            url=ready.url,  # type: ignore[attr-defined]
            admin_key=ready.admin_key,  # type: ignore[attr-defined]
            aws_url=os.environ["AWS_ENDPOINT_URL"],
            opensearch_url=_opensearch_url(config),
            state_machine_arn=config["jobs"]["state_machine_arn"],
            neptune_graph_id=_neptune_graph_id(config),
        )
        yield server
        server.wait_for_all_jobs()  # no execution left half-way when moto's state is wiped below
        # moto's backends and configuration are process-wide: leave them as other tests expect to find them
        requests.post(
            f"{server.aws_url}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": sfn_executes}},
            timeout=10,
        )
        requests.post(f"{server.aws_url}/moto-api/reset", timeout=30)
    finally:
        stop.set()
        thread.join(60)
        runtime.reset()
        os.environ.clear()
        os.environ.update(saved_environ)
