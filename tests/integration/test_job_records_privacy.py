"""Job records keep no lasting raw data (issue #11, item 3): the raw scope is kept apart from the record, with a TTL of
a resume window, and treated as gone once expired (a resume is then refused with 409); the reason is a code, the
requester's reference is kept only as its keyed hash; scope hashes are keyed, and whoever may erase a scope can ask
for its hash (API route, CLI). Through the API's Lambda handlers, over moto server and osmem-server (the World of
test_api_handlers: 3 users x 4 memories, inline jobs, three API keys)."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from memerase import runtime
from memerase.erasure_reason import ErasureReason
from memerase.errors import JobConflict, VerificationFailed
from memerase.jobs.models import JobRecord, JobStatus
from memerase.jobs.repository import JobsTable, now
from memerase.models import Scope
from tests.integration import test_api_handlers as harness
from tests.integration.test_api_handlers import Reply, World, erasures_fn, error_of, start_erasure
from tests.integration.test_cli import memerase
from tests.support.targets import JOBS_TABLE

world = harness.world  # the fixtures
lambda_context = harness.lambda_context
DAY = 86_400
REFERENCE = "TICKET-4711 zoe@example.com"


def raw_items(job_id: str) -> dict[str, dict[str, Any]]:
    """The job's raw DynamoDB items, by sort key."""
    items = (
        boto3.resource("dynamodb")
        .Table(JOBS_TABLE)
        .query(KeyConditionExpression=Key("pk").eq(f"job#{job_id}"))["Items"]
    )
    return {str(i["sk"]): i for i in items}


def stopped_job(world: World, status: JobStatus = JobStatus.CANCELLED, user: str = "user-1") -> JobRecord:
    """A job of `user` that stopped (cancelled or failed) after erasing nothing, started by the admin key."""
    scope = Scope.of(user_id=user)
    stamp = now()
    requester = runtime.api_keys().authenticate(f"Token {world.admin_key}").key_id
    job = JobRecord(
        job_id=f"job-stopped-{status.value.lower()}",
        status=status,
        scope_hash=runtime.hasher().scope(scope),
        scope=scope,
        requester=requester,
        created_at=stamp,
        updated_at=stamp,
        completed_at=stamp,
    )
    assert JobsTable(JOBS_TABLE).create(job)
    return job


def resume(world: World, job_id: str) -> Reply:
    path = f"/v1/erasures/{job_id}/resume"
    return world.call(erasures_fn, "POST", path, "/v1/erasures/{job_id}/resume", path_parameters={"job_id": job_id})


def scope_hash(world: World, body: dict[str, Any], key: str = "admin") -> Reply:
    return world.call(erasures_fn, "POST", "/v1/erasures/scope-hash", "/v1/erasures/scope-hash", key, body=body)


# ---- the raw scope: kept apart, for a resume window ---------------------------------------------------------------


def test_a_stopped_jobs_scope_is_kept_apart_from_its_record_until_a_resume_window_from_now(world: World) -> None:
    # Given a cancelled job of user-1
    job = stopped_job(world)
    # When the jobs table is read raw
    items = raw_items(job.job_id)
    # Then the record holds no raw scope; a separate item holds it, with a TTL 30 days (the default window) from now
    assert "user-1" not in json.dumps(items["job"], default=str) and "scope" not in items["job"]
    assert items["job#scope"]["scope"] == {"user_id": "user-1"}
    assert abs(int(items["job#scope"]["expires_at"]) - (time.time() + 30 * DAY)) < 120
    # And the job, read back, still has its scope (a resume needs it)
    assert JobsTable(JOBS_TABLE).get(job.job_id).scope == Scope.of(user_id="user-1")


def test_the_resume_window_is_a_setting(world: World) -> None:
    # Given a deployment whose resume window is 2 days
    world.deploy({**world.config, "jobs": {**world.config["jobs"], "resume_window_days": 2}})
    job = stopped_job(world)
    # When a failure is recorded for the job (it stops again)
    JobsTable(JOBS_TABLE, resume_window_days=runtime.jobs_config().resume_window_days).save(
        job.model_copy(update={"status": JobStatus.FAILED})
    )
    # Then its scope expires 2 days from now
    assert abs(int(raw_items(job.job_id)["job#scope"]["expires_at"]) - (time.time() + 2 * DAY)) < 120


def test_an_expired_scope_is_gone_on_read_and_a_resume_is_refused_with_409(world: World) -> None:
    # Given a cancelled job whose scope's TTL has passed but DynamoDB has not yet removed it (TTL deletion is lazy)
    job = stopped_job(world)
    table = boto3.resource("dynamodb").Table(JOBS_TABLE)
    table.update_item(
        Key={"pk": f"job#{job.job_id}", "sk": "job#scope"},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": int(time.time()) - 1},
    )
    # When the job is read, and resumed through the API
    read = JobsTable(JOBS_TABLE).get(job.job_id)
    reply = resume(world, job.job_id)
    # Then the scope is gone, and the resume is refused with a clear 409 saying why; nothing was erased
    assert read.scope is None
    body = error_of(reply, 409, "job_conflict")
    assert "resume window" in body["detail"] and "new erasure" in body["detail"]
    world.expect_intact()
    with pytest.raises(JobConflict, match="resume window"):
        runtime.intake().resume(job.job_id)


