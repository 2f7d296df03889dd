"""Erasure requests into jobs: start (or find) the job a request asks for, list, show, cancel and resume jobs. The
library call the triggers (API, SQS, EventBridge) and the CLI use. Status changes go through `JobLifecycle`; a job's
program is run by its `JobRunner`.

A repeated request maps onto the job already erasing its scope: the same idempotency key always does, and without a
key the job holding the scope's lock does, when it selects exactly the same (scope, criteria with their cutoffs,
policy); its requester may then read the job and its reply queue is answered at its end. A job of that lock that
selects otherwise is a conflict (409, naming it). A mapped job that FAILED, or stalled, is resumed, and says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypedDict, Unpack

from memerase.engine import Eraser
from memerase.erasure_reason import ErasureReason, Justification
from memerase.errors import (
    JobConflict,
    JobNotFound,
    MemeraseError,
    ScopeBusy,
    TransitionLost,
    TransitionNotAllowed,
)
from memerase.fingerprint import HasherSource, ScopeHasher
from memerase.jobs.dry_run import count_selection
from memerase.jobs.lifecycle import JobLifecycle
from memerase.jobs.models import ErasureSpec, JobError, JobRecord, JobStatus, ReplyTo
from memerase.jobs.repository import JobsTable, holds_lock, now
from memerase.jobs.runners import JobRunner
from memerase.jobs.tally import JobTally
from memerase.models import Scope
from memerase.observability import logger


class StartOptions(TypedDict, total=False):
    requester: str  # an API key's id, or the trigger's name: who may read and act on the job
    source: str  # api | sqs | schedule | retention | cli
    reason: Justification | ErasureReason | str | None  # a reason code, or a code and a reference (kept hashed)
    idempotency_key: str | None
    dry_run: bool  # counted, not run
    reply: ReplyTo | None  # an SQS request's reply queue, answered when the job ends


class JobIntake:
    def __init__(
        self,
        eraser: Eraser,
        jobs: JobsTable,
        lifecycle: JobLifecycle,
        tally: JobTally,
        runner: JobRunner,
        hasher: HasherSource = ScopeHasher.from_env,
    ):
        self._eraser = eraser
        self._jobs = jobs
        self._lifecycle = lifecycle
        self._tally = tally
        self.runner = runner
        self._hasher = hasher

    def start(self, what: Scope | ErasureSpec, **options: Unpack[StartOptions]) -> tuple[JobRecord, bool]:
        """Start (or find) the job erasing `what`: a scope, or an `ErasureSpec` (a scope, possibly empty, AND
        age/expiry criteria, and the retention policy asking). Returns the job and whether this call created it."""
        spec = what if isinstance(what, ErasureSpec) else ErasureSpec(scope=what)
        hasher = self._hasher()  # before anything is written: without a key nothing starts
        scope_hash = hasher.scope(spec.scope)
        requester = options.get("requester", "unknown")
        key = options.get("idempotency_key")
        if key:  # keys are per requester: one caller's key never reaches another caller's job
            key = hasher.idempotency(f"{requester}\n{key}")
        job_id = "job-" + (key[:32] if key else uuid.uuid4().hex)
        lock = spec.lock_key(scope_hash)
        if key and (bound := self._jobs.claim_key(key, job_id)) and bound != job_id:
            return self._mapped(bound, spec, options, keyed=lock), False
        if key and self._exists(job_id):
            return self._mapped(job_id, spec, options, keyed=lock), False
        dry_run = options.get("dry_run", False)
        keeps = _keeps_lock_for(spec)
        if not dry_run and (holder := self._jobs.claim_scope(lock, job_id, keeps)):
            return self._mapped(holder, spec, options), False
        job = self._record(job_id, spec, scope_hash, options)
        if not self._jobs.create(job):
            return self._mapped(job_id, spec, options, keyed=lock), False
        logger.info(
            "job created", extra={"job_id": job_id, "source": job.source, "actor": requester, "dry_run": dry_run}
        )
        return (self._count(job) if dry_run else self._tally.current(self.runner.run(job))), True

    def _record(self, job_id: str, spec: ErasureSpec, scope_hash: str, options: StartOptions) -> JobRecord:
        why = Justification.of(options.get("reason"))
        reply = options.get("reply")
        dry_run = options.get("dry_run", False)
        stamp = now()
        return JobRecord(
            job_id=job_id,
            scope_hash=scope_hash,
            scope=spec.scope,
            criteria=spec.criteria if spec.criteria is not None and spec.criteria.present else None,
            policy=spec.policy,
            requester=options.get("requester", "unknown"),
            source=options.get("source", "api"),
            reason=why.code,
            reference_hash=self._hasher().reference(why.reference) if why.reference else None,
            dry_run=dry_run,
            created_at=stamp,
            updated_at=stamp,
            runner=None if dry_run else self.runner.name,
            replies=[reply] if reply is not None and not dry_run else [],
        )

    def _count(self, job: JobRecord) -> JobRecord:
        """A dry run: counted in this call, then COMPLETED (FAILED, with the error's name, when a store fails)."""
        try:
            progress, left = count_selection(self._eraser, job)
        except MemeraseError as exc:
            self._lifecycle.fail(job.job_id, JobError(error=type(exc).__name__))
            raise
        return self._lifecycle.counted(job, progress, left)

    def _mapped(self, job_id: str, spec: ErasureSpec, options: StartOptions, keyed: str | None = None) -> JobRecord:
        """The existing job a request maps onto: under the same idempotency key (`keyed`: the request's lock), the
        same request again, its cutoffs computed anew: it must have the job's lock; else it must select exactly the
        same. Its requester may read the job, its reply queue is answered; a FAILED or stalled job is resumed."""
        try:
            job = self.get(job_id)
        except JobNotFound:
            raise JobConflict("another request is starting a job for this scope; try again in a moment") from None
        if keyed is not None:
            if job.dry_run != options.get("dry_run", False) or job.lock_key() != keyed:
                raise JobConflict("this idempotency key was used for a different erasure request")
        elif not _same_selection(job, spec):
            raise ScopeBusy(
                f"job {job.job_id} is {job.status.value} for this scope with other criteria; wait for it to end or "
                "cancel it, then ask again",
                job.job_id,
            )
        job = self._join(job, options)
        if job.status == JobStatus.FAILED or job.stalled:
            resumed = self.resume(job.job_id)
            return resumed.model_copy(update={"resumed": True})
        return job

    def _join(self, job: JobRecord, options: StartOptions) -> JobRecord:
        requester, reply = options.get("requester", "unknown"), options.get("reply")
        readers = job.readers + ([requester] if not job.may_read(requester) else [])
        replies = job.replies + ([reply] if reply is not None and reply not in job.replies else [])
        if (readers, replies) == (job.readers, job.replies) or not (
            job.status.active or job.status == JobStatus.FAILED
        ):
            return job
        try:
            return self._lifecycle.record(job, {"readers": readers, "replies": replies})
        except TransitionLost:
            return self._join(self.get(job.job_id), options)

    def get(self, job_id: str) -> JobRecord:
        """The job from the jobs table alone; one that runs shows its progress as its work-item rows have it now."""
        return self._tally.current(self._jobs.get(job_id))

    def list_jobs(self, limit: int = 20, before: str | None = None) -> list[JobRecord]:
        """Job records, newest first: at most `limit`, created before `before` (the `created_at` of the last job of
        the previous page) when given."""
        return self._jobs.list_jobs(limit, before)

    def cancel(self, job_id: str) -> JobRecord:
        """CANCELLED: once this returns no further delete is sent for the job; its counts are what is gone."""
        try:
            return self._lifecycle.cancel(job_id, stop=self.runner.stop)
        except TransitionNotAllowed as exc:
            raise JobConflict(str(exc)) from exc

    def resume(self, job_id: str) -> JobRecord:
        """Run a FAILED, CANCELLED or stalled job again from its persisted cursors; its counts (and the receipt it
        ends with) include what its earlier runs erased."""
        job = self.get(job_id)
        if job.status == JobStatus.COMPLETED or (job.status.active and not job.stalled):
            raise JobConflict(f"job {job_id} is {job.status.value} and cannot be resumed")
        if job.scope is None:
            raise JobConflict(
                f"job {job_id} can no longer be resumed: its scope was kept for {self._jobs.resume_window_days} "
                "day(s) after it stopped (the resume window) and has been removed; start a new erasure instead"
            )
        if (active := self._jobs.claim_scope(job.lock_key(), job_id)) and active != job_id:
            raise JobConflict(f"job {active} is already erasing this scope")
        # A pass that had finished (e.g. it failed verification) is not re-read: the resumed job scans afresh.
        fresh = job.pass_no > 0 and self._tally.current_pass(job).unfinished == 0
        changes = {
            "pass_no": job.pass_no + 1 if fresh else job.pass_no,
            "rounds": 0,
            "memories_left": None,
            "unfinished_items": None,
            "runner": self.runner.name,
        }
        try:
            job = self._lifecycle.resume(job, changes)
        except (TransitionLost, TransitionNotAllowed) as exc:
            raise JobConflict(f"job {job_id} is {job.status.value} and cannot be resumed") from exc
        logger.info("job resumed", extra={"job_id": job_id, "memories_erased": job.memories_erased})
        return self._tally.current(self.runner.run(job))

    def _exists(self, job_id: str) -> bool:
        try:
            self._jobs.get(job_id)
        except MemeraseError:
            return False
        return True


def _keeps_lock_for(spec: ErasureSpec) -> Callable[[JobRecord], bool]:
    """Whether the lock's holder keeps the lock against a request for `spec`: while it is active, and while it FAILED
    and can be resumed, if it selects the same (a FAILED job of other cutoffs gives way to the new request)."""

    def keeps(held: JobRecord) -> bool:
        return holds_lock(held) and (held.status.active or _same_selection(held, spec))

    return keeps


def _same_selection(job: JobRecord, spec: ErasureSpec) -> bool:
    """Whether a request selects exactly what the job selects: the lock already matched the scope and the kinds of
    criteria; the cutoffs and the policy must match too."""
    criteria = spec.criteria if spec.criteria is not None and spec.criteria.present else None
    return job.criteria == criteria and job.policy == spec.policy
