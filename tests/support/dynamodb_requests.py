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
        """Requests per operation that named `table` (a batch or a transaction counts once per table it names)."""
        return Counter({op: n for (op, t), n in self.counts.items() if t == table})

    def record(self, handler: Any) -> None:
        operation = handler._get_action()
        try:
            body = json.loads(handler.body or "{}")
        except ValueError:
            body = {}
        tables = _tables(body)
        with self._lock:
            for table in tables or ["*"]:
                self.counts[(operation, table)] += 1


def _tables(body: dict[str, Any]) -> list[str]:
    """The tables a request names: its TableName, a batch's RequestItems, or each action of a transaction (once)."""
    if "TableName" in body:
        return [body["TableName"]]
    if "TransactItems" in body:
        named = (next(iter(action.values()), {}).get("TableName") for action in body["TransactItems"])
        return list(dict.fromkeys(t for t in named if t))
    return list((body.get("RequestItems") or {}).keys())


@contextmanager
def dynamodb_requests() -> Iterator[DynamoDBRequests]:
    counter = DynamoDBRequests()
    original = DynamoHandler.call_action

    def call_action(handler: DynamoHandler) -> Any:
        counter.record(handler)
        return original(handler)

    with mock.patch.object(DynamoHandler, "call_action", call_action):
        yield counter
