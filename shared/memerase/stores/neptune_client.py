"""Amazon Neptune Analytics' data plane (boto3 `neptune-graph` ExecuteQuery, openCypher), with bounded retries.

Every value travels as a query parameter; the query text holds only labels the adapters validated. Errors name the
graph and the error code, never the query text or a value. boto3's standard endpoint settings apply
(`AWS_ENDPOINT_URL_NEPTUNE_GRAPH`, `AWS_DISABLE_HOST_PREFIX_INJECTION`), so a stand-in can be used.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as BotoConnectionError

from memerase.errors import RetryableStoreError, StoreError, Throttled

# mem0's own rule for collection names (mem0/configs/vector_stores/neptune.py): it is what keeps a label safe to
# write into the query text, since labels cannot be parameters.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RETRIED_CODES = frozenset({"ConflictException", "ThrottlingException"})
TRANSIENT_CODES = frozenset({"InternalServerException", "ServiceUnavailableException"})
RETRIED_IN_PROCESS = RETRIED_CODES | TRANSIENT_CODES  # InternalServerException is modelled `retryable` by botocore
# Our own retries (with full jitter) replace botocore's, so a throttled request is not retried twice over.
CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=120)


def quoted_label(name: str) -> str:
    """A node label for the query text, backticked, after mem0's identifier rule."""
    if not IDENTIFIER.match(name):
        raise ValueError("a Neptune label must match ^[A-Za-z_][A-Za-z0-9_]*$")
    return f"`{name}`"


def make_client(region_name: str | None) -> Any:
    return boto3.client("neptune-graph", region_name=region_name, config=CLIENT_CONFIG)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt k waits uniform(0, min(cap, base * 2**k)) seconds."""

    attempts: int = 6
    base_s: float = 0.05
    cap_s: float = 2.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0.0, min(self.cap_s, self.base_s * 2**attempt))  # noqa: S311 - jitter, not security


class NeptuneGraph:
    """One Neptune Analytics graph: `query(cypher, params)` returns the result rows."""

    def __init__(
        self,
        client: Any,
        graph_id: str,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._client = client
        self.graph_id = graph_id
        self._retry = retry
        self._sleep = sleep

    def query(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        attempt = 0
        while True:
            try:
                return self._execute(cypher, params or {})
            except ClientError as exc:
                code = _code(exc)
                attempt += 1
                if code in RETRIED_IN_PROCESS and attempt < self._retry.attempts:
                    self._sleep(self._retry.delay(attempt))
                    continue
                raise _translate(code, self.graph_id, attempt) from exc
            except (BotoConnectionError, HTTPClientError) as exc:
                # a reset or a refused connection, retried as boto3's standard mode would; not a read timeout (a
                # query that ran past read_timeout is left to the caller: the state machine's Retry)
                attempt += 1
                if not isinstance(exc, ReadTimeoutError) and attempt < self._retry.attempts:
                    self._sleep(self._retry.delay(attempt))
                    continue
                message = f"Neptune Analytics query on {self.graph_id} failed: {type(exc).__name__}"
                raise RetryableStoreError(message) from exc
            except BotoCoreError as exc:
                message = f"Neptune Analytics query on {self.graph_id} failed: {type(exc).__name__}"
                raise RetryableStoreError(message) from exc

    def _execute(self, cypher: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        response = self._client.execute_query(
            graphIdentifier=self.graph_id, queryString=cypher, parameters=dict(params), language="OPEN_CYPHER"
        )
        body = response["payload"].read()
        results = json.loads(body).get("results", []) if body else []
        return results if isinstance(results, list) else []


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) or "UnknownError"


def _translate(code: str, graph_id: str, attempts: int) -> StoreError:
    message = f"Neptune Analytics query on {graph_id} failed: {code}"
    if code == "ThrottlingException":
        return Throttled(f"{message} after {attempts} attempts")
    if code in RETRIED_CODES:
        return RetryableStoreError(f"{message} after {attempts} attempts")
    if code in TRANSIENT_CODES:
        return RetryableStoreError(message)
    return StoreError(message)
