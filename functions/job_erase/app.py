"""Step Functions task "Erase Pages": erase one work item's pages until the Lambda time budget is nearly spent."""

from memerase.coldstart import cold_import

with cold_import():  # this function's modules and boto3, with Python's cyclic collector paused
    from typing import Any

    from aws_lambda_powertools.utilities.parser import event_parser
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from memerase.jobs.task_inputs import EraseTask
    from memerase.observability import logger, metrics, tracer
    from memerase.runtime import job_steps


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=EraseTask)
def handler(event: EraseTask, context: LambdaContext) -> dict[str, Any]:
    done = job_steps().erase(event.job_id, event.item, context.get_remaining_time_in_millis, event.execution)
    return {"done": done}
