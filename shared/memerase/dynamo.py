"""What the DynamoDB-backed stores (history, jobs, API keys) share: table schemas, client settings, and the
translation of client errors into the project's own."""

from __future__ import annotations

from typing import Any

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


def translate(exc: ClientError | BotoCoreError, what: str) -> StoreError:
    """A DynamoDB failure as the project's own error: retryable when throttled or transient."""
    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
    retryable = code in RETRYABLE_CODES or isinstance(exc, BotoCoreError)
    return (RetryableStoreError if retryable else StoreError)(f"{what}: {code}")
