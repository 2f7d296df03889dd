"""template.yaml's channels with erase rights: the request bus, the request queue and the IAM API each name who may
use them; no caller-credentials invoke; access logs by route, never by path; secrets never echoed."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.unit.test_template import template

TEMPLATE = template()
RESOURCES = TEMPLATE["Resources"]


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A policy document's statements, conditional ones taken as given (their `Fn::If` true branch)."""
    return [s["If"][1] if "If" in s else s for s in document["Statement"]]


def test_scheduled_erasure_requests_arrive_on_the_dedicated_bus_not_the_default_one() -> None:
    # Given the scheduled-erasure function's EventBridge rule
    rule = RESOURCES["ScheduledErasureFunction"]["Properties"]["Events"]["Requests"]["Properties"]
    # When its bus is read
    # Then it is the stack's erasure-requests bus
    assert rule["EventBusName"] == {"Ref": "ErasureRequestsBus"}
    assert RESOURCES["ErasureRequestsBus"]["Type"] == "AWS::Events::EventBus"


def test_the_request_bus_lets_only_the_named_principals_put_events() -> None:
    # Given the request bus's resource policy
    document = RESOURCES["ErasureRequestsBus"]["Properties"]["Policy"]
    # When it is read
    allow, deny = document["Statement"]
    # Then the named principals are allowed and everyone else is denied, unconditionally
    assert allow["Effect"] == "Allow" and allow["Principal"] == {"AWS": {"Ref": "ErasureRequestPrincipals"}}
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "events:PutEvents"
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Ref": "ErasureRequestPrincipals"}}}


def test_the_request_queue_refuses_plain_http_and_senders_that_are_not_named() -> None:
    # Given the request queue's policy
    policy = RESOURCES["ErasureRequestsQueuePolicy"]["Properties"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    # When its statements are read
    # Then it applies to the request queue, denies every request without TLS, allows the named senders, and
    # denies SendMessage to every other principal
    assert policy["Queues"] == [{"Ref": "ErasureRequestsQueue"}]
    tls = statements["TlsOnly"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statements["NamedSenders"]["Principal"] == {"AWS": {"Ref": "ErasureRequestSenders"}}
    others = statements["NobodyElseSends"]
    assert others["Effect"] == "Deny" and others["Action"] == "sqs:SendMessage"
    assert others["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Ref": "ErasureRequestSenders"}}}


def test_the_iam_api_names_its_callers_and_never_invokes_with_their_credentials() -> None:
    # Given the IAM-authenticated API's auth settings
    auth = RESOURCES["ServiceIamApi"]["Properties"]["Auth"]
    # When they are read
    allow, deny = auth["ResourcePolicy"]["CustomStatements"]
    # Then SAM's CALLER_CREDENTIALS invoke role is off, and only the named principals may call
    assert auth["DefaultAuthorizer"] == "AWS_IAM" and auth["InvokeRole"] == "NONE"
    named = {"Split": [",", {"Ref": "ServiceApiPrincipals"}]}
    assert allow["Principal"] == {"AWS": named}
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": named}}


