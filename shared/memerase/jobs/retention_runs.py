"""A scheduled retention run: one erasure job per retention policy, through the same intake and state machine as
every other job (resumable, verified, with a receipt naming the policy and its cutoff, never a user id).

The run's time is the schedule's (EventBridge Scheduler's `<aws.scheduler.scheduled-time>`), never the clock at
invocation: a redelivered or retried invocation computes the same cutoffs, and the idempotency key of each policy's
job is derived from (policy, scheduled time), so it finds the job the first invocation started instead of starting a
second. One failing policy does not stop the others; `raise_if_failed` then fails the invocation, so the retries and
the dead-letter queue see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from memerase.erasure_reason import ErasureReason, Justification
from memerase.errors import MemeraseError, ScopeBusy
from memerase.jobs.trigger_messages import RESERVED_KEY_PREFIX
from memerase.observability import logger
from memerase.retention import POLICY_NAME, RetentionPolicy, select_policies

if TYPE_CHECKING:  # the job machinery loads when the runtime builds the intake, not when the handler imports
    from memerase.jobs.intake import JobIntake
    from memerase.jobs.models import JobRecord

SCHEDULE = "schedule"  # the retention schedule's requester: no request channel shares it

Outcome = Literal["started", "counted", "redelivered", "already_running", "resumed", "failed"]


class RetentionInvocation(BaseModel):
    """What the schedule's target input says: which policies to run ("all" or one name) and the scheduled time."""

    model_config = ConfigDict(hide_input_in_errors=True, extra="forbid", frozen=True)

    retention: str = Field(pattern=POLICY_NAME, description='"all", or the name of one retention policy')
    scheduled_time: AwareDatetime = Field(description="<aws.scheduler.scheduled-time>, e.g. 2026-12-01T03:00:00Z")


class PolicyOutcome(BaseModel):
    """What one policy's part of a run did (names, ids, statuses, cutoffs: no user ids)."""

    model_config = ConfigDict(hide_input_in_errors=True)

    policy: str
    outcome: Outcome
    job_id: str | None = None
    status: str | None = None
    criteria: dict[str, str] | None = Field(None, description="the cutoff(s) this run fixed for the policy")
    error: str | None = Field(None, description="the error's class name, when the policy failed")


class RetentionRunFailed(MemeraseError):
    """Some policies of a scheduled run failed (the others ran): the invocation fails so it is retried."""

    code = "retention_run_failed"
    status = 500


def idempotency_key(policy: RetentionPolicy, scheduled: AwareDatetime) -> str:
    """(policy, scheduled time), under the schedule's own requester; no other channel may send this prefix."""
    return f"{RESERVED_KEY_PREFIX}{policy.name}:{scheduled.astimezone(UTC).isoformat()}"


def start_policies(
    intake: JobIntake, policies: Sequence[RetentionPolicy], scheduled: AwareDatetime
) -> list[PolicyOutcome]:
    """Start (or find) the job of every policy for the run scheduled at `scheduled`; never stops at a failure."""
    outcomes = []
    for policy in policies:
        try:
            outcome = start_policy(intake, policy, scheduled)
        except Exception as exc:  # one policy's failure is reported; the others still run
            outcome = PolicyOutcome(policy=policy.name, outcome="failed", error=type(exc).__name__)
        log = logger.warning if outcome.outcome == "failed" else logger.info
        log(
            "retention policy",
            extra={"policy": policy.name, "outcome": outcome.outcome, "job_id": outcome.job_id, "error": outcome.error},
        )
        outcomes.append(outcome)
    return outcomes


def start_policy(intake: JobIntake, policy: RetentionPolicy, scheduled: AwareDatetime) -> PolicyOutcome:
    """The policy's job for this run: started now, or the one a first delivery of the same run started (a FAILED one
    is resumed: the redelivery is the retry), or, while an earlier run's job of the policy is still active, that one
    (reported, not duplicated)."""
    from memerase.jobs.models import ErasureSpec  # noqa: PLC0415 (the job machinery loads on first use)

    criteria = policy.criteria_at(scheduled)
    spec = ErasureSpec(scope=policy.scope(), criteria=criteria, policy=policy.name)
    try:
        job, created = intake.start(
            spec,
            requester=SCHEDULE,
            source=SCHEDULE,
            reason=Justification(code=ErasureReason.RETENTION),
            idempotency_key=idempotency_key(policy, scheduled),
            dry_run=policy.dry_run,
        )
    except ScopeBusy as busy:  # the lock of the policy is held by an earlier run's job, of other cutoffs
        return _outcome(policy, "already_running", intake.get(busy.job_id))
    outcome: Outcome
    if created:
        outcome = "counted" if policy.dry_run else "started"
    elif job.resumed:  # a FAILED job of the same run: the redelivery is the retry
        outcome = "resumed"
    else:
        outcome = "redelivered"
    return _outcome(policy, outcome, job)


def _outcome(policy: RetentionPolicy, outcome: Outcome, job: JobRecord) -> PolicyOutcome:
    shown = job.criteria.model_dump(mode="json", exclude_none=True) if job.criteria is not None else None
    return PolicyOutcome(
        policy=policy.name, outcome=outcome, job_id=job.job_id, status=job.status.value, criteria=shown
    )


def raise_if_failed(outcomes: Sequence[PolicyOutcome]) -> None:
    failed = [o.policy for o in outcomes if o.outcome == "failed"]
    if failed:
        raise RetentionRunFailed(
            f"{len(failed)} of {len(outcomes)} retention policies failed ({', '.join(failed)}); the others ran"
        )


def run_scheduled(
    intake: JobIntake, policies: Sequence[RetentionPolicy], invocation: RetentionInvocation
) -> list[PolicyOutcome]:
    """A scheduled invocation: the policies it names, each started (or found) for its scheduled time; raises
    RetentionRunFailed at the end when any failed (each outcome is logged as it happens)."""
    chosen = select_policies(policies, invocation.retention)
    if not chosen:
        logger.info("retention: no policies configured; nothing to run")
    outcomes = start_policies(intake, chosen, invocation.scheduled_time)
    raise_if_failed(outcomes)
    return outcomes
