"""Starting, cancelling and resuming jobs: the one library call every trigger (API, SQS, EventBridge, CLI) uses."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
from botocore.exceptions import ClientError

from memerase.engine import Eraser
from memerase.errors import MemeraseError, RetryableStoreError
from memerase.jobs.models import JobRecord, JobStatus, StoreProgress
from memerase.jobs.repository import JobsTable, key_hash, now
from memerase.jobs.steps import JobSteps, VerificationFailed
from memerase.models import Scope
from memerase.observability import logger

MAX_EXECUTION_NAME = 80


class JobConflict(MemeraseError):
    code = "job_conflict"
    status = 409


class JobLauncher:
    def __init__(
        self, eraser: Eraser, jobs: JobsTable, steps: JobSteps, state_machine_arn: str | None, sfn_client: Any = None
    ):
        self._eraser = eraser
        self._jobs = jobs
        self._steps = steps
        self._state_machine = state_machine_arn
        self._sfn = sfn_client or (boto3.client("stepfunctions") if state_machine_arn else None)

    def start(
        self,
        scope: Scope,
        *,
        requester: str = "unknown",
        source: str = "api",
        reason: str | None = None,
        idempotency_key: str | None = None,
        dry_run: bool = False,
        inline: bool = False,
    ) -> tuple[JobRecord, bool]:
        """Start (or find) the job erasing `scope`. Returns the job and whether this call created it.

        A repeated request maps to the same job: the same idempotency key always does (a different scope under a used
        key is a conflict), and without a key an active job of the same scope is reused.
        """
        scope_hash = scope.fingerprint()
        if idempotency_key:  # keys are per requester: one caller's key never reaches another caller's job
            idempotency_key = f"{requester}\n{idempotency_key}"
        job_id = "job-" + (key_hash(idempotency_key)[:32] if idempotency_key else uuid.uuid4().hex)
        if idempotency_key and (bound := self._jobs.claim_key(idempotency_key, job_id)) and bound != job_id:
            return self._same_request(bound, scope_hash, dry_run), False
        if idempotency_key and self._exists(job_id):
            return self._same_request(job_id, scope_hash, dry_run), False
        if not dry_run and (active := self._jobs.claim_scope(scope_hash, job_id)):
            return self._jobs.get(active), False
        stamp = now()
        job = JobRecord(
            job_id=job_id,
            scope_hash=scope_hash,
            scope=scope,
            requester=requester,
            source=source,
            reason=reason,
            dry_run=dry_run,
            created_at=stamp,
            updated_at=stamp,
        )
        self._jobs.create(job)
        logger.info("job created", extra={"job_id": job_id, "source": source, "dry_run": dry_run})
        if dry_run:
            return self._count(job), True
        if inline or not self._state_machine:
            return self.run_inline(job_id), True
        return self._execute(job, job_id), True

    def get(self, job_id: str) -> JobRecord:
        return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> JobRecord:
        job = self._jobs.get(job_id)
        if not job.status.active:
            raise JobConflict(f"job {job_id} is {job.status.value} and cannot be cancelled")
        if job.execution_arn:
            self._stop(job.execution_arn)
        job = job.model_copy(update={"status": JobStatus.CANCELLED, "completed_at": now()})
        if not self._jobs.save(job, expect=(JobStatus.QUEUED, JobStatus.RUNNING)):
            return self._jobs.get(job_id)
        self._jobs.release_scope(job.scope_hash, job_id)
        return job

    def resume(self, job_id: str, inline: bool = False) -> JobRecord:
        """Run a FAILED or CANCELLED job again from its persisted cursors."""
        job = self._jobs.get(job_id)
        if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED) or job.scope is None:
            raise JobConflict(f"job {job_id} is {job.status.value} and cannot be resumed")
        if (active := self._jobs.claim_scope(job.scope_hash, job_id)) and active != job_id:
            raise JobConflict(f"job {active} is already erasing this scope")
        # A pass that had finished (e.g. it failed verification) is not re-read: the resumed job scans afresh.
        fresh = self._steps.pass_complete(job) and job.pass_no > 0
        job = job.model_copy(
            update={
                "status": JobStatus.QUEUED,
                "error": None,
                "completed_at": None,
                "pass_no": job.pass_no + 1 if fresh else job.pass_no,
                "rounds": 0,
            }
        )
        self._jobs.save(job, expect=(JobStatus.FAILED, JobStatus.CANCELLED))
        if inline or not self._state_machine:
            return self.run_inline(job_id)
        return self._execute(job, f"{job_id}-resume-{job.executions}")

    def run_inline(self, job_id: str) -> JobRecord:
        """The state machine's steps, in-process: for small scopes and for deployments without Step Functions."""
        try:
            while True:
                for item in self._steps.plan(job_id):
                    while not self._steps.erase(job_id, item, lambda: 1 << 30)["done"]:
                        pass
                verdict = self._steps.verify(job_id)
                if verdict["clean"]:
                    break
                if not verdict["retry"]:
                    raise VerificationFailed(f"the last pass still found {verdict['remaining']} matching memories")
            self._steps.finalize(job_id)
        except Exception as exc:
            self._steps.fail(job_id, type(exc).__name__, str(exc))
            raise
        return self._jobs.get(job_id)

    def _execute(self, job: JobRecord, name: str) -> JobRecord:
        """Start the execution. If Step Functions refuses, the job is marked FAILED (releasing its scope, so a retry
        starts afresh) rather than left QUEUED forever; if the job was cancelled meanwhile, the execution is
        stopped; the execution ARN is written without overwriting what the execution itself already recorded."""
        assert self._sfn is not None and self._state_machine is not None
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
            self._steps.fail(job.job_id, "StartExecutionFailed", code)
            raise RetryableStoreError(f"Step Functions refused to start the job: {code}") from exc
        for _ in range(5):
            current = self._jobs.get(job.job_id)
            if current.status == JobStatus.CANCELLED:
                self._stop(arn)
                return current
            updated = current.model_copy(update={"execution_arn": arn, "executions": current.executions + 1})
            if self._jobs.save(updated, expect=(current.status,)):
                return updated
        return self._jobs.get(job.job_id)

    def _stop(self, execution_arn: str) -> None:
        assert self._sfn is not None
        try:
            self._sfn.stop_execution(executionArn=execution_arn, error="memerase.Cancelled", cause="cancelled")
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "ValidationException"):
                raise RetryableStoreError(
                    f"Step Functions refused to stop the job: {exc.response['Error']['Code']}"
                ) from exc

    def _count(self, job: JobRecord) -> JobRecord:
        assert job.scope is not None
        outcomes = self._eraser.count_remaining(job.scope)
        progress = [StoreProgress(target=o.target, store=o.store, remaining=o.remaining, note=o.note) for o in outcomes]
        job = job.model_copy(
            update={"status": JobStatus.COMPLETED, "completed_at": now(), "scope": None, "progress": progress}
        )
        self._jobs.save(job)
        return job

    def _exists(self, job_id: str) -> bool:
        try:
            self._jobs.get(job_id)
        except MemeraseError:
            return False
        return True

    def _same_request(self, job_id: str, scope_hash: str, dry_run: bool) -> JobRecord:
        job = self._jobs.get(job_id)
        if job.scope_hash != scope_hash or job.dry_run != dry_run:
            raise JobConflict("this idempotency key was used for a different erasure request")
        return job
