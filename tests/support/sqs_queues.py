"""Real SQS queues in moto for the SQS trigger's tests: a requests queue with its dead-letter queue (redrive policy),
reply queues, and what Lambda's event source mapping does between them: ReceiveMessage, the records turned into the
Lambda SQS event shape, then the processed records deleted and the failed ones made visible again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

REGION = "us-east-1"


def create_queue(name: str, attributes: dict[str, str] | None = None) -> tuple[str, str]:
    """(URL, ARN) of a new standard queue."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name, Attributes=attributes or {})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive_all(queue_url: str) -> list[dict[str, Any]]:
    """Every visible message of the queue, with its attributes and message attributes (received, so they turn
    invisible for the queue's visibility timeout)."""
    sqs = boto3.client("sqs", region_name=REGION)
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return found
        found += batch


def bodies(queue_url: str) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in receive_all(queue_url)]


def lambda_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One received SQS message in the shape Lambda's event source mapping delivers it."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


@dataclass(frozen=True)
class RequestQueue:
    """The requests queue and its dead-letter queue, as template.yaml makes them (redrive after `max_receive`)."""

    url: str
    arn: str
    dlq_url: str
    dlq_arn: str

    @classmethod
    def create(cls, name: str = "erasure-requests", max_receive: int = 3) -> RequestQueue:
        dlq_url, dlq_arn = create_queue(f"{name}-dlq")
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)})
        url, arn = create_queue(name, {"VisibilityTimeout": "60", "RedrivePolicy": redrive})
        return cls(url, arn, dlq_url, dlq_arn)

    def send(self, *messages: str | dict[str, Any]) -> list[str]:
        """Send each body (a dict is sent as JSON); their message ids."""
        sqs = boto3.client("sqs", region_name=REGION)
        return [
            sqs.send_message(QueueUrl=self.url, MessageBody=m if isinstance(m, str) else json.dumps(m))["MessageId"]
            for m in messages
        ]

    def poll(self) -> dict[str, Any]:
        """What the event source mapping hands the function: up to 10 received messages as a Lambda SQS event."""
        received = boto3.client("sqs", region_name=REGION).receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        )
        return {"Records": [lambda_record(m, self.arn) for m in received.get("Messages", [])]}

    def settle(self, event: dict[str, Any], response: dict[str, Any]) -> None:
        """As the event source mapping does with a partial batch response: the records not named failed are deleted;
        the failed ones are left for redelivery (made visible again at once, instead of after the timeout)."""
        sqs = boto3.client("sqs", region_name=REGION)
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        for record in event["Records"]:
            if record["messageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=self.url, ReceiptHandle=record["receiptHandle"])

    def dead_letters(self) -> list[dict[str, Any]]:
        """The dead-letter queue's messages: body and message attributes (string values)."""
        return [
            {
                "body": m["Body"],
                "attributes": {k: v.get("StringValue") for k, v in m.get("MessageAttributes", {}).items()},
            }
            for m in receive_all(self.dlq_url)
        ]
