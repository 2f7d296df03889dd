"""API function: filtered bulk delete (erasure jobs: start, status, cancel), batch and entity deletes."""

from memerase.coldstart import cold_import

with cold_import():  # this function's modules and boto3, with Python's cyclic collector paused
    from typing import Any

    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from memerase.api.resolver import make_resolver
    from memerase.api.routes import erasures
    from memerase.observability import logger, metrics, tracer

app = make_resolver(erasures.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