def test_a_scope_left_beside_a_completed_job_is_dropped_when_read(world: World) -> None:
    # Given a completed job beside which a raced write left its scope item
    reply = start_erasure(world, {"user_id": "user-1"})
    job_id = reply.json["job_id"]
    assert runtime.intake().get(job_id).status == JobStatus.COMPLETED
    boto3.resource("dynamodb").Table(JOBS_TABLE).put_item(
        Item={"pk": f"job#{job_id}", "sk": "job#scope", "scope": {"user_id": "user-1"}, "expires_at": 2**40}
    )
    # When the job is read
    job = JobsTable(JOBS_TABLE).get(job_id)
    # Then it has no scope and the item is gone
    assert job.scope is None and "job#scope" not in raw_items(job_id)


# ---- reason codes and references ----------------------------------------------------------------------------------


def test_a_reason_code_and_a_reference_are_kept_as_a_code_and_a_keyed_hash(world: World) -> None:
    # Given an erasure request with a reason code and a reference naming a ticket and an address
    body = {"user_id": "user-1", "reason": "GDPR_ART17", "reference": REFERENCE}
    # When it is accepted and the job read back, raw and through the API
    reply = start_erasure(world, body)
    assert reply.status == 202, reply.text
    job_id = reply.json["job_id"]
    shown = harness.get_erasure(world, job_id)
    # Then the job has the code and the reference's keyed hash; the reference is nowhere, raw or shown
    record = runtime.intake().get(job_id)
    assert record.reason == ErasureReason.GDPR_ART17
    assert record.reference_hash == runtime.hasher().reference(REFERENCE)
    stored = json.dumps(boto3.client("dynamodb").scan(TableName=JOBS_TABLE)["Items"])
    for text in ("TICKET-4711", "zoe@example.com"):
        assert text not in stored and text not in shown.text
    assert shown.json["reason"] == "gdpr_art17" and shown.json["reference_hash"] == record.reference_hash


@pytest.mark.parametrize("reason", ["GDPR art. 17, zoe@example.com asked", "please delete", "x" * 501])
def test_a_free_text_reason_is_refused_with_400_without_being_echoed(world: World, reason: str) -> None:
    # Given an erasure request whose reason is free text
    # When it is sent
    reply = start_erasure(world, {"user_id": "user-1", "reason": reason})
    # Then 400 naming the field, nothing quoted back, no job started, nothing erased
    body = error_of(reply, 400, "invalid_request")
    assert "reason" in body["detail"] and reason not in reply.text and "zoe" not in reply.text
    assert not boto3.client("dynamodb").scan(TableName=JOBS_TABLE)["Items"]
    world.expect_intact()


# ---- scope hashes: keyed, and verifiable by whoever may erase the scope -------------------------------------------


def test_whoever_may_erase_a_scope_can_get_its_hash_and_match_a_receipt(world: World) -> None:
    # Given user-1's completed erasure, whose receipt carries a scope hash
    job_id = start_erasure(world, {"user_id": "user-1"}).json["job_id"]
    receipt = runtime.intake().get(job_id).receipt
    assert receipt is not None
    # When the admin and user-1's own key ask for the hash of user-1's scope
    by_admin = scope_hash(world, {"user_id": "user-1"})
    by_owner = scope_hash(world, {"user_id": "user-1"}, key="user1")
    # Then both get the receipt's hash, which is not the unsalted SHA-256 of the scope
    assert by_admin.status == by_owner.status == 200, by_admin.text
    assert by_admin.json == by_owner.json == {"scope_hash": receipt.scope_hash}
    assert receipt.scope_hash != hashlib.sha256(b'{"user_id":"user-1"}').hexdigest()


def test_a_key_cannot_get_the_hash_of_a_scope_it_does_not_cover(world: World) -> None:
    # Given user-1's scoped key
    # When it asks for the hash of user-2's scope, and of no scope at all
    foreign = scope_hash(world, {"user_id": "user-2"}, key="user1")
    empty = scope_hash(world, {}, key="user1")
    # Then 403 and 400, and no hash is answered
    error_of(foreign, 403, "forbidden")
    error_of(empty, 400)
    assert "scope_hash" not in foreign.text + empty.text


def test_the_cli_prints_the_hash_the_api_answers(world: World, osmem_url: str) -> None:
    # Given the deployment's configuration with its scope hash key in the settings
    key = "cli-test-scope-hash-key-0123456789abcdefghij"
    config = {**world.config, "scope_hash": {"key": key}}
    world.deploy(config)
    expected = scope_hash(world, {"user_id": "user-1", "agent_id": "bot"}).json["scope_hash"]
    # When `memerase scope-hash` runs with the same configuration
    done = memerase("scope-hash", "--agent-id", "bot", "--user-id", "user-1", conf=config)
    # Then it prints the same hash
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


def test_a_running_job_whose_scope_expired_is_never_reported_verified(world: World) -> None:
    # Given a running job of user-1 whose scope's TTL has passed (its pass outlived the resume window)
    job = stopped_job(world).model_copy(update={"status": JobStatus.RUNNING, "completed_at": None})
    table = JobsTable(JOBS_TABLE)
    assert table.save(job)
    boto3.resource("dynamodb").Table(JOBS_TABLE).update_item(
        Key={"pk": f"job#{job.job_id}", "sk": "job#scope"},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": int(time.time()) - 1},
    )
    # When its verification runs
    # Then it fails, saying why, instead of declaring the job clean; nothing was erased
    with pytest.raises(VerificationFailed, match="scope expired"):
        runtime.job_steps().verify(job.job_id)
    world.expect_intact()
