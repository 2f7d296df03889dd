"""EventBridge Scheduler deliveries of template.yaml's retention schedule: the schedule is created in moto's
EventBridge Scheduler from the template's own target, read back through the API, and its input rendered as Scheduler
renders it when it invokes a Lambda target (the context attributes replaced; the input passed verbatim as the event).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEDULE = "memerase-retention"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:memerase-scheduled-erasure"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !GetAtt, ...) as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def template_target() -> dict[str, Any]:
    """The retention schedule's `Target` in template.yaml (intrinsic functions read as None)."""
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506
    return dict(template["Resources"]["RetentionSchedule"]["Properties"]["Target"])


def create_retention_schedule() -> str:
    """The template's schedule in the AWS endpoint in use (moto), with its input, retry policy and dead-letter queue;
    returns its ARN."""
    target = template_target()
    scheduler = boto3.client("scheduler")
    return str(
        scheduler.create_schedule(
            Name=SCHEDULE,
            ScheduleExpression="cron(0 3 * * ? *)",
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            State="ENABLED",
            Target={
                "Arn": FUNCTION_ARN,
                "RoleArn": "arn:aws:iam::123456789012:role/memerase-retention-scheduler",
                "Input": target["Input"],
                "RetryPolicy": target["RetryPolicy"],
                "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:memerase-retention-dlq"},
            },
        )["ScheduleArn"]
    )


def delivery(scheduled_time: str, attempt: int = 1) -> dict[str, Any]:
    """The event the retention function receives when the schedule fires for `scheduled_time` (attempt `attempt`:
    a retry carries the same scheduled time, a new execution id and the next attempt number)."""
    schedule = boto3.client("scheduler").get_schedule(Name=SCHEDULE)
    text = schedule["Target"]["Input"]
    for attribute, value in (
        ("schedule-arn", schedule["Arn"]),
        ("scheduled-time", scheduled_time),
        ("execution-id", f"d32c5kddcf5bb8c{attempt}"),
        ("attempt-number", str(attempt)),
    ):
        text = text.replace(f"<aws.scheduler.{attribute}>", value)
    event: dict[str, Any] = json.loads(text)
    return event
