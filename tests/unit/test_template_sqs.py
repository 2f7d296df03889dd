"""template.yaml's SQS erasure requests and alarms: the configuration it gives the functions (allowed reply queues,
the dead-letter queue) is one memerase reads; reply queues are writable exactly where jobs end; the alarms watch the
dead-letter queue and the metric failed jobs emit, and notify the topic only when one is given."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from memerase.observability import metrics
from memerase.settings import parse_settings
from tests.unit.test_template import template

ROOT = Path(__file__).resolve().parents[2]
REPLY_ARNS = ["arn:aws:sqs:eu-west-1:123456789012:crm-replies", "arn:aws:sqs:eu-west-1:123456789012:audit-replies"]
# The functions that can end a job: Finalize Job and Record Failure, the request function (a job whose execution
# could not start is marked FAILED; a redelivered request resumes its failed job), the API (cancel, resume).
ENDING_FUNCTIONS = {"JobFinalizeFunction", "JobFailFunction", "SqsErasureFunction", "ApiErasuresFunction"}


def evaluate(node: Any, values: dict[str, Any], conditions: dict[str, bool]) -> Any:
    """The few intrinsic functions the configuration uses (Ref, Join, If, Sub), over the parsed template; `values`
    gives parameters and resources their values."""
    if isinstance(node, list):
        return [evaluate(n, values, conditions) for n in node]
    if not isinstance(node, dict) or len(node) != 1:
        return node
    [(name, arg)] = node.items()
    if name == "Ref":
        return values[arg]
    if name == "Join":
        separator, items = arg
        return separator.join(evaluate(items, values, conditions))
    if name == "If":
        condition, then, otherwise = arg
        return evaluate(then if conditions[condition] else otherwise, values, conditions)
    if name == "Sub":
        text, variables = (arg, {}) if isinstance(arg, str) else arg
        known = {**values, **{k: evaluate(v, values, conditions) for k, v in variables.items()}}
        return re.sub(r"\$\{([\w:]+)\}", lambda m: str(known.get(m.group(1), f"<{m.group(1)}>")), text)
    return node


def deployed_config(reply_arns: list[str]) -> dict[str, Any]:
    """The MEMERASE_CONFIG every function gets, as CloudFormation would render it for these reply queue ARNs."""
    raw = template()["Globals"]["Function"]["Environment"]["Variables"]["MEMERASE_CONFIG"]
    values = {
        "TargetsJson": json.dumps(
            [{"name": "s3", "vector_store": {"provider": "s3_vectors", "config": {"vector_bucket_name": "mem0-prod"}}}]
        ),
        "HistoryTable": "stack-HistoryTable-1",
        "JobsTable": "stack-JobsTable-1",
        "ApiKeysTable": "stack-ApiKeysTable-1",
        "AllowReset": "false",
        "AllowUnscopedRequestCriteria": "false",
        "ErasureRequestsDeadLetterQueue": "https://sqs.eu-west-1.amazonaws.com/123456789012/stack-Dlq-1",
        "ReplyQueueArns": reply_arns,
        "RetentionPoliciesJson": "[]",
        "ScopeHashSecret": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ScopeHashSecret-AbCdEf",
    }
    rendered = evaluate({"Sub": raw["Sub"]}, values, {"HasReplyQueues": bool(reply_arns)})
    document: dict[str, Any] = json.loads(rendered)
    return document


@pytest.mark.parametrize("reply_arns", [REPLY_ARNS, []], ids=["two reply queues", "none"])
def test_the_configuration_the_functions_get_names_the_reply_queues_and_the_dead_letter_queue(
    reply_arns: list[str],
) -> None:
    # Given the template's configuration, rendered for a ReplyQueueArns parameter
    config = deployed_config(reply_arns)
    # When memerase reads it
    settings = parse_settings(config)
    # Then it allows exactly those reply queues and moves malformed requests to the stack's dead-letter queue
    assert settings.requests.reply_queues == reply_arns
    assert settings.requests.dead_letter_queue_url == "https://sqs.eu-west-1.amazonaws.com/123456789012/stack-Dlq-1"
    for arn in reply_arns:
        assert settings.requests.allowed_reply(arn) is not None


def test_reply_queues_are_writable_by_the_functions_that_end_jobs_and_only_when_some_are_given() -> None:
    # Given the template's resources
    resources = template()["Resources"]
    # When the policies that allow sqs:SendMessage are read
    policies = {
        name: r
        for name, r in resources.items()
        if r["Type"] == "AWS::IAM::Policy"
        and any(s["Action"] == "sqs:SendMessage" for s in r["Properties"]["PolicyDocument"]["Statement"])
    }
    replies = policies["ReplyQueuesSendPolicy"]
    dead_letters = policies["DeadLetterSendPolicy"]
    # Then the reply queues (the parameter, nothing wider) are writable by the roles of the functions that end jobs,
    # only when the parameter names some; the dead-letter queue by the request function alone
    assert replies["Condition"] == "HasReplyQueues"
    assert [s["Resource"] for s in replies["Properties"]["PolicyDocument"]["Statement"]] == [{"Ref": "ReplyQueueArns"}]
    assert {r["Ref"] for r in replies["Properties"]["Roles"]} == {f"{f}Role" for f in ENDING_FUNCTIONS}
    assert [s["Resource"] for s in dead_letters["Properties"]["PolicyDocument"]["Statement"]] == [
        {"GetAtt": "ErasureRequestsDeadLetterQueue.Arn"}
    ]
    assert dead_letters["Properties"]["Roles"] == [{"Ref": "SqsErasureFunctionRole"}]
    assert template()["Conditions"]["HasReplyQueues"] == {
        "Not": [{"Equals": [{"Join": ["", {"Ref": "ReplyQueueArns"}]}, ""]}]
    }


def test_the_alarms_watch_the_dead_letter_queue_and_the_failed_jobs_metric_and_notify_only_a_given_topic() -> None:
    # Given the template's alarms
    alarms = {k: v["Properties"] for k, v in template()["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    dlq, failed = alarms["ErasureRequestsDeadLetterAlarm"], alarms["FailedErasureJobsAlarm"]
    # When what each watches is read
    # Then one fires as soon as the dead-letter queue holds a message
    assert (dlq["Namespace"], dlq["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": {"GetAtt": "ErasureRequestsDeadLetterQueue.QueueName"}}]
    # And the other on the metric a failing job emits, in the namespace and service dimension memerase publishes
    lifecycle = (ROOT / "shared" / "memerase" / "jobs" / "lifecycle.py").read_text()
    assert f'FAILED: "{failed["MetricName"]}"' in lifecycle
    assert failed["Namespace"] == metrics.namespace
    assert failed["Dimensions"] == [{"Name": "service", "Value": metrics.service}]
    # And both fire on any count above zero, stay quiet without data, and notify the topic only when one is given
    notify = {"If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    for alarm in (dlq, failed):
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"] == notify and alarm["OKActions"] == notify
    assert template()["Parameters"]["AlarmTopicArn"]["Default"] == ""
