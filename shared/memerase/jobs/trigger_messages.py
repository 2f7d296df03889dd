"""Trigger messages: erasure requests arriving from queues (SQS) and schedules (EventBridge), validated at the
edge, and the one call that starts a job from one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from memerase.criteria import MAX_AGE_DAYS, requested_days
from memerase.erasure_reason import Justification, ReasonCode, Reference
from memerase.models import MAX_ENTITY_ID_LENGTH

if TYPE_CHECKING:  # the intake (and the engine and job machinery under it) loads when the runtime builds it
    from memerase.jobs.intake import JobIntake
    from memerase.jobs.models import JobRecord, ReplyTo


class ErasureMessage(BaseModel):
    """The body of an SQS erasure request, or the detail of a scheduled one: mem0's filters, flat."""

    model_config = ConfigDict(hide_input_in_errors=True, extra="forbid")

    user_id: str | None = Field(None, max_length=MAX_ENTITY_ID_LENGTH)
    agent_id: str | None = Field(None, max_length=MAX_ENTITY_ID_LENGTH)
    run_id: str | None = Field(None, max_length=MAX_ENTITY_ID_LENGTH)
    older_than_days: StrictInt | None = Field(None, ge=1, le=MAX_AGE_DAYS)
    expired: StrictBool = False
    reason: ReasonCode | None = None
    reference: Reference | None = None
    idempotency_key: str | None = Field(None, max_length=256)


def start_from_message(
    intake: JobIntake, message: ErasureMessage, source: str, default_key: str, reply: ReplyTo | None = None
) -> JobRecord:
    """The one library call every trigger uses, with a key that makes a redelivered message map to the same job. Age
    and expiry cutoffs are fixed here, when the message is handled (a redelivery maps to the job made first)."""
    from memerase.jobs.models import ErasureSpec  # noqa: PLC0415 (the job machinery loads on first use)

    spec = ErasureSpec.of(
        requested_days(message.older_than_days, message.expired),
        user_id=message.user_id,
        agent_id=message.agent_id,
        run_id=message.run_id,
    )
    job, _ = intake.start(
        spec,
        requester=source,  # stamped here, never taken from the message: it decides who may see and cancel the job
        source=source,
        reason=Justification(code=message.reason, reference=message.reference),
        idempotency_key=message.idempotency_key or default_key,
        reply=reply,
    )
    return job
