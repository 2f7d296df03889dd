"""What the DynamoDB-backed stores (history, jobs, API keys) share: table schemas, client settings, condition
expressions, the paged read (Query or Scan), numbers back from Decimal, and the translation of client errors into
the project's own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import ConditionBase, ConditionExpressionBuilder
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from memerase.errors import RetryableStoreError, StoreError

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, max_pool_connections=16)
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "TransactionConflictException",
    }
)


def table_schema(table_name: str, hash_key: str, range_key: str | None = None) -> dict[str, Any]:
    """CreateTable arguments for an on-demand table of string keys (template.yaml declares the same tables)."""
    keys = [(hash_key, "HASH")] + ([(range_key, "RANGE")] if range_key else [])
    return {
        "TableName": table_name,
        "KeySchema": [{"AttributeName": name, "KeyType": kind} for name, kind in keys],
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name, _ in keys],
        "BillingMode": "PAY_PER_REQUEST",
    }


def expressions(**conditions: ConditionBase | None) -> dict[str, Any]:
    """Request arguments for conditions (`KeyConditionExpression=Key(...)...`, `FilterExpression=`,
    `ConditionExpression=`): the expressions with their name and value placeholders, numbered by a builder of this
    call's own. Passed as objects, conditions are built by the one builder boto3 keeps per resource, whose counters
    two threads reset under each other (boto3's resources are not thread-safe): a request then names the wrong
    attribute or value ("Query condition missed key schema element"). `memerase serve` and the tests' Step
    Functions run handlers on several threads of one process."""
    builder = ConditionExpressionBuilder()
    request: dict[str, Any] = {}
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    for parameter, condition in conditions.items():
        if condition is None:
            continue
        built = builder.build_expression(condition, is_key_condition=parameter == "KeyConditionExpression")
        request[parameter] = built.condition_expression
        names.update(built.attribute_name_placeholders)
        values.update(built.attribute_value_placeholders)
    if names:
        request["ExpressionAttributeNames"] = names
    if values:
        request["ExpressionAttributeValues"] = values
    return request


def update_expression(fields: dict[str, Any]) -> dict[str, Any]:
    """UpdateItem arguments that set `fields` (a None value removes the attribute), names and values as placeholders
    (`#f<n>`, `:v<n>`), so a caller may add its own condition's."""
    names = {f"#f{i}": name for i, name in enumerate(fields)}
    values = {f":v{i}": v for i, v in enumerate(fields.values()) if v is not None}
    sets = [f"#f{i} = :v{i}" for i, v in enumerate(fields.values()) if v is not None]
    removes = [f"#f{i}" for i, v in enumerate(fields.values()) if v is None]
    expression = ("SET " + ", ".join(sets) if sets else "") + (" REMOVE " + ", ".join(removes) if removes else "")
    return {
        "UpdateExpression": expression.strip(),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def cancellation_reasons(exc: ClientError) -> set[str]:
    """Why a transaction was cancelled, one code per action ("None" for an action that was fine); read from the
    message's bracketed list when the response carries no CancellationReasons. Empty if it was not cancelled."""
    error = exc.response.get("Error", {})
    if error.get("Code") != "TransactionCanceledException":
        return set()
    reasons = exc.response.get("CancellationReasons") or []
    if reasons:
        return {str(reason.get("Code")) for reason in reasons}
    message = str(error.get("Message", ""))
    listed = message[message.rfind("[") + 1 : message.rfind("]")] if "[" in message else ""
    return {code.strip() for code in listed.split(",") if code.strip()}


def translate(exc: ClientError | BotoCoreError, what: str) -> StoreError:
    """A DynamoDB failure as the project's own error: retryable when throttled or transient."""
    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
    retryable = code in RETRYABLE_CODES or isinstance(exc, BotoCoreError)
    return (RetryableStoreError if retryable else StoreError)(f"{what}: {code}")


def call(method: Callable[..., Any], what: str, **kwargs: Any) -> Any:
    """One DynamoDB request, its failure translated (`what` names the table or the action in the message)."""
    try:
        return method(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, what) from exc


def items(method: Callable[..., Any], what: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query or Scan (`method`, with its arguments) returns, page after page (a page ends at 1 MB or
    at `Limit`, and a filter is applied to each page after that: a page may hold none of the matches)."""
    while True:
        response = call(method, what, **kwargs)
        yield from response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def plain(value: Any) -> Any:
    """A value read from DynamoDB with its numbers (which boto3 hands back as Decimal) as int or float, also inside
    maps and lists."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
