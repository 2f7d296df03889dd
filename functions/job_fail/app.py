"""Step Functions task "Record Failure": the one error path. FAILED (resumable) with the counts of what the job erased,
ErasureFailed event; a job cancelled meanwhile stays CANCELLED."""

from memerase.coldstart import cold_import

with cold_import():  # this function's modules and boto3, with Python's cyclic collector paused
    from typing import Any

    from aws_lambda_powertools.utilities.parser import event_parser
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from memerase.jobs.task_inputs import FailTask
    from memerase.observability import logger, metrics, tracer
    from memerase.runtime import job_steps


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=FailTask)
def handler(event: FailTask, context: LambdaContext) -> dict[str, Any]:
    return {"status": job_steps().fail(event.job_id, event.error, event.cause).value}
