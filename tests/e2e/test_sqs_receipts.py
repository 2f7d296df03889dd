"""SQS erasure requests answered on their reply queue when the job ends in moto's Step Functions interpreter (the real
ASL, its tasks run by the project's handlers): the receipt from Finalize Job, the error name from Record Failure,
and again when the failed job is resumed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from memerase import runtime
from memerase.errors import StoreError
from memerase.jobs.models import JobRecord, JobStatus
from memerase_local.handlers import LambdaContext, handler_of
from tests.support import mem0_data as m0
from tests.support.lambda_events import events_queue, received
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.seeded import Seeded
from tests.support.sfn_harness import StepFunctionsHarness, step_functions
from tests.support.sqs_queues import RequestQueue, bodies, create_queue
from tests.support.targets import create_tables, memerase_config

handler = handler_of("sqs_erasure")  # as the harness runs it: its AWS calls are checked against its IAM

ACCOUNT_QUEUES = "https://sqs.us-east-1.amazonaws.com/123456789012"
REPLY_ARN = "arn:aws:sqs:us-east-1:123456789012:erasure-replies"


@dataclass
class World(Seeded):
    harness: StepFunctionsHarness
    queue: RequestQueue
    reply_url: str
    events: str

    def request(self, body: dict[str, Any]) -> JobRecord:
        """Send `body` to the requests queue, let the SQS function take the batch, wait for the job's execution."""
        self.queue.send(body)
        return self.request_again()

    def request_again(self) -> JobRecord:
        """Let the SQS function take the next batch (of one request), wait for its job's latest execution."""
        event = self.queue.poll()
        response = handler(event, LambdaContext())
        self.queue.settle(event, response)
        assert response == {"batchItemFailures": []}
        [job] = runtime.intake().list_jobs()
        self.harness.wait(job.execution_arn or "")
        return runtime.intake().get(job.job_id)


@pytest.fixture
def world(osmem_url: str) -> Iterator[World]:
    config = memerase_config(osmem_url, jobs={"time_margin_ms": 1000})
    config["requests"] = {
        "reply_queues": [REPLY_ARN],
        "dead_letter_queue_url": f"{ACCOUNT_QUEUES}/erasure-requests-dlq",
    }
    with step_functions(config) as harness, S3VectorsLimits():
        create_tables()
        seeded = Seeded.write(osmem_url, m0.dataset(users=3, per_user=20))
        queue = RequestQueue.create()
        reply_url, reply_arn = create_queue("erasure-replies")
        assert (queue.dlq_url, reply_arn) == (config["requests"]["dead_letter_queue_url"], REPLY_ARN)
        yield World(**vars(seeded), harness=harness, queue=queue, reply_url=reply_url, events=events_queue())


def test_a_queued_request_is_answered_with_its_receipt_when_finalize_job_completes_it(world: World) -> None:
    # Given a request for user-1 naming the allowed reply queue
    request = {"user_id": "user-1", "request_id": "ticket-11", "reply_to": REPLY_ARN}
    # When the SQS function takes it and the state machine runs the job
    job = world.request(request)
    # Then the job completed, erasing exactly user-1, and the reply queue holds its receipt under the request id
    assert job.status == JobStatus.COMPLETED and job.receipt is not None and job.replies == []
    assert world.contents() == (world.without(lambda m: m.payload["user_id"] == "user-1"),) * 2
    assert bodies(world.reply_url) == [
        {
            "type": "ErasureCompleted",
            "request_id": "ticket-11",
            "job_id": job.job_id,
            "status": "COMPLETED",
            "receipt": job.receipt.model_dump(mode="json"),
        }
    ]
    assert world.harness.invocations["job_finalize"] == 1
    # And ErasureCompleted was published too, without the request id
    events = received(world.events)
    assert [e["detail-type"] for e in events] == ["ErasureCompleted"] and "ticket-11" not in json.dumps(events)


def test_a_job_failing_in_the_state_machine_answers_its_error_name_and_its_resume_answers_the_receipt(
    world: World,
) -> None:
    # Given verification fails with a store error whose message quotes an id (a fault in the Verify task)
    def refuse(_event: dict[str, Any]) -> None:
        raise StoreError("OpenSearch refused the count for user-2")

    world.harness.faults["job_verify"] = refuse
    # When a request for user-2 is taken and its job runs
    job = world.request({"user_id": "user-2", "request_id": "ticket-12", "reply_to": REPLY_ARN})
    # Then Record Failure marked it FAILED and the reply queue got the error name only, under the request id
    assert job.status == JobStatus.FAILED and world.harness.invocations["job_fail"] == 1
    [failed] = bodies(world.reply_url)
    assert failed == {
        "type": "ErasureFailed",
        "request_id": "ticket-12",
        "job_id": job.job_id,
        "status": "FAILED",
        "error": "StoreError",
    }
    # When the cause is fixed and the job resumed (as `memerase jobs resume` does)
    del world.harness.faults["job_verify"]
    resumed = runtime.intake().resume(job.job_id)
    world.harness.wait(resumed.execution_arn or "")
    # Then it completes and the reply queue gets the receipt, under the same request id
    done = runtime.intake().get(job.job_id)
    assert done.status == JobStatus.COMPLETED and done.receipt is not None
    [completed] = bodies(world.reply_url)
    assert (completed["request_id"], completed["status"], completed["receipt"]["digest"]) == (
        "ticket-12",
        "COMPLETED",
        done.receipt.digest,
    )
    assert [(e["detail-type"], e["detail"]["error"]) for e in received(world.events)] == [
        ("ErasureFailed", "StoreError"),
        ("ErasureCompleted", None),
    ]


def test_a_request_whose_execution_could_not_start_is_retried_and_its_redelivery_starts_the_job(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Step Functions refuses the first StartExecution (a fault on the launcher's client)
    sfn = runtime.job_runner()._sfn  # type: ignore[attr-defined]
    original = sfn.start_execution
    refusals: list[int] = []

    def start_execution(**kwargs: Any) -> Any:
        if not refusals:
            refusals.append(1)
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try again"}}, "StartExecution")
        return original(**kwargs)

    monkeypatch.setattr(sfn, "start_execution", start_execution)
    [message_id] = world.queue.send({"agent_id": "agent-a", "request_id": "ticket-13", "reply_to": REPLY_ARN})
    # When the SQS function takes the request
    event = world.queue.poll()
    with pytest.raises(BatchProcessingError):  # its only record failed: the whole batch is redelivered
        handler(event, LambdaContext())
    # Then the job is FAILED (it never ran) and its request heard so, with the error name
    [job] = runtime.intake().list_jobs()
    assert job.status == JobStatus.FAILED and job.error is not None and job.error.error == "StartExecutionFailed"
    assert [(b["status"], b["error"]) for b in bodies(world.reply_url)] == [("FAILED", "StartExecutionFailed")]
    # When SQS redelivers the message (after its visibility timeout)
    world.queue.settle(event, {"batchItemFailures": [{"itemIdentifier": message_id}]})
    done = world.request_again()
    # Then the redelivery resumed the job, which ran and answered with its receipt
    assert done.job_id == job.job_id and done.status == JobStatus.COMPLETED and done.receipt is not None
    assert [(b["request_id"], b["status"]) for b in bodies(world.reply_url)] == [("ticket-13", "COMPLETED")]
    assert world.contents() == (world.without(lambda m: m.payload.get("agent_id") == "agent-a"),) * 2
