"""Job machinery as the runtime builds it, with a Step Functions client of the test's own (one that records what it
is asked, or misbehaves as a test needs)."""

from __future__ import annotations

import json
from typing import Any

from memerase import runtime
from memerase.jobs.intake import JobIntake
from memerase.jobs.runners import StepFunctionsRunner

STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:memerase-erasure"


class FakeStepFunctions:
    """A Step Functions client that records what the runner asks of it (the executions are driven by the test)."""

    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []
        self.stopped: list[str] = []

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:  # noqa: N803, A002
        self.started.append({"stateMachineArn": stateMachineArn, "name": name, "input": json.loads(input)})
        return {"executionArn": f"{stateMachineArn.replace(':stateMachine:', ':execution:')}:{name}"}

    def stop_execution(self, executionArn: str, error: str, cause: str) -> dict[str, Any]:  # noqa: N803
        self.stopped.append(executionArn)
        return {}


def stepped_intake(sfn: Any, state_machine_arn: str = STATE_MACHINE) -> JobIntake:
    """The runtime's intake, but its jobs handed to Step Functions through `sfn`."""
    runner = StepFunctionsRunner(runtime.jobs_table(), runtime.lifecycle(), state_machine_arn, sfn)
    return JobIntake(
        runtime.eraser(), runtime.jobs_table(), runtime.lifecycle(), runtime.tally(), runner, hasher=runtime.hasher
    )
