"""SQS trigger: each message is an erasure request; failed records are reported back for redelivery (then DLQ)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict, Json

from memerase import runtime
from memerase.jobs.trigger_messages import ErasureMessage, start_from_message
from memerase.observability import logger, metrics, tracer


class ErasureRecord(SqsRecordModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    body: Json[ErasureMessage]  # type: ignore[assignment]


processor = BatchProcessor(event_type=EventType.SQS, model=ErasureRecord)


def record_handler(record: ErasureRecord) -> str:
    job = start_from_message(runtime.launcher(), record.body, source="sqs", default_key=f"sqs:{record.messageId}")
    logger.info(
        "erasure request",
        extra={"action": "start_job", "job_id": job.job_id, "key_id": "sqs", "request_id": record.messageId},
    )
    return job.job_id


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
