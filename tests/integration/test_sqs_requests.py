"""SQS erasure requests with real event shapes: messages sent to moto queues (a requests queue with its dead-letter
queue and redrive policy, reply queues), received, handed to the SQS function as Lambda's event source mapping does,
then settled from its partial batch response. Jobs run in-process (no state machine in this configuration)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from memerase import runtime
from memerase.errors import RetryableStoreError, StoreError
from memerase.fingerprint import ScopeHasher
from memerase.jobs.models import JobRecord, JobStatus
from memerase.jobs.queue_requests import FIELD_ATTRIBUTE, MESSAGE_ID_ATTRIBUTE, REASON_ATTRIBUTE
from memerase.jobs.repository import JobsTable
from memerase.jobs.runners import InProcessRunner
from memerase.jobs.steps import JobSteps
from memerase_local.handlers import LambdaContext
from tests.support import mem0_data as m0
from tests.support.lambda_events import events_queue, received
from tests.support.sqs_queues import RequestQueue, bodies, create_queue, receive_all
from tests.support.targets import Deploy, create_tables, memerase_config

SECRET_ID = "zoe@example.com"
SECRET_TEXT = "my diagnosis is confidential"
REASONS = {
    "bad_json",
    "not_an_object",
    "duplicate_key",
    "unknown_field",
    "wrong_type",
    "bad_length",
    "invalid_value",
    "missing_filter",
    "wildcard_filter",
    "invalid_filter",
    "reply_to_not_allowed",
    "idempotency_conflict",
}


@dataclass
class World:
    queue: RequestQueue
    reply_url: str
    reply_arn: str
    events: str
    data: list[m0.Memory]
    s3: Any
    os_: Any
    deploy: Deploy
    config: dict[str, Any]

    def deliver(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """One poll of the requests queue by the event source mapping: the event, the function's answer, settled. A
        function error (Powertools raises when every record of the batch failed) leaves every record for redelivery:
        it is answered here as the partial response naming them all."""
        from functions.sqs_erasure.app import handler

        event = self.queue.poll()
        try:
            response = handler(event, LambdaContext())
        except BatchProcessingError:
            response = {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}
        self.queue.settle(event, response)
        return event, response

    def left(self) -> dict[str, dict[str, Any]]:
        """What both stores hold (they must agree)."""
        s3 = m0.s3_contents(self.s3)
        assert s3 == m0.opensearch_contents(self.os_)
        return s3


@pytest.fixture
def world(aws: str, osmem_url: str, deploy: Deploy) -> World:
    data = m0.dataset(users=3, per_user=6)
    s3, os_ = m0.seed(osmem_url, data)
    create_tables()
    queue = RequestQueue.create()
    reply_url, reply_arn = create_queue("erasure-replies")
    config = memerase_config(osmem_url, jobs={})
    config["requests"] = {"reply_queues": [reply_arn], "dead_letter_queue_url": queue.dlq_url}
    deploy(config)
    return World(queue, reply_url, reply_arn, events_queue(), data, s3, os_, deploy, config)


def without(data: list[m0.Memory], **scope: str) -> dict[str, dict[str, Any]]:
    return {m.id: m.payload for m in data if any(m.payload.get(k) != v for k, v in scope.items())}


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every record memerase logged, with its extra keys (what its JSON log line holds)."""
    return "\n".join(json.dumps(vars(r), default=str) for r in caplog.records if r.name.startswith("memerase"))


def jobs() -> list[JobRecord]:
    return runtime.intake().list_jobs(limit=100)


def fail_claims(monkeypatch: pytest.MonkeyPatch, request_id: str, times: int) -> list[int]:
    """The fault hook: the jobs table refuses to bind `request_id`'s idempotency key `times` times (as a throttled
    DynamoDB would), then works. Returns the list the refusals are counted in."""
    original = JobsTable.claim_key
    refused: list[int] = []
    bound = ScopeHasher.from_env().idempotency(f"sqs\n{request_id}")  # keys are stored keyed-hashed, per requester

    def claim_key(table: JobsTable, idempotency_key: str, job_id: str) -> str | None:
        if idempotency_key == bound and len(refused) < times:
            refused.append(1)
            raise RetryableStoreError("jobs table: ProvisionedThroughputExceededException")
        return original(table, idempotency_key, job_id)

    monkeypatch.setattr(JobsTable, "claim_key", claim_key)
    return refused