def test_no_function_event_asks_for_caller_credentials() -> None:
    # Given every API event of every function
    events = [
        e["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::Serverless::Function"
        for e in r["Properties"].get("Events", {}).values()
        if e["Type"] == "Api"
    ]
    assert events
    # When their auth settings are read
    # Then none sets an invoke role
    assert not [e for e in events if "InvokeRole" in e.get("Auth", {})]


def test_both_apis_log_access_by_route_with_the_key_id_never_the_path() -> None:
    # Given both APIs' access log settings
    for name in ("MemeraseApi", "ServiceIamApi"):
        setting = RESOURCES[name]["Properties"]["AccessLogSetting"]
        # When the format is read
        record = json.loads(setting["Format"])
        # Then it is JSON with the route template, request id, status, latency and key id; never the raw path
        assert setting["DestinationArn"] == {"GetAtt": "ApiAccessLogs.Arn"}
        assert record["route"] == "$context.resourcePath" and record["keyId"] == "$context.authorizer.principalId"
        assert {"requestId", "status", "latencyMs"} <= set(record)
        assert "$context.path" not in setting["Format"] and "error.message" not in setting["Format"]


def test_access_logs_are_kept_for_the_configured_retention() -> None:
    # Given the access log group
    group = RESOURCES["ApiAccessLogs"]
    # When its retention is read
    # Then it is the ApiAccessLogRetentionDays parameter
    assert group["Properties"]["RetentionInDays"] == {"Ref": "ApiAccessLogRetentionDays"}


def test_the_targets_configuration_is_never_echoed() -> None:
    # Given the TargetsJson parameter (it may hold an OpenSearch user and password)
    parameter = TEMPLATE["Parameters"]["TargetsJson"]
    # When its settings are read
    # Then CloudFormation never shows its value
    assert parameter["NoEcho"] is True


def test_a_scheduled_request_that_fails_every_retry_lands_in_an_encrypted_dead_letter_queue() -> None:
    # Given the scheduled-erasure function (invoked asynchronously by EventBridge rules and Scheduler)
    invoke_config = RESOURCES["RetentionFunctionInvokeConfig"]["Properties"]
    # When its asynchronous failure settings are read
    destination = invoke_config["DestinationConfig"]["OnFailure"]["Destination"]
    # Then failed invocations go, after their retries, to an SQS queue of the stack, encrypted at rest
    assert invoke_config["FunctionName"] == {"Ref": "ScheduledErasureFunction"}
    assert destination == {"GetAtt": "RetentionDeadLetterQueue.Arn"}
    assert RESOURCES["RetentionDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True


PRINCIPALS = ("ErasureRequestPrincipals", "ErasureRequestSenders", "ServiceApiPrincipals")


def test_who_may_use_the_bus_the_queue_and_the_iam_api_must_be_named_at_deploy() -> None:
    """Issue 18, item 8. Before the fix each parameter defaulted to "" (`AssertionError: assert 'Default' not in
    {'Type': 'CommaDelimitedList', 'Default': '', ...}`): a
    deployment that named nobody left the bus, the queue and the IAM API open to every principal of the account whose
    IAM policies allowed it."""
    parameters = TEMPLATE["Parameters"]
    for name in PRINCIPALS:
        # Given a principal parameter
        parameter = parameters[name]
        # When its settings are read
        # Then it has no default (CloudFormation asks for it) and takes role or user ARNs only, so not ""
        assert "Default" not in parameter, parameter
        pattern = re.compile(parameter["AllowedPattern"])
        assert pattern.match("arn:aws:iam::123456789012:role/erasure-requests")
        assert not pattern.match("") and not pattern.match("*") and not pattern.match("123456789012")
    assert re.compile(parameters["ServiceApiPrincipals"]["AllowedPattern"]).match(
        "arn:aws:iam::123456789012:role/a,arn:aws:iam::123456789012:user/b"
    )
    # And nothing in the template still tells "none given" apart
    assert not {"HasRequestPrincipals", "HasRequestSenders", "HasServiceApiPrincipals"} & set(TEMPLATE["Conditions"])


def test_the_configuration_refuses_unscoped_requests_unless_the_parameter_allows_them() -> None:
    """Issue 18, item 8. Before the fix the parameter did not exist (`KeyError: 'AllowUnscopedRequestCriteria'`)."""
    from memerase.settings import parse_settings
    from tests.unit.test_template_sqs import deployed_config

    # Given the parameter and the configuration the functions get, rendered with its default
    parameter = TEMPLATE["Parameters"]["AllowUnscopedRequestCriteria"]
    config = deployed_config([])
    # When memerase reads it
    settings = parse_settings(config)
    # Then requests by criteria without a filter are refused unless the deployer says otherwise
    assert parameter["Default"] == "false" and parameter["AllowedValues"] == ["true", "false"]
    assert config["requests"]["allow_unscoped_criteria"] is False
    assert settings.requests.allow_unscoped_criteria is False
