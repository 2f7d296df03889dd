"""Lambda plumbing the tests share: a Lambda context, and a queue that receives memerase's EventBridge events."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3


@dataclass
class LambdaContext:
    """The part of the Lambda context the handlers use; the remaining time is settable."""

    function_name: str = "memerase-test"
    budget_ms: Callable[[], int] = lambda: 29_000  # noqa: E731
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:memerase-test"

    def get_remaining_time_in_millis(self) -> int:
        return self.budget_ms()


def events_queue() -> str:
    """Route memerase's EventBridge events to a queue the test can read."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="memerase-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="memerase", EventPattern=json.dumps({"source": ["memerase"]}))
    events.put_targets(Rule="memerase", Targets=[{"Id": "q", "Arn": arn}])
    return url


def received(queue_url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]