def test_a_mixed_batch_starts_one_job_for_the_duplicate_pair_and_dead_letters_each_malformed_message_at_once(
    world: World, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given a valid request for user-1 naming the allowed reply queue, the same request again, and one message of each
    # kind of malformed request (secret ids and free text in them)
    valid = {"user_id": "user-1", "reason": "gdpr_art17", "request_id": "ticket-1", "reply_to": world.reply_arn}
    _, other_arn = create_queue("someone-elses-queue")
    malformed: dict[str, tuple[str | dict[str, Any], str | None]] = {
        "bad_json": ('{"user_id": "' + SECRET_ID + '"', None),
        "unknown_field": ({"user_id": SECRET_ID, "note": SECRET_TEXT}, None),
        "missing_filter": ({"reference": SECRET_TEXT}, None),
        "wildcard_filter": ({"user_id": "*"}, "user_id"),
        "wrong_type": ({"user_id": [SECRET_ID]}, "user_id"),
        "reply_to_not_allowed": ({"user_id": SECRET_ID, "reply_to": other_arn}, "reply_to"),
    }
    ids = world.queue.send(valid, valid, *(body for body, _ in malformed.values()))
    # When one delivery of the batch is processed and settled as the event source mapping does
    event, response = world.deliver()
    # Then every record was delivered in that one batch, and none is reported failed
    assert sorted(r["messageId"] for r in event["Records"]) == sorted(ids)
    assert response == {"batchItemFailures": []}
    # And each malformed message is on the dead-letter queue after that single delivery, with its reason code, the
    # field it concerns and its message id, and nothing is left on the requests queue to be retried
    letters = world.queue.dead_letters()
    by_reason = {letter["attributes"][REASON_ATTRIBUTE]: letter for letter in letters}
    assert len(letters) == len(malformed) and set(by_reason) == set(malformed)
    for reason, (body, field) in malformed.items():
        assert by_reason[reason]["attributes"].get(FIELD_ATTRIBUTE) == field
        assert by_reason[reason]["body"] == (body if isinstance(body, str) else json.dumps(body))
    assert {letter["attributes"][MESSAGE_ID_ATTRIBUTE] for letter in letters} == set(ids[2:])
    assert receive_all(world.queue.url) == []
    # And the duplicate pair started exactly one job, which erased exactly user-1
    [job] = jobs()
    assert job.status == JobStatus.COMPLETED and job.receipt is not None and job.replies == []
    assert world.left() == without(world.data, user_id="user-1")
    # And its receipt arrived on the reply queue once, with the request id, and ErasureCompleted was published
    assert bodies(world.reply_url) == [
        {
            "type": "ErasureCompleted",
            "request_id": "ticket-1",
            "job_id": job.job_id,
            "status": "COMPLETED",
            "receipt": job.receipt.model_dump(mode="json"),
        }
    ]
    assert [(e["detail-type"], e["detail"]["job_id"]) for e in received(world.events)] == [
        ("ErasureCompleted", job.job_id)
    ]
    # And no log line, metric or dead-letter attribute quotes an id, a request id or any text of the requests
    printed, logs = capsys.readouterr(), logged(caplog)
    attributes = json.dumps([letter["attributes"] for letter in letters])
    for secret in (SECRET_ID, "zoe", SECRET_TEXT, "user-1", "ticket-1", "GDPR"):
        assert secret not in printed.out + printed.err + logs and secret not in attributes
    assert {letter["attributes"][REASON_ATTRIBUTE] for letter in letters} <= REASONS
    assert logs.count('"msg": "erasure request refused"') == len(malformed) and '"reason": "wildcard_filter"' in logs
    assert "ErasureRequestsRefused" in printed.out


def test_a_transient_failure_is_reported_for_exactly_its_record_and_its_redelivery_starts_the_job(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the jobs table refuses once to record request flaky-1 (a fault hook), and a batch of that request, a
    # valid one and a malformed one
    refused = fail_claims(monkeypatch, "flaky-1", times=1)
    flaky = {"user_id": "user-0", "request_id": "flaky-1", "reply_to": world.reply_arn}
    ids = world.queue.send(flaky, {"user_id": "user-2", "request_id": "steady-1"}, "{nope")
    # When the batch is delivered
    _, response = world.deliver()
    # Then exactly the flaky record is reported failed; the malformed one went to the dead-letter queue, and the
    # valid one started its job
    assert response == {"batchItemFailures": [{"itemIdentifier": ids[0]}]} and refused == [1]
    assert [letter["attributes"][REASON_ATTRIBUTE] for letter in world.queue.dead_letters()] == ["bad_json"]
    assert len(jobs()) == 1
    # When SQS delivers the failed record again
    event, response = world.deliver()
    # Then it is that record, on its second receive; this time its job starts, completes and answers
    assert [(r["messageId"], r["attributes"]["ApproximateReceiveCount"]) for r in event["Records"]] == [(ids[0], "2")]
    assert response == {"batchItemFailures": []}
    assert sorted(j.status for j in jobs()) == [JobStatus.COMPLETED, JobStatus.COMPLETED]
    assert [(b["request_id"], b["status"]) for b in bodies(world.reply_url)] == [("flaky-1", "COMPLETED")]
    assert world.left() == {m.id: m.payload for m in world.data if m.payload["user_id"] == "user-1"}


def test_a_record_that_keeps_failing_reaches_the_dead_letter_queue_through_the_redrive_policy(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a valid request the jobs table refuses every time (a fault hook), on a queue redriving after 3 receives
    fail_claims(monkeypatch, "doomed-1", times=1_000)
    [message_id] = world.queue.send({"run_id": "run-1", "request_id": "doomed-1"})
    # When SQS delivers it until the redrive policy takes it
    responses = [world.deliver()[1] for _ in range(4)]
    # Then it was reported failed on each of its 3 deliveries, then moved by SQS (no reason code: not malformed)
    assert responses[:3] == [{"batchItemFailures": [{"itemIdentifier": message_id}]}] * 3
    assert responses[3] == {"batchItemFailures": []}
    [letter] = world.queue.dead_letters()
    assert json.loads(letter["body"])["request_id"] == "doomed-1" and REASON_ATTRIBUTE not in letter["attributes"]
    # And nothing was erased, and no job was left behind
    assert world.left() == {m.id: m.payload for m in world.data} and jobs() == []


def test_the_same_request_in_two_batches_and_a_redelivered_message_start_one_job(world: World) -> None:
    from functions.sqs_erasure.app import handler

    # Given a request for agent-a with a request id, delivered, and delivered again before it was deleted (a
    # redelivery keeps its message id)
    request = {"agent_id": "agent-a", "request_id": "ticket-7", "reply_to": world.reply_arn}
    [first_id] = world.queue.send(request)
    first = world.queue.poll()
    handler(first, LambdaContext())
    world.queue.settle(first, {"batchItemFailures": [{"itemIdentifier": first_id}]})  # as if its deletion was lost
    redelivered, _ = world.deliver()
    # When the same request is sent again, as a new message in a later batch
    [second_id] = world.queue.send(request)
    later, response = world.deliver()
    # Then the three deliveries (two message ids) mapped to one job, which answered once
    assert [r["messageId"] for r in redelivered["Records"]] == [first_id]
    assert [r["messageId"] for r in later["Records"]] == [second_id] and response == {"batchItemFailures": []}
    [job] = jobs()
    assert job.status == JobStatus.COMPLETED
    assert [(b["request_id"], b["job_id"]) for b in bodies(world.reply_url)] == [("ticket-7", job.job_id)]
    assert world.left() == without(world.data, agent_id="agent-a")


def test_concurrent_batches_carrying_the_same_request_start_one_job(world: World) -> None:
    from functions.sqs_erasure.app import handler

    # Given the same request sent as two messages, each received in a batch of its own
    request = {"run_id": "run-2", "request_id": "ticket-9"}
    world.queue.send(request, request)
    records = world.queue.poll()["Records"]
    records += world.queue.poll()["Records"] if len(records) < 2 else []
    batches = [{"Records": [record]} for record in records]
    responses: list[dict[str, Any]] = []
    # When two function instances process them at the same time
    threads = [threading.Thread(target=lambda b=b: responses.append(handler(b, LambdaContext()))) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # Then both succeeded and exactly one job was started
    assert responses == [{"batchItemFailures": []}] * 2
    [job] = jobs()
    assert job.status == JobStatus.COMPLETED
    assert world.left() == without(world.data, run_id="run-2")


def test_a_failed_job_answers_with_its_error_name_and_its_redelivery_resumes_it(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a request naming the reply queue, and verification failing once with a store error (a fault hook) whose
    # message quotes the request's id
    original = JobSteps.verify
    faults: list[int] = []

    def verify(steps: JobSteps, job_id: str) -> dict[str, Any]:
        if not faults:
            faults.append(1)
            raise StoreError(f"the store refused {SECRET_ID}")
        return original(steps, job_id)

    monkeypatch.setattr(JobSteps, "verify", verify)
    [message_id] = world.queue.send({"user_id": "user-2", "request_id": "ticket-3", "reply_to": world.reply_arn})
    # When it is delivered, fails, and is delivered again
    _, failed = world.deliver()
    _, resumed = world.deliver()
    # Then the failure answered with the error name only, the redelivery resumed the job, and its end answered again
    assert failed == {"batchItemFailures": [{"itemIdentifier": message_id}]} and resumed == {"batchItemFailures": []}
    [job] = jobs()
    answers = bodies(world.reply_url)
    assert [a["status"] for a in answers] == ["FAILED", "COMPLETED"]
    assert answers[0] == {"type": "ErasureFailed", "request_id": "ticket-3", "job_id": job.job_id, "status": "FAILED",
                          "error": "StoreError"}  # fmt: skip
    assert job.receipt is not None and answers[1]["receipt"]["digest"] == job.receipt.digest
    # And both ends were published, the failure with its error name
    events = received(world.events)
    assert [(e["detail-type"], e["detail"]["error"]) for e in events] == [
        ("ErasureFailed", "StoreError"),
        ("ErasureCompleted", None),
    ]
    assert world.left() == without(world.data, user_id="user-2")
    assert SECRET_ID not in logged(caplog) + json.dumps(answers)


def test_a_reply_that_cannot_be_sent_changes_nothing_of_the_job_and_is_counted(
    world: World, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given an allowed reply queue that does not exist (deleted, or a typo in the allow-list)
    gone = "arn:aws:sqs:us-east-1:123456789012:erasure-replies-gone"
    world.deploy({**world.config, "requests": {**world.config["requests"], "reply_queues": [world.reply_arn, gone]}})
    world.queue.send({"user_id": "user-0", "request_id": "ticket-4", "reply_to": gone})
    # When the request is delivered
    _, response = world.deliver()
    # Then the record is processed, the job completed as it would have, and the lost reply was logged and counted
    assert response == {"batchItemFailures": []}
    [job] = jobs()
    assert job.status == JobStatus.COMPLETED and job.receipt is not None
    assert world.left() == without(world.data, user_id="user-0")
    assert "erasure reply not sent" in logged(caplog) and "ErasureRepliesFailed" in capsys.readouterr().out
    assert bodies(world.reply_url) == []


def background(submit: Callable[[Callable[[], object]], object]) -> None:
    runner = runtime.job_runner()
    assert isinstance(runner, InProcessRunner)
    runner.run_in_background(submit)


def test_a_cancelled_job_answers_cancelled(world: World) -> None:
    from functions.sqs_erasure.app import handler

    # Given jobs that wait in the queue (a background runner that has not run them yet) and a request with a reply
    waiting: list[Callable[[], object]] = []
    background(waiting.append)
    world.queue.send({"user_id": "user-1", "request_id": "ticket-5", "reply_to": world.reply_arn})
    event = world.queue.poll()
    handler(event, LambdaContext())
    [job] = jobs()
    # When the job is cancelled
    runtime.intake().cancel(job.job_id)
    # Then the reply queue hears it, and nothing was erased
    assert bodies(world.reply_url) == [
        {"type": "ErasureCancelled", "request_id": "ticket-5", "job_id": job.job_id, "status": "CANCELLED",
         "error": "Cancelled"}
    ]  # fmt: skip
    assert world.left() == {m.id: m.payload for m in world.data}


def test_a_request_mapped_onto_a_running_job_is_answered_too(world: World) -> None:
    """Before: a request mapped onto an existing job (the same scope, another request id) never got its reply: only
    the reply queue of the request that created the job was kept (issue 17)."""
    from functions.sqs_erasure.app import handler

    # Given a request for user-1 whose job waits in the queue (a background runner that has not run it yet)
    waiting: list[Callable[[], object]] = []
    background(waiting.append)
    world.queue.send({"user_id": "user-1", "request_id": "ticket-20", "reply_to": world.reply_arn})
    handler(world.queue.poll(), LambdaContext())
    # When a second request for user-1, under another request id, arrives while it is active
    world.queue.send({"user_id": "user-1", "request_id": "ticket-21", "reply_to": world.reply_arn})
    handler(world.queue.poll(), LambdaContext())
    # Then it maps onto the same job, and when that job ends both requests are answered
    [job] = jobs()
    runtime.intake().cancel(job.job_id)
    answered = sorted((b["request_id"], b["job_id"], b["status"]) for b in bodies(world.reply_url))
    assert answered == [("ticket-20", job.job_id, "CANCELLED"), ("ticket-21", job.job_id, "CANCELLED")]


def test_a_reply_without_request_id_names_the_message_id(world: World) -> None:
    # Given a request naming the reply queue by its URL, without a request id
    [message_id] = world.queue.send({"agent_id": "agent-a", "reply_to": world.reply_url})
    # When it is delivered
    world.deliver()
    # Then the answer names the SQS message id
    [job] = jobs()
    assert [(b["request_id"], b["job_id"]) for b in bodies(world.reply_url)] == [(message_id, job.job_id)]


def test_a_fifo_reply_queue_receives_its_answer(world: World) -> None:
    # Given an allowed FIFO reply queue (which takes only messages with a group id)
    fifo_url, fifo_arn = create_queue("erasure-replies.fifo", {"FifoQueue": "true"})
    world.deploy({**world.config, "requests": {**world.config["requests"], "reply_queues": [fifo_arn]}})
    world.queue.send({"run_id": "run-1", "request_id": "ticket-8", "reply_to": fifo_arn})
    # When the request is delivered
    world.deliver()
    # Then the answer is on the FIFO queue
    [job] = jobs()
    assert [(b["request_id"], b["job_id"], b["status"]) for b in bodies(fifo_url)] == [
        ("ticket-8", job.job_id, "COMPLETED")
    ]


def test_a_request_id_reused_for_another_scope_is_refused_to_the_dead_letter_queue(world: World) -> None:
    # Given a request for user-0 under request id ticket-6, done
    world.queue.send({"user_id": "user-0", "request_id": "ticket-6"})
    world.deliver()
    # When another scope is requested under the same request id
    [reused] = world.queue.send({"user_id": "user-2", "request_id": "ticket-6"})
    _, response = world.deliver()
    # Then that message is refused (not retried): on the dead-letter queue with its reason; user-2 is untouched
    assert response == {"batchItemFailures": []}
    [letter] = world.queue.dead_letters()
    assert letter["attributes"] == {
        REASON_ATTRIBUTE: "idempotency_conflict",
        FIELD_ATTRIBUTE: "request_id",
        MESSAGE_ID_ATTRIBUTE: reused,
    }
    assert len(jobs()) == 1 and world.left() == without(world.data, user_id="user-0")
