"""Step Functions task "Plan Work": mark the job RUNNING and split the stores into work items."""

from memerase.coldstart import cold_import

with cold_import():  # this function's modules and boto3, with Python's cyclic collector paused
    from typing import Any

    from aws_lambda_powertools.utilities.parser import event_parser
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from memerase.jobs.task_inputs import JobTask
    from memerase.observability import logger, metrics, tracer
    from memerase.runtime import job_steps


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=JobTask)
def handler(event: JobTask, context: LambdaContext) -> dict[str, Any]:
    items = job_steps().plan(event.job_id, event.execution)
    return {"items": [item.model_dump(by_alias=True) for item in items]}
