"""template.yaml: the retention schedule (EventBridge Scheduler) invokes the retention function with an input the
function reads, through a role that may do nothing else, with a retry policy and a dead-letter queue the scheduler
may send to; the policies reach the functions' configuration."""

from __future__ import annotations

import json
import re
from typing import Any

from memerase.jobs.retention_runs import RetentionInvocation
from tests.unit.test_template import template


def resources() -> dict[str, Any]:
    return dict(template()["Resources"])


def test_the_schedule_runs_daily_in_utc_by_default_and_can_be_switched_off() -> None:
    # Given the template's parameters and its schedule
    params, schedule = template()["Parameters"], resources()["RetentionSchedule"]["Properties"]
    # When the schedule's expression, time zone and state are followed to their parameters
    # Then they default to daily at 03:00, UTC, enabled, and DISABLED is allowed
    assert schedule["ScheduleExpression"] == {"Ref": "RetentionScheduleExpression"}
    assert params["RetentionScheduleExpression"]["Default"] == "cron(0 3 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == {"Ref": "RetentionScheduleTimezone"}
    assert params["RetentionScheduleTimezone"]["Default"] == "UTC"
    assert schedule["State"] == {"Ref": "RetentionScheduleState"}
    assert params["RetentionScheduleState"]["AllowedValues"] == ["ENABLED", "DISABLED"]
    assert params["RetentionScheduleState"]["Default"] == "ENABLED"
    # And the scheduled time is exact (no flexible window), so every delivery carries the same one
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}


def test_the_schedule_target_input_is_what_the_retention_function_reads() -> None:
    # Given the schedule's target
    target = resources()["RetentionSchedule"]["Properties"]["Target"]
    # When its input is templated as EventBridge Scheduler does
    delivered = target["Input"].replace("<aws.scheduler.scheduled-time>", "2026-12-01T03:00:00Z")
    invocation = RetentionInvocation.model_validate(json.loads(delivered))
    # Then it names every policy and the scheduled time, and it goes to the retention (scheduled erasure) function
    assert invocation.retention == "all" and invocation.scheduled_time.isoformat() == "2026-12-01T03:00:00+00:00"
    assert target["Arn"] == {"GetAtt": "ScheduledErasureFunction.Arn"}


def test_the_schedule_role_may_only_invoke_the_retention_function() -> None:
    # Given the schedule's role
    role = resources()["RetentionSchedulerRole"]["Properties"]
    assert resources()["RetentionSchedule"]["Properties"]["Target"]["RoleArn"] == {
        "GetAtt": "RetentionSchedulerRole.Arn"
    }
    # When its trust and permissions are read
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    # Then only EventBridge Scheduler (of this account) assumes it, and it may only invoke that one function
    assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}]
    assert trust[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert statements == [
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": {"GetAtt": "ScheduledErasureFunction.Arn"}}
    ]
    assert "ManagedPolicyArns" not in role


def test_failed_invocations_are_retried_then_land_in_a_dead_letter_queue_the_scheduler_may_send_to() -> None:
    # Given the schedule's target, the dead-letter queue's policy and the function's asynchronous invocation config
    found = resources()
    target = found["RetentionSchedule"]["Properties"]["Target"]
    queue_policy = found["RetentionDeadLetterQueuePolicy"]["Properties"]
    invoke_config = found["RetentionFunctionInvokeConfig"]["Properties"]
    dlq = {"GetAtt": "RetentionDeadLetterQueue.Arn"}
    # When they are read
    # Then the schedule retries, then sends to the queue
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1 and target["DeadLetterConfig"] == {"Arn": dlq}
    # And the queue's policy lets the schedule's role (as which the scheduler sends) send to it, and nothing else
    assert queue_policy["Queues"] == [{"Ref": "RetentionDeadLetterQueue"}]
    assert queue_policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "SchedulerDeadLetters",
            "Effect": "Allow",
            "Principal": {"AWS": {"GetAtt": "RetentionSchedulerRole.Arn"}},
            "Action": "sqs:SendMessage",
            "Resource": dlq,
        }
    ]
    # And a function error (a failed policy: Scheduler invokes Lambda asynchronously) is retried by Lambda, then
    # sent to the same queue, which the function's role may send to
    assert invoke_config["FunctionName"] == {"Ref": "ScheduledErasureFunction"}
    assert invoke_config["MaximumRetryAttempts"] == 2
    assert invoke_config["DestinationConfig"] == {"OnFailure": {"Destination": dlq}}
    grant = found["RetentionFunctionFailuresPolicy"]["Properties"]
    assert grant["Roles"] == [{"Ref": "ScheduledErasureFunctionRole"}]
    assert grant["PolicyDocument"]["Statement"] == [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dlq}]


def test_the_policies_reach_every_function_configuration_and_default_to_none() -> None:
    # Given the functions' MEMERASE_CONFIG and the policies parameter
    env = template()["Globals"]["Function"]["Environment"]["Variables"]["MEMERASE_CONFIG"]["Sub"]
    parameter = template()["Parameters"]["RetentionPoliciesJson"]
    # When the configuration is rendered with the parameter's default and a sample target
    rendered = env[0].replace("${TargetsJson}", "[]").replace("${ReplyQueues}", "[]")
    rendered = rendered.replace("${RetentionPoliciesJson}", parameter["Default"])
    for flag in ("${AllowReset}", "${AllowUnscopedRequestCriteria}"):
        rendered = rendered.replace(flag, "false")
    config = json.loads(re.sub(r"\$\{\w+\}", "x", rendered))
    # Then the configuration's `retention` is the parameter, an empty list by default
    assert config["retention"] == []


def test_an_alarm_fires_when_the_retention_dead_letter_queue_holds_a_message() -> None:
    # Given the alarm on the retention dead-letter queue
    alarm = resources()["RetentionDeadLetterQueueAlarm"]["Properties"]
    # When its metric and threshold are read
    # Then it watches that queue's visible messages and fires on the first one
    assert alarm["Namespace"] == "AWS/SQS" and alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"GetAtt": "RetentionDeadLetterQueue.QueueName"}}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
