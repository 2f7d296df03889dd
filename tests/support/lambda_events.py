"""A queue that receives memerase's EventBridge events, for tests that check what was published.

The Lambda context is `memerase_local.handlers.LambdaContext`."""

from __future__ import annotations

import json
from typing import Any

import boto3


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
