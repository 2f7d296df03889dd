"""Job machinery as the runtime builds it, with parts of the test's own: a Step Functions client that records what it
is asked (or misbehaves as a test needs), a jobs table or an event bus a test watches."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from memerase import runtime
from memerase.engine import Eraser
from memerase.jobs.events import EventPublisher
from memerase.jobs.intake import JobIntake
from memerase.jobs.lifecycle import JobLifecycle
from memerase.jobs.queues import Queues
from memerase.jobs.replies import JobReplies
from memerase.jobs.repository import JobsTable
from memerase.jobs.runners import InProcessRunner, StepFunctionsRunner
from memerase.jobs.steps import JobSteps
from memerase.jobs.tally import JobTally
from memerase.settings import JobsConfig

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


@dataclass
class Machinery:
    intake: JobIntake
    steps: JobSteps
    lifecycle: JobLifecycle
    sfn: Any


def machinery(table: JobsTable | None = None, bridge: Any = None, sfn: Any = None) -> Machinery:
    """The runtime's job services over `table` (default: the runtime's), publishing through the EventBridge client
    `bridge` (default: the runtime's bus), their jobs handed to Step Functions through `sfn` (default: a recorder)."""
    config = runtime.jobs_config()
    jobs = table or runtime.jobs_table()
    events = EventPublisher(client=bridge) if bridge is not None else EventPublisher(config.event_bus_name)
    lifecycle = JobLifecycle(jobs, config, events, JobReplies(Queues(config.region_name)))
    tally = JobTally(jobs, config.stall_seconds)
    steps = JobSteps(runtime.eraser(), jobs, lifecycle, tally, config)
    sfn = sfn if sfn is not None else FakeStepFunctions()
    runner = StepFunctionsRunner(jobs, lifecycle, STATE_MACHINE, sfn)
    intake = JobIntake(runtime.eraser(), jobs, lifecycle, tally, runner, hasher=runtime.hasher)
    return Machinery(intake, steps, lifecycle, sfn)


def stepped_intake(sfn: Any) -> JobIntake:
    """The runtime's intake, but its jobs handed to Step Functions through `sfn`."""
    return machinery(sfn=sfn).intake


def services_over(eraser: Eraser, jobs: JobsTable, config: JobsConfig) -> Machinery:
    """Job services over an engine and a jobs table of the test's own, run in this process, without an event bus."""
    lifecycle = JobLifecycle(jobs, config, None, JobReplies(Queues(config.region_name)))
    tally = JobTally(jobs, config.stall_seconds)
    steps = JobSteps(eraser, jobs, lifecycle, tally, config)
    intake = JobIntake(eraser, jobs, lifecycle, tally, InProcessRunner(steps, jobs))
    return Machinery(intake, steps, lifecycle, None)
