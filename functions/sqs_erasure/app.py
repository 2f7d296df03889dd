"""SQS trigger: each message is an erasure request. A malformed one is moved to the dead-letter queue at once with its
reason code (and counts as processed); one that failed for a transient reason is reported back for redelivery."""

from memerase.coldstart import cold_import

with cold_import():  # this function's modules and boto3, with Python's cyclic collector paused
    from typing import Any

    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from pydantic import ConfigDict

    from memerase import runtime
    from memerase.observability import logger, metrics, tracer


class ErasureRecord(SqsRecordModel):
    """The SQS record; its body is read (and refused when malformed) by the library, not here."""

    model_config = ConfigDict(hide_input_in_errors=True)

    body: str


def record_handler(record: ErasureRecord) -> str | None:
    job_id = runtime.request_intake().handle(record.messageId, record.body)
    if job_id:
        logger.info(
            "erasure request",
            extra={"action": "start_job", "job_id": job_id, "key_id": "sqs", "request_id": record.messageId},
        )
    return job_id


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    # A processor per batch: it holds the batch's records and outcomes, and in-process runs (tests) overlap batches
    processor = BatchProcessor(event_type=EventType.SQS, model=ErasureRecord)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
