"""Starting, listing, showing, cancelling and resuming erasure jobs: the library calls the triggers (API, SQS,
EventBridge) and the CLI use. Status changes go through the job state machine (`jobs.lifecycle`)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError

from memerase.engine import Eraser
from memerase.erasure_reason import ErasureReason, Justification
from memerase.errors import (
    JobConflict,
    MemeraseError,
    RetryableStoreError,
    TransitionLost,
    TransitionNotAllowed,
    VerificationFailed,
)
from memerase.fingerprint import HasherSource, ScopeHasher
from memerase.jobs.dry_run import counted
from memerase.jobs.events import CANCELLED
from memerase.jobs.lifecycle import ATTEMPTS, allowed
from memerase.jobs.models import ErasureSpec, JobRecord, JobStatus, ReplyTo
from memerase.jobs.repository import JobsTable, now
from memerase.jobs.steps import JobSteps
from memerase.models import Scope
from memerase.observability import logger

MAX_EXECUTION_NAME = 80


class JobLauncher:
    def __init__(
        self,
        eraser: Eraser,
        jobs: JobsTable,
        steps: JobSteps,
        state_machine_arn: str | None,
        sfn_client: Any = None,
        hasher: HasherSource = ScopeHasher.from_env,
    ):
        """`hasher` gives the one scope hasher (scope locks, idempotency keys, references all go through it)."""
        self._hasher = hasher
        self._eraser = eraser
        self._jobs = jobs
        self._steps = steps
        self._state_machine = state_machine_arn
        self._sfn = sfn_client or (boto3.client("stepfunctions") if state_machine_arn else None)
        self._submit: Callable[[Callable[[], object]], object] | None = None
        self._reply: ReplyTo | None = None

    def answering(self, reply: ReplyTo | None) -> JobLauncher:
        """This launcher for one request that names a reply queue: a job it creates keeps `reply` in its record
        (while it can run) and answers it when it ends (see `jobs.replies`)."""
        if reply is None:
            return self
        launcher = copy.copy(self)
        launcher._reply = reply
        return launcher

    def run_in_background(self, submit: Callable[[Callable[[], object]], object]) -> None:
        """Without a state machine, run jobs through `submit` (e.g. a thread pool's) instead of in the caller's
        thread: `start` and `resume` then answer at once with the QUEUED job (`memerase serve` with a config)."""
        self._submit = submit

    def start(
        self,
        what: Scope | ErasureSpec,
        *,
        requester: str = "unknown",
        source: str = "api",
        reason: Justification | ErasureReason | str | None = None,
        idempotency_key: str | None = None,
        dry_run: bool = False,
    ) -> tuple[JobRecord, bool]:
        """Start (or find) the job erasing `what`: a scope, or an `ErasureSpec` (a scope, possibly empty, AND age/expiry
        criteria, and the retention policy asking). Returns the job and whether this call created it. `reason` is a
        reason code, or a `Justification` (code and reference: the reference is kept only as its keyed hash).

        A repeated request maps to the same job: the same idempotency key always does (a different request under a
        used key is a conflict), and without a key an active job of the same lock (`ErasureSpec.lock_key`: the same
        scope, kinds of criteria and policy) is reused: its record names its own cutoffs.
        """
        spec = what if isinstance(what, ErasureSpec) else ErasureSpec(scope=what)
        scope = spec.scope
        why = Justification.of(reason)
        hasher = self._hasher()  # before anything is written: without a key nothing starts
        scope_hash = hasher.scope(scope)
        lock = spec.lock_key(scope_hash)
        if idempotency_key:  # keys are per requester: one caller's key never reaches another caller's job
            idempotency_key = hasher.idempotency(f"{requester}\n{idempotency_key}")
        job_id = "job-" + (idempotency_key[:32] if idempotency_key else uuid.uuid4().hex)
        if idempotency_key and (bound := self._jobs.claim_key(idempotency_key, job_id)) and bound != job_id:
            return self._same_request(bound, lock, dry_run), False
        if idempotency_key and self._exists(job_id):
            return self._same_request(job_id, lock, dry_run), False
        if not dry_run and (active := self._jobs.claim_scope(lock, job_id)):
            return self._jobs.get(active), False
        stamp = now()
        stepped = bool(self._state_machine) and not dry_run  # else counted, or run inline, here
        job = JobRecord(
            job_id=job_id,
            scope_hash=scope_hash,
            scope=scope,
            criteria=spec.criteria if spec.criteria is not None and spec.criteria.present else None,
            policy=spec.policy,
            requester=requester,
            source=source,
            reason=why.code,
            reference_hash=hasher.reference(why.reference) if why.reference else None,
            dry_run=dry_run,
            created_at=stamp,
            updated_at=stamp,
            executions=1 if stepped else 0,
            reply_to=None if dry_run else self._reply,
        )
        if dry_run:
            job = counted(self._eraser, job)
        if not self._jobs.create(job):
            return self._same_request(job_id, lock, dry_run), False
        logger.info("job created", extra={"job_id": job_id, "source": source, "actor": requester, "dry_run": dry_run})
        if dry_run:
            return job, True
        if not stepped:
            return self._run_here(job_id), True
        return self._execute(job, job_id), True

    def get(self, job_id: str) -> JobRecord:
        """The job; one that has not completed shows its progress as its work-item rows have it now."""
        return self._steps.tally.current(self._jobs.get(job_id))

    def list_jobs(self, limit: int = 20, before: str | None = None) -> list[JobRecord]:
        """Job records, newest first: at most `limit`, created before `before` (the `created_at` of the last job of
        the previous page) when given."""
        return self._jobs.list_jobs(limit, before)

    def cancel(self, job_id: str) -> JobRecord:
        """CANCELLED, with the counts of what the job erased so far; its execution is stopped, its scope released.
        Workers in flight stop at their next page (a batch being deleted is finished and counted)."""
        try:
            job = self._steps.lifecycle.move_latest(
                job_id,
                JobStatus.CANCELLED,
                lambda current: {**self._steps.tally.counts(current, {}), "completed_at": now()},
            )
        except TransitionNotAllowed as exc:
            raise JobConflict(str(exc)) from exc
        self._jobs.release_scope(job.lock_key(), job_id)
        if job.execution_arn:
            self._stop(job.execution_arn)
        self._steps.publish(CANCELLED, job)
        logger.info("job cancelled", extra={"job_id": job_id, "memories_erased": job.memories_erased})
        return job

    def resume(self, job_id: str, inline: bool = False) -> JobRecord:
        """Run a FAILED or CANCELLED job again from its persisted cursors; its counts (and the receipt it ends with)
        include what its earlier runs erased."""
        job = self._jobs.get(job_id)
        if not allowed(job.status, JobStatus.QUEUED):
            raise JobConflict(f"job {job_id} is {job.status.value} and cannot be resumed")
        if job.scope is None:
            raise JobConflict(
                f"job {job_id} can no longer be resumed: its scope was kept for {self._jobs.resume_window_days} "
                "day(s) after it stopped (the resume window) and has been removed; start a new erasure instead"
            )
        if (active := self._jobs.claim_scope(job.lock_key(), job_id)) and active != job_id:
            raise JobConflict(f"job {active} is already erasing this scope")
        # A pass that had finished (e.g. it failed verification) is not re-read: the resumed job scans afresh.
        fresh = self._steps.pass_complete(job) and job.pass_no > 0
        stepped = not (inline or not self._state_machine)
        changes = {
            "error": None,
            "completed_at": None,
            "pass_no": job.pass_no + 1 if fresh else job.pass_no,
            "rounds": 0,
            "memories_left": None,
            "unfinished_items": None,
            "executions": job.executions + 1 if stepped else job.executions,
        }
        try:
            job = self._steps.lifecycle.move(job, JobStatus.QUEUED, changes)
        except (TransitionLost, TransitionNotAllowed) as exc:
            raise JobConflict(f"job {job_id} was resumed or changed by another request") from exc
        logger.info("job resumed", extra={"job_id": job_id, "memories_erased": job.memories_erased})
        if not stepped:
            return self.run_inline(job_id) if inline else self._run_here(job_id)
        return self._execute(job, f"{job_id}-resume-{job.executions - 1}")

    def _run_here(self, job_id: str) -> JobRecord:
        """Run the job in this process: now, or through the background submitter when one is set."""
        if self._submit is None:
            return self.run_inline(job_id)
        self._submit(lambda: self._run_logged(job_id))
        return self._jobs.get(job_id)

    def _run_logged(self, job_id: str) -> None:
        try:
            self.run_inline(job_id)
        except Exception as exc:  # the job is marked FAILED with its error; nobody waits for this thread
            logger.warning("background job failed", extra={"job_id": job_id, "error": type(exc).__name__})

    def run_inline(self, job_id: str) -> JobRecord:
        """The state machine's steps, in-process: for small scopes and for deployments without Step Functions. A job
        cancelled meanwhile stops at its workers' next page and is returned as it is (CANCELLED, with its counts)."""
        try:
            while True:
                for item in self._steps.plan(job_id):
                    while not self._steps.erase(job_id, item, lambda: 1 << 30)["done"]:
                        pass
                verdict = self._steps.verify(job_id)
                if verdict["clean"]:
                    break
                if not verdict["retry"]:
                    raise VerificationFailed(unverified(verdict))
            self._steps.finalize(job_id)
        except (TransitionLost, TransitionNotAllowed):
            return self.get(job_id)  # another request moved the job (a cancel): its record says what happened
        except Exception as exc:
            self._steps.fail(job_id, type(exc).__name__, str(exc))
            raise
        return self.get(job_id)

    def _execute(self, job: JobRecord, name: str) -> JobRecord:
        """Start the execution. If Step Functions refuses, the job is marked FAILED (releasing its scope, so a retry
        starts afresh) rather than left QUEUED forever; if the job was cancelled meanwhile, the execution is
        stopped; the execution ARN is written only while the job is QUEUED: once the execution's Plan Work ran, the
        record is the execution's (a full-record write here could undo its bookkeeping)."""
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
        for _ in range(ATTEMPTS):
            current = self._jobs.get(job.job_id)
            if current.status == JobStatus.CANCELLED:
                self._stop(arn)
                return current
            if current.status != JobStatus.QUEUED:  # its Plan Work ran already and recorded the execution
                return current
            try:
                return self._steps.lifecycle.move(current, current.status, {"execution_arn": arn})
            except TransitionLost:
                continue
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

    def _exists(self, job_id: str) -> bool:
        try:
            self._jobs.get(job_id)
        except MemeraseError:
            return False
        return True

    def _same_request(self, job_id: str, lock: str, dry_run: bool) -> JobRecord:
        job = self._jobs.get(job_id)
        if job.lock_key() != lock or job.dry_run != dry_run:
            raise JobConflict("this idempotency key was used for a different erasure request")
        return job


def unverified(verdict: dict[str, Any]) -> str:
    """Why a job that ran out of passes is not verified: unfinished work items, or what its last pass found."""
    if verdict["unfinished_items"]:
        return f"{verdict['unfinished_items']} work item(s) of the last pass did not finish"
    return (
        f"the last allowed pass still found {verdict['memories_left']} memory record(s) of the scope "
        f"({verdict['records_left']} store record(s) in all)"
    )
