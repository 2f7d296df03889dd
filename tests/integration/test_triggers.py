"""SQS and EventBridge triggers, and `memerase keys`: real event shapes, the same library call, jobs run inline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import boto3
import pytest

from memerase import runtime
from memerase_local.handlers import LambdaContext
from tests.support import mem0_data as m0
from tests.support.targets import KEYS_TABLE, Deploy, create_tables, memerase_config


@pytest.fixture
def world(aws: str, osmem_url: str, deploy: Deploy) -> Any:
    data = m0.dataset(users=3, per_user=8)
    s3, os_ = m0.seed(osmem_url, data)
    create_tables(keys=KEYS_TABLE)
    conf = memerase_config(osmem_url, jobs={}, api={})
    deploy(conf)
    return s3, os_, data, conf


def sqs_event(*bodies: str, ids: list[str] | None = None) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": (ids or [f"m-{i}" for i in range(len(bodies))])[i],
                "receiptHandle": "rh",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1",
                    "SenderId": "s",
                    "ApproximateFirstReceiveTimestamp": "1",
                },
                "messageAttributes": {},
                "md5OfBody": "x",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:requests",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def eventbridge_event(detail: dict[str, Any], event_id: str) -> dict[str, Any]:
    """An EventBridge `ErasureRequested` event as a rule or schedule delivers it."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "ErasureRequested",
        "source": "memerase.requests",
        "account": "123456789012",
        "time": "2026-11-24T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def test_sqs_requests_erase_in_scope_and_report_only_bad_records_as_failed(world: Any) -> None:
    from functions.sqs_erasure.app import handler

    s3, os_, data, _ = world
    # Given one good request, one without a filter and one that is not JSON
    event = sqs_event(
        json.dumps({"user_id": "user-1", "reason": "gdpr_art17"}),
        json.dumps({"reason": "all"}),
        "{nope",
        ids=["good", "nofilter", "garbage"],
    )
    # When the batch is processed
    response = handler(event, LambdaContext())
    # Then only the bad records are reported failed, and exactly user-1 is erased everywhere
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == ["garbage", "nofilter"]
    expected = {m.id: m.payload for m in data if m.payload["user_id"] != "user-1"}
    assert m0.s3_contents(s3) == expected and m0.opensearch_contents(os_) == expected


def test_redelivered_sqs_message_maps_to_the_same_job(world: Any) -> None:
    from functions.sqs_erasure.app import ErasureRecord, record_handler

    # Given one SQS erasure message
    record = ErasureRecord.model_validate(sqs_event(json.dumps({"agent_id": "agent-a"}), ids=["same"])["Records"][0])
    # When it is delivered twice
    first = record_handler(record)
    second = record_handler(record)
    # Then both deliveries map to the same job
    assert first == second


def test_scheduled_eventbridge_request_starts_a_job(world: Any) -> None:
    from functions.scheduled_erasure.app import handler

    # Given the dataset and an EventBridge ErasureRequested event for run-2
    s3, _, data, _ = world
    event = eventbridge_event({"run_id": "run-2", "reason": "retention"}, event_id="evt-1")
    # When the scheduled-erasure function receives it
    result = handler(event, LambdaContext())
    # Then the job completes and exactly run-2's memories are gone
    assert result["status"] == "COMPLETED"
    expected = {m.id: m.payload for m in data if m.payload.get("run_id") != "run-2"}
    assert m0.s3_contents(s3) == expected


def test_keys_cli_creates_lists_and_revokes_without_storing_the_key(world: Any) -> None:
    # Given a deployment's configuration with a keys table
    _, _, _, conf = world
    env = {**os.environ, "MEMERASE_CONFIG": json.dumps(conf), "COLUMNS": "200"}

    def memerase(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "memerase_local.cli", "keys", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    # When a key is created, listed and revoked with `memerase keys`
    created = memerase("create", "--name", "privacy-team", "--user-id", "user-1")
    # Then the key is printed once, is not stored, authenticates with its scope until revoked; no scope, no key
    assert created.returncode == 0, created.stderr
    key_id, key = created.stdout.split()
    assert key.startswith("mek_")
    stored = json.dumps(boto3.resource("dynamodb").Table(KEYS_TABLE).scan()["Items"], default=str)
    assert key not in stored
    assert runtime.api_keys().authenticate(f"Token {key}").scopes[0].user_id == "user-1"
    assert key_id in memerase("list").stdout
    assert memerase("revoke", key_id).returncode == 0
    runtime.reset()
    with pytest.raises(Exception, match="Invalid API key"):
        runtime.api_keys().authenticate(f"Token {key}")
    refused = memerase("create", "--name", "nobody")
    assert refused.returncode == 1 and "needs --admin" in refused.stderr
