"""What runs a job's program: AWS Step Functions (the ASL, deployed), or this process (the same program, in
`jobs.program`: the CLI, and `memerase serve` without a state machine, in the foreground or on a background
thread). The intake hands a QUEUED job to its runner; a cancel asks the runner to stop it, but safety never depends
on that: every worker claims each delete batch on condition that the job runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import ClientError

from memerase.errors import RetryableStoreError, TransitionLost
from memerase.jobs import program
from memerase.jobs.lifecycle import JobLifecycle
from memerase.jobs.models import JobError, JobRecord, JobStatus
from memerase.jobs.repository import JobsTable
from memerase.jobs.steps import JobSteps
from memerase.observability import logger

MAX_EXECUTION_NAME = 80
STEP_FUNCTIONS, IN_PROCESS = "step_functions", "in_process"


class JobRunner(Protocol):
    name: str

    def run(self, job: JobRecord) -> JobRecord:
        """Start the QUEUED job's program; returns the job as it stands then."""
        ...

    def stop(self, job: JobRecord) -> None:
        """Stop the program of a job that was just cancelled."""
        ...


class StepFunctionsRunner:
    name = STEP_FUNCTIONS

    def __init__(self, jobs: JobsTable, lifecycle: JobLifecycle, state_machine_arn: str, client: Any):
        self._jobs = jobs
        self._lifecycle = lifecycle
        self._state_machine = state_machine_arn
        self._sfn = client

    def run(self, job: JobRecord) -> JobRecord:
        """Start an execution named after the job (and its run). If Step Functions refuses, the job is marked FAILED
        rather than left QUEUED forever. The ARN is recorded only while the job is QUEUED: once the execution's Plan
        Work ran, it recorded the ARN itself."""
        job = self._lifecycle.record(job, {"executions": job.executions + 1})
        name = job.job_id if job.executions == 1 else f"{job.job_id}-resume-{job.executions - 1}"
        try:
            arn = self._sfn.start_execution(
                stateMachineArn=self._state_machine,
                name=name[:MAX_EXECUTION_NAME],
                input=json.dumps({"job_id": job.job_id}),
            )["executionArn"]
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code == "ExecutionAlreadyExists":
                return self._jobs.get(job.job_id)
            self._lifecycle.fail(job.job_id, JobError(error="StartExecutionFailed", cause=code))
            raise RetryableStoreError(f"Step Functions refused to start the job: {code}") from exc
        try:
            return self._lifecycle.record(job, {"execution_arn": arn})
        except TransitionLost:  # Plan Work ran already (and recorded it), or the job was cancelled: stop it then
            current = self._jobs.get(job.job_id)
            if current.status == JobStatus.CANCELLED:
                self._stop(arn)
            return current

    def stop(self, job: JobRecord) -> None:
        if job.execution_arn:
            self._stop(job.execution_arn)

    def _stop(self, execution_arn: str) -> None:
        try:
            self._sfn.stop_execution(executionArn=execution_arn, error="memerase.Cancelled", cause="cancelled")
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "ValidationException"):
                raise RetryableStoreError(
                    f"Step Functions refused to stop the job: {exc.response['Error']['Code']}"
                ) from exc


class InProcessRunner:
    name = IN_PROCESS

    def __init__(self, steps: JobSteps, jobs: JobsTable):
        self._steps = steps
        self._jobs = jobs
        self._submit: Callable[[Callable[[], object]], object] | None = None

    def run_in_background(self, submit: Callable[[Callable[[], object]], object]) -> None:
        """Run jobs through `submit` (e.g. a thread pool's) instead of in the caller's thread: `run` then answers
        at once with the QUEUED job (`memerase serve` with a config)."""
        self._submit = submit

    def run(self, job: JobRecord) -> JobRecord:
        if self._submit is None:
            program.run(self._steps, job.job_id)
        else:
            self._submit(lambda: self._run_logged(job.job_id))
        return self._jobs.get(job.job_id)

    def stop(self, job: JobRecord) -> None:
        """Nothing to stop: the program's workers find their claims refused and end."""

    def _run_logged(self, job_id: str) -> None:
        try:
            program.run(self._steps, job_id)
        except Exception as exc:  # recorded as the job's failure by the program; nobody waits for this thread
            logger.warning("background job failed", extra={"job_id": job_id, "error": type(exc).__name__})
