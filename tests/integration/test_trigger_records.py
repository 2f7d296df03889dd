"""Queue and schedule requests keep no lasting raw data either (issue #11, items 3 and 9): their reason is a code and
their reference a keyed hash, a free-text reason is refused without being echoed, and the audit rows of what their
jobs erased name the trigger (`sqs`, `eventbridge`). Real event shapes, jobs run inline (the world of test_triggers)."""

from __future__ import annotations

import json
from typing import Any

import boto3

from memerase import runtime
from memerase.erasure_reason import ErasureReason
from memerase.history import HistoryStore
from memerase_local.handlers import LambdaContext
from tests.integration import test_triggers as harness
from tests.integration.test_triggers import eventbridge_event, sqs_event
from tests.support.targets import HISTORY_TABLE, JOBS_TABLE

world = harness.world  # the fixture
REFERENCE = "case 981 for zoe@example.com"


def delete_actors(memory_ids: list[str]) -> set[str | None]:
    history = HistoryStore(HISTORY_TABLE)
    return {row["actor_id"] for m in memory_ids for row in history.history(m) if row["event"] == "DELETE"}


def test_a_queued_request_keeps_its_reason_code_and_a_hash_of_its_reference(world: Any) -> None:
    from functions.sqs_erasure.app import handler

    # Given a queued request for user-1 with a reason code and a reference naming an address, and one with free text
    _, _, data, _ = world
    good = json.dumps({"user_id": "user-1", "reason": "user_request", "reference": REFERENCE})
    bad = json.dumps({"user_id": "user-2", "reason": "zoe@example.com asked us to delete everything"})
    # When the batch is processed
    result = handler(sqs_event(good, bad, ids=["m-good", "m-bad"]), LambdaContext())
    # Then the free-text one is reported failed and started nothing; the other's job has the code and the
    # reference's keyed hash, and neither text is anywhere in the jobs table
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}
    jobs = runtime.intake().list_jobs()
    assert len(jobs) == 1 and jobs[0].reason == ErasureReason.USER_REQUEST
    assert jobs[0].reference_hash == runtime.hasher().reference(REFERENCE)
    stored = json.dumps(boto3.client("dynamodb").scan(TableName=JOBS_TABLE)["Items"])
    assert "zoe@example.com" not in stored and "case 981" not in stored
    # And the audit rows of what it erased name the queue as the actor
    assert delete_actors([m.id for m in data if m.payload["user_id"] == "user-1"]) == {"sqs"}


def test_an_eventbridge_requests_audit_rows_name_its_channel(world: Any) -> None:
    """Issue 18, item 9: EventBridge requests are their own requester. Before the fix their rows named `schedule`,
    the retention schedule's requester (`assert {'schedule'} == {'eventbridge'}`)."""
    from functions.scheduled_erasure.app import handler

    # Given an EventBridge request erasing run-2's memories (e.g. from a rule of the operator's)
    _, _, data, _ = world
    # When it arrives
    handler(eventbridge_event({"run_id": "run-2", "reason": "retention"}, event_id="evt-audit"), LambdaContext())
    # Then every DELETE row of the memories it erased names EventBridge
    erased = [m.id for m in data if m.payload.get("run_id") == "run-2"]
    assert erased and delete_actors(erased) == {"eventbridge"}
