"""Runs the project's real ASL in moto's Step Functions interpreter, its Lambda tasks dispatched in-process to the
project's own handlers (`functions/<name>/app.py`) by the local package's one `Dispatcher`. No Docker. A stop
(a job's cancel) aborts an execution however early it arrives (`memerase_local.moto_executions`), as AWS does.

Faults are injected per function through `harness.faults[name]`: a callable run before the handler that may raise.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws

from memerase import runtime
from memerase_local.lambdas import Dispatcher, create_state_machine, in_process_lambdas
from memerase_local.moto_executions import stops_wait_for_start

TERMINAL = {"SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"}


@dataclass
class StepFunctionsHarness(Dispatcher):
    state_machine_arn: str = ""

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
def step_functions(config: dict[str, Any], instant_retries: bool = True) -> Iterator[StepFunctionsHarness]:
    """moto (all services in-process) running the real state machine; MEMERASE_CONFIG set to `config`.

    `config["jobs"]["state_machine_arn"]` is filled in with the created state machine's ARN. The environment is
    restored when the block ends.
    """
    harness = StepFunctionsHarness()
    with ExitStack() as stack:
        stack.enter_context(mock.patch.dict(os.environ))
        os.environ.pop("AWS_ENDPOINT_URL", None)
        stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        stack.enter_context(in_process_lambdas(harness))
        stack.enter_context(stops_wait_for_start())
        if instant_retries:
            stack.enter_context(
                mock.patch(
                    "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl.time",
                    mock.Mock(sleep=lambda _s: None),
                )
            )
        harness.state_machine_arn = create_state_machine()
        config.setdefault("jobs", {})["state_machine_arn"] = harness.state_machine_arn
        os.environ["MEMERASE_CONFIG"] = json.dumps(config)
        runtime.reset()
        stack.callback(runtime.reset)
        yield harness
