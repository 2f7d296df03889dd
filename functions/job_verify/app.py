"""Step Functions task "Verify Erasure": decide from the pass that just ran (its work-item rows, no new count):
clean, another pass, or the unfinished pass again; memories left and unfinished work items reported apart."""

from memerase.coldstart import cold_import

with cold_import():  # this function's modules and boto3, with Python's cyclic collector paused
    from dataclasses import asdict
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
    verdict = job_steps().verify(event.job_id)
    return {k: v for k, v in asdict(verdict).items() if k not in ("next_pass", "rounds")}
