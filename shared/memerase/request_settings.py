"""SQS erasure requests in the configuration (`requests`): the queues a request may name as its `reply_to`, and the
dead-letter queue a malformed request is moved to at once (instead of being redelivered until the redrive policy
moves it)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import Field, StrictBool, field_validator

from memerase.strict import Strict as _Strict

_NAME = r"[A-Za-z0-9_-]{1,80}(?:\.fifo)?"
_ARN = re.compile(rf"^arn:(aws[a-z-]*):sqs:([a-z0-9-]{{1,30}}):(\d{{12}}):({_NAME})$")
_URL = re.compile(rf"^https?://([A-Za-z0-9.:-]{{1,253}})/(\d{{12}})/({_NAME})$")
_REGIONAL_HOST = re.compile(r"^(?:sqs\.([a-z0-9-]+)\.amazonaws\.com|([a-z0-9-]+)\.queue\.amazonaws\.com)(?:\.cn)?$")


@dataclass(frozen=True)
class QueueRef:
    """An SQS queue named by its URL or ARN: its account, name and (when the name says it) region, and the URL to
    send to."""

    account: str
    name: str
    region: str | None
    url: str

    @classmethod
    def parse(cls, value: str) -> QueueRef | None:
        """The queue `value` names, or None when it is not an SQS queue URL or ARN."""
        if arn := _ARN.match(value):
            partition, region, account, name = arn.groups()
            suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
            return cls(account, name, region, f"https://sqs.{region}.{suffix}/{account}/{name}")
        if url := _URL.match(value):
            host, account, name = url.groups()
            regional = _REGIONAL_HOST.match(host)
            region = (regional.group(1) or regional.group(2)) if regional else None
            return cls(account, name, region, value)
        return None

    def same_queue(self, other: QueueRef) -> bool:
        """The same account and name, and the same region when both say theirs."""
        regions_agree = self.region is None or other.region is None or self.region == other.region
        return (self.account, self.name) == (other.account, other.name) and regions_agree


class RequestsConfig(_Strict):
    """SQS and EventBridge erasure requests: which reply queues a request may name, where malformed requests go, and
    whether a request may erase by age or expiry across every scope."""

    reply_queues: list[str] = Field(
        default_factory=list,
        description="queue URLs or ARNs a request may name as `reply_to`; a request naming any other is refused",
    )
    dead_letter_queue_url: str | None = Field(
        None,
        min_length=1,
        description="the requests queue's dead-letter queue: a malformed request is sent there at once, with its "
        "reason code, and not retried (unset: it is reported failed and reaches it through the redrive policy)",
    )
    region_name: str | None = None
    allow_unscoped_criteria: StrictBool = Field(
        False,
        description="queue and EventBridge requests by age or expiry without a user, agent or run filter erase every "
        "user's old memories: refused unless true (the API asks an admin key for the same request)",
    )

    @field_validator("reply_queues")
    @classmethod
    def _queues(cls, queues: list[str]) -> list[str]:
        for queue in queues:
            if QueueRef.parse(queue) is None:
                raise ValueError(f"{queue!r} is not an SQS queue URL or ARN")
        return queues

    def allowed_reply(self, reply_to: str) -> QueueRef | None:
        """The configured queue `reply_to` names, or None when it names no allowed queue."""
        asked = QueueRef.parse(reply_to)
        if asked is None:
            return None
        allowed = (QueueRef.parse(q) for q in self.reply_queues)
        return next((q for q in allowed if q is not None and q.same_queue(asked)), None)
