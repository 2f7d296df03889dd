"""EventBridge triggers: a retention run from EventBridge Scheduler (its target input names the policies and the
scheduled time), or an EventBridge rule event whose detail is an erasure request."""

from memerase.coldstart import cold_import

with cold_import():  # this function's modules and boto3, with Python's cyclic collector paused
    from typing import Any

    from aws_lambda_powertools.utilities.parser import parse
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from pydantic import ConfigDict

    from memerase import runtime
    from memerase.jobs.retention_runs import RetentionInvocation, run_scheduled
    from memerase.jobs.trigger_messages import EVENTBRIDGE, ErasureMessage, start_from_message
    from memerase.observability import logger, metrics, tracer


class ScheduledErasure(EventBridgeModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    detail: ErasureMessage  # type: ignore[assignment]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and "retention" in event:  # EventBridge Scheduler passes its target input verbatim
        invocation = parse(event=event, model=RetentionInvocation)
        outcomes = run_scheduled(runtime.intake(), runtime.settings().retention, invocation)
        return {"policies": [o.model_dump(mode="json", exclude_none=True) for o in outcomes]}
    request = parse(event=event, model=ScheduledErasure)
    job = start_from_message(
        runtime.intake(),
        request.detail,
        source=EVENTBRIDGE,  # its own requester: never the retention schedule's
        default_key=f"{EVENTBRIDGE}:{request.id}",
        unscoped_allowed=runtime.settings().requests.allow_unscoped_criteria,
    )
    logger.info(
        "erasure request",
        extra={"action": "start_job", "job_id": job.job_id, "key_id": EVENTBRIDGE, "request_id": request.id},
    )
    return {"job_id": job.job_id, "status": job.status.value}
