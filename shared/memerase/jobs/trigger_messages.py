"""Trigger messages: erasure requests arriving from queues (SQS) and schedules (EventBridge), validated at the
edge, and the one call that starts a job from one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator
from pydantic_core import PydanticCustomError

from memerase.criteria import MAX_AGE_DAYS, requested_days
from memerase.erasure_reason import Justification, ReasonCode, Reference
from memerase.errors import UnscopedCriteria
from memerase.models import MAX_ENTITY_ID_LENGTH

if TYPE_CHECKING:  # the intake (and the engine and job machinery under it) loads when the runtime builds it
    from memerase.jobs.intake import JobIntake
    from memerase.jobs.models import JobRecord, ReplyTo


# Each channel is its own requester: an idempotency key is qualified by it, so one channel's key never reaches another
# channel's job. The API's requester is the key id; the retention schedule's is `schedule` (retention_runs).
SQS = "sqs"
EVENTBRIDGE = "eventbridge"
RESERVED_KEY_PREFIX = "retention:"  # the retention schedule's own keys (retention_runs.idempotency_key)


def not_reserved(key: str | None) -> str | None:
    """A request's idempotency key, refused when it takes the form of the retention schedule's keys."""
    if key is not None and key.lower().startswith(RESERVED_KEY_PREFIX):
        raise PydanticCustomError("reserved_key", "the `retention:` prefix is reserved for the retention schedule")
    return key


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

    @field_validator("idempotency_key")
    @classmethod
    def _key_not_reserved(cls, key: str | None) -> str | None:
        return not_reserved(key)

    @property
    def unscoped_criteria(self) -> bool:
        """Age or expiry criteria without any user, agent or run filter: every user's memories."""
        no_filter = self.user_id is None and self.agent_id is None and self.run_id is None
        return no_filter and (self.older_than_days is not None or self.expired)


def start_from_message(
    intake: JobIntake,
    message: ErasureMessage,
    source: str,
    default_key: str,
    reply: ReplyTo | None = None,
    unscoped_allowed: bool = False,
) -> JobRecord:
    """The one library call every trigger uses, with a key that makes a redelivered message map to the same job. Age
    and expiry cutoffs are fixed here, when the message is handled (a redelivery maps to the job made first).

    Criteria without a filter (every user's memories) are refused unless `unscoped_allowed`
    (`requests.allow_unscoped_criteria`): the API asks an admin key for the same request."""
    from memerase.jobs.models import ErasureSpec  # noqa: PLC0415 (the job machinery loads on first use)

    if message.unscoped_criteria and not unscoped_allowed:
        raise UnscopedCriteria(
            "an erasure by age or expiry without a user, agent or run filter erases every user's memories: "
            "refused on this channel unless `requests.allow_unscoped_criteria` is true"
        )
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
