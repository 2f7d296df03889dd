"""The stand-in's DynamoDB serves one request at a time (`memerase_local.moto_dynamodb_requests`, on for every test
and in `memerase serve`): a PutItem that adds an item while a Query walks the table waits for the Query, where moto
alone fails the Query with "dictionary changed size during iteration". In a job, one Map worker reads its job while
another writes its first checkpoint.

The interleaving is made to happen, not waited for: the Query is held inside moto's walk of the table while the
PutItem is sent."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.responses import DynamoHandler

from memerase.jobs.repository import table_schema

TABLE = "jobs"
HOLD_S = 1.0  # how long the held Query waits for the PutItem to be answered
ACCOUNT, REGION = "123456789012", "us-east-1"


class HeldWalk(defaultdict[Any, Any]):
    """A moto table's items whose walk (`values()`) stops after the first partition until `go` is set or HOLD_S
    passed, announcing it with `held`."""

    def __init__(self, items: dict[Any, Any]) -> None:
        super().__init__(dict, items)
        self.held, self.go = threading.Event(), threading.Event()

    def values(self) -> Any:  # type: ignore[override]
        def walk() -> Iterator[Any]:
            for n, partition in enumerate(super(HeldWalk, self).values()):
                yield partition
                if n == 0 and not self.held.is_set():
                    self.held.set()
                    self.go.wait(HOLD_S)

        return walk()


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The jobs table in moto in-process (its errors raised as they are, as in the tests' Step Functions harness),
    with a job record and one checkpoint."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(**table_schema(TABLE))
        jobs = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
        jobs.put_item(Item={"pk": "job#a", "sk": "job", "status": "RUNNING"})
        jobs.put_item(Item={"pk": "job#a", "sk": "part#0", "cursor": "c"})
        yield jobs


def query_while_an_item_is_added(table: Any) -> tuple[Exception | None, bool]:
    """A Query of job-a held inside moto's walk of the table while another thread adds a checkpoint row under a new
    partition: what the Query raised, and whether the row was written."""
    stored = dynamodb_backends[ACCOUNT][REGION].tables[TABLE]
    walk = stored.items = HeldWalk(stored.items)
    raised: list[Exception] = []

    def query() -> None:
        try:
            table.query(KeyConditionExpression=Key("pk").eq("job#a") & Key("sk").between("job", "job#scope"))
        except Exception as exc:
            raised.append(exc)

    reader = threading.Thread(target=query)
    reader.start()
    assert walk.held.wait(10), "the Query never walked the table"
    writer = threading.Thread(target=lambda: (table.put_item(Item={"pk": "job#b", "sk": "part#0"}), walk.go.set()))
    writer.start()
    reader.join(10)
    writer.join(10)
    written = "Item" in table.get_item(Key={"pk": "job#b", "sk": "part#0"})
    return (raised[0] if raised else None), written


def test_a_query_walking_the_table_is_answered_before_an_item_is_added(table: Any) -> None:
    # Given the stand-in's DynamoDB (installed for the whole suite)
    assert getattr(DynamoHandler.call_action, "one_at_a_time", False)
    # When a PutItem adding a partition arrives while a Query walks the table
    raised, written = query_while_an_item_is_added(table)
    # Then the Query is answered and the item written after it
    assert raised is None and written


def test_moto_alone_fails_the_query(table: Any) -> None:
    # Given moto's own DynamoDB request handler
    with mock.patch.object(DynamoHandler, "call_action", DynamoHandler.call_action.__wrapped__):  # type: ignore[attr-defined]
        # When the same PutItem arrives while the Query walks the table
        raised, written = query_while_an_item_is_added(table)
    # Then the Query fails as the real service never does, and the item is written
    assert isinstance(raised, RuntimeError) and "changed size during iteration" in str(raised) and written
