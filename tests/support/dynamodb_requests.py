"""Count the DynamoDB requests moto's server receives, per operation and table, where they arrive (moto's
response class, so it works with a ThreadedMotoServer in the same process)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.dynamodb.responses import DynamoHandler


class DynamoDBRequests:
    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()  # (operation, table) -> requests
        self._lock = threading.Lock()

    def on(self, table: str) -> Counter[str]:
        """Requests per operation that named `table` (BatchWriteItem / BatchGetItem count once per table named)."""
        return Counter({op: n for (op, t), n in self.counts.items() if t == table})

    def record(self, handler: Any) -> None:
        operation = handler._get_action()
        try:
            body = json.loads(handler.body or "{}")
        except ValueError:
            body = {}
        tables = [body["TableName"]] if "TableName" in body else list((body.get("RequestItems") or {}).keys())
        with self._lock:
            for table in tables or ["*"]:
                self.counts[(operation, table)] += 1


@contextmanager
def dynamodb_requests() -> Iterator[DynamoDBRequests]:
    counter = DynamoDBRequests()
    original = DynamoHandler.call_action

    def call_action(handler: DynamoHandler) -> Any:
        counter.record(handler)
        return original(handler)

    with mock.patch.object(DynamoHandler, "call_action", call_action):
        yield counter
