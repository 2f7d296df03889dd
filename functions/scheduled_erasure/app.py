"""EventBridge trigger: a scheduled erasure (a rule or schedule whose input/detail is an erasure request)."""

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict

from memerase import runtime
from memerase.jobs.trigger_messages import ErasureMessage, start_from_message
from memerase.observability import logger, metrics, tracer


class ScheduledErasure(EventBridgeModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    detail: ErasureMessage  # type: ignore[assignment]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ScheduledErasure)
def handler(event: ScheduledErasure, context: LambdaContext) -> dict[str, Any]:
    job = start_from_message(runtime.launcher(), event.detail, source="schedule", default_key=f"schedule:{event.id}")
    logger.info(
        "erasure request",
        extra={"action": "start_job", "job_id": job.job_id, "key_id": "schedule", "request_id": event.id},
    )
    return {"job_id": job.job_id, "status": job.status.value}
