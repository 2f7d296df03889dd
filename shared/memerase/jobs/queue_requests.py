"""SQS erasure requests: a queue message read and checked at the edge, then the job it asks for started (or found).

A malformed message (bad JSON, not an object, unknown fields, wrong types, no filter, age or expiry criteria without a
filter (unless `requests.allow_unscoped_criteria`), a key with the retention schedule's prefix, wildcard or otherwise
invalid ids, a `reply_to` queue that is not allowed, an idempotency key reused for another scope) is refused: retrying
it cannot help, so it is recorded with a reason code (never its values) and moved to the dead-letter queue at once, with
message attributes naming the reason. A valid message that fails for a transient reason raises, so the batch reports it
failed and SQS redelivers it (the redrive policy moves it to the dead-letter queue in the end); a redelivered message
whose job failed resumes that job.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field, ValidationError, field_validator

from memerase.errors import (
    ConfigError,
    InvalidRequest,
    JobConflict,
    MissingFilter,
    TransitionLost,
    TransitionNotAllowed,
    UnscopedCriteria,
)
from memerase.jobs.intake import JobIntake
from memerase.jobs.models import JobRecord, ReplyTo
from memerase.jobs.queues import Queues
from memerase.jobs.trigger_messages import SQS, ErasureMessage, not_reserved, start_from_message
from memerase.models import ENTITY_KEYS, MEM0_WILDCARD, validate_entity_id
from memerase.observability import count, logger
from memerase.request_settings import RequestsConfig

SOURCE = SQS
REASON_ATTRIBUTE = "memerase-reason"
FIELD_ATTRIBUTE = "memerase-field"
MESSAGE_ID_ATTRIBUTE = "memerase-message-id"

# pydantic error types, as reason codes an operator reads on the dead-letter queue
_REASONS = {
    "json_invalid": "bad_json",
    "json_type": "bad_json",
    "model_type": "not_an_object",
    "model_attributes_type": "not_an_object",
    "dict_type": "not_an_object",
    "extra_forbidden": "unknown_field",
    "string_too_long": "bad_length",
    "string_too_short": "bad_length",
    "reserved_key": "reserved_key",
}


class QueueMessage(ErasureMessage):
    """An SQS erasure request: the trigger message, plus where and under which id its job's end is answered."""

    reply_to: str | None = Field(None, min_length=1, max_length=1024, description="an allowed SQS queue URL or ARN")
    request_id: str | None = Field(
        None, min_length=1, max_length=256, description="named in the reply (default: the SQS message id)"
    )

    @field_validator("request_id")
    @classmethod
    def _request_id_not_reserved(cls, request_id: str | None) -> str | None:
        return not_reserved(request_id)  # the job's idempotency key when the request names none


class Refusal(Exception):
    """Why a message is malformed: a reason code, and the known field it concerns (never a value, nor a key the
    caller made up)."""

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(f"erasure request refused: {reason}" + (f" ({field})" if field else ""))
        self.reason = reason
        self.field = field


class RequestIntake:
    def __init__(self, intake: JobIntake, config: RequestsConfig, queues: Queues):
        self._intake = intake
        self._config = config
        self._queues = queues

    def handle(self, message_id: str, body: str) -> str | None:
        """The job id the message's request maps to; None for a malformed message moved to the dead-letter queue
        (the record is then processed). Raises `Refusal` for a malformed one when no dead-letter queue is configured,
        and whatever a transient failure raised, so that the record is reported failed."""
        try:
            job = self._start(message_id, body)
        except Refusal as refusal:
            logger.warning(
                "erasure request refused",
                extra={"reason": refusal.reason, "field": refusal.field, "message_id": message_id, "source": SOURCE},
            )
            count("ErasureRequestsRefused", 1)
            if self._config.dead_letter_queue_url is None:
                raise
            self._dead_letter(message_id, body, refusal)
            return None
        logger.info("erasure requested", extra={"job_id": job.job_id, "source": SOURCE, "status": job.status.value})
        return job.job_id

    def _start(self, message_id: str, body: str) -> JobRecord:
        message = read_message(body)
        reply = self._reply(message, message_id)
        try:
            job = start_from_message(
                self._intake,
                message,
                source=SOURCE,
                default_key=message.request_id or f"sqs:{message_id}",
                reply=reply,
                unscoped_allowed=self._config.allow_unscoped_criteria,
            )
        except (ConfigError, TransitionLost, TransitionNotAllowed):
            raise  # not the message's fault: reported failed, retried
        except (InvalidRequest, JobConflict) as exc:
            raise refusal_of(exc, message) from None
        return job  # a FAILED job of the same request was resumed by the intake

    def _reply(self, message: QueueMessage, message_id: str) -> ReplyTo | None:
        if message.reply_to is None:
            return None
        allowed = self._config.allowed_reply(message.reply_to)
        if allowed is None:
            raise Refusal("reply_to_not_allowed", "reply_to")
        return ReplyTo(queue_url=allowed.url, request_id=message.request_id or message_id)

    def _dead_letter(self, message_id: str, body: str, refusal: Refusal) -> None:
        attributes = {REASON_ATTRIBUTE: refusal.reason, MESSAGE_ID_ATTRIBUTE: message_id}
        if refusal.field:
            attributes[FIELD_ATTRIBUTE] = refusal.field
        assert self._config.dead_letter_queue_url is not None
        self._queues.send(self._config.dead_letter_queue_url, body, attributes)
        count("ErasureRequestsDeadLettered", 1)


def read_message(body: str) -> QueueMessage:
    """The message, or a `Refusal` naming the first problem pydantic found (its type and known field only). A key
    given twice is refused (`duplicate_key`): JSON parsers disagree on which value wins."""
    repeated = _repeated_key(body)
    if repeated is not None:
        raise Refusal("duplicate_key", repeated if repeated in QueueMessage.model_fields else None)
    try:
        return QueueMessage.model_validate_json(body)
    except ValidationError as exc:
        error = exc.errors(include_input=False, include_url=False)[0]
        kind = str(error["type"])
        reason = _REASONS.get(kind) or ("wrong_type" if kind.endswith("_type") else "invalid_value")
        loc = error.get("loc") or ()
        field = str(loc[0]) if loc and loc[0] in QueueMessage.model_fields and reason != "unknown_field" else None
        raise Refusal(reason, field) from None


class _Repeated(Exception):
    def __init__(self, key: str):
        self.key = key


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _Repeated(key)
        seen.add(key)
    return dict(pairs)


def _repeated_key(body: str) -> str | None:
    """The first key some object of the body gives twice; None if none does (or the body is not JSON: pydantic
    then says how)."""
    try:
        json.loads(body, object_pairs_hook=_no_repeats)
    except _Repeated as repeated:
        return repeated.key
    except (ValueError, TypeError, RecursionError):
        return None
    return None


def refusal_of(exc: InvalidRequest | JobConflict, message: QueueMessage) -> Refusal:
    """The reason code of a request the intake refused."""
    if isinstance(exc, MissingFilter):
        return Refusal("missing_filter")
    if isinstance(exc, UnscopedCriteria):
        return Refusal("unscoped_criteria")
    if isinstance(exc, JobConflict):
        return Refusal("idempotency_conflict", "request_id" if message.idempotency_key is None else "idempotency_key")
    for name in ENTITY_KEYS:
        value = getattr(message, name)
        try:
            validate_entity_id(value, name)
        except InvalidRequest:
            wildcard = str(value).strip() == MEM0_WILDCARD
            return Refusal("wildcard_filter" if wildcard else "invalid_filter", name)
    return Refusal("invalid_request")
