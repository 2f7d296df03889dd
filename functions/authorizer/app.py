"""API Gateway Lambda authorizer (REQUEST): `Authorization: Token <key>` -> the key's scope, or 401."""

from memerase.coldstart import cold_import

with cold_import():  # this function's modules and boto3, with Python's cyclic collector paused
    from typing import Any

    from aws_lambda_powertools.utilities.data_classes import event_source
    from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
        APIGatewayAuthorizerRequestEvent,
        APIGatewayAuthorizerResponse,
    )
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from memerase import runtime
    from memerase.errors import Unauthorized
    from memerase.observability import logger


@logger.inject_lambda_context
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    try:
        principal = runtime.api_keys().authenticate(
            event.headers.get("Authorization") or event.headers.get("authorization")
        )
    except Unauthorized:
        raise Exception("Unauthorized") from None  # API Gateway's contract for a 401  # noqa: TRY002
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=principal.key_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=principal.context(),
    )
    policy.allow_all_routes()
    return policy.asdict()
