"""Runs the project's real ASL in moto's Step Functions interpreter, its Lambda tasks dispatched in-process to the
project's own handlers (`functions/<name>/app.py`). No Docker: `LambdaFunction.invoke` is patched.

Faults are injected per function through `harness.faults[name]`: a callable run before the handler that may raise.
"""

from __future__ import annotations

import importlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws
from moto.awslambda.models import LambdaFunction

from memerase import runtime
from memerase_local.lambdas import create_state_machine
from tests.support.lambda_events import LambdaContext

TERMINAL = {"SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"}


@dataclass
class StepFunctionsHarness:
    state_machine_arn: str = ""
    invocations: Counter[str] = field(default_factory=Counter)
    faults: dict[str, Callable[[dict[str, Any]], None]] = field(default_factory=dict)
    budget_ms: dict[str, Callable[[], int]] = field(default_factory=dict)

    def invoke(self, function: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        name = function.function_name
        event = json.loads(body.decode() if isinstance(body, bytes | bytearray) else body or "{}")
        self.invocations[name] += 1
        handler = importlib.import_module(f"functions.{name}.app").handler
        context = LambdaContext(name, self.budget_ms.get(name, lambda: 900_000))
        try:
            if name in self.faults:
                self.faults[name](event)
            result = handler(event, context)
        except Exception as exc:  # as Lambda reports an unhandled error: errorType is the exception's class name
            response_headers["x-amz-function-error"] = "Unhandled"
            error_type = getattr(exc, "error_type", type(exc).__name__)  # e.g. "Sandbox.Timedout" for a timeout
            return json.dumps({"errorType": error_type, "errorMessage": str(exc)[:500]}).encode()
        return json.dumps(result).encode()

    def wait(self, execution_arn: str, timeout: float = 120) -> dict[str, Any]:
        sfn = boto3.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            described = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] in TERMINAL:
                return described
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution still {described['status']} after {timeout} s")
            time.sleep(0.05)

    def transitions(self, execution_arn: str) -> int:
        events = boto3.client("stepfunctions").get_execution_history(executionArn=execution_arn)["events"]
        return sum(1 for e in events if e["type"].endswith("StateEntered"))


@contextmanager
def step_functions(
    config: dict[str, Any], monkeypatch: Any, instant_retries: bool = True
) -> Iterator[StepFunctionsHarness]:
    """moto (all services in-process) running the real state machine; MEMERASE_CONFIG set to `config`.

    `config["jobs"]["state_machine_arn"]` is filled in with the created state machine's ARN.
    """
    harness = StepFunctionsHarness()
    with ExitStack() as stack:
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))

        def invoke(function: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
            return harness.invoke(function, body, request_headers, response_headers)

        stack.enter_context(mock.patch.object(LambdaFunction, "invoke", invoke))
        if instant_retries:
            stack.enter_context(
                mock.patch(
                    "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl.time",
                    mock.Mock(sleep=lambda _s: None),
                )
            )
        harness.state_machine_arn = create_state_machine()
        config.setdefault("jobs", {})["state_machine_arn"] = harness.state_machine_arn
        monkeypatch.setenv("MEMERASE_CONFIG", json.dumps(config))
        runtime.reset()
        stack.callback(runtime.reset)
        yield harness
