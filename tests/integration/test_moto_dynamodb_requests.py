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
BLOCKED_S = 0.5  # how long the held Query waits for a PutItem the stand-in keeps waiting (it must not be answered)
ANSWERED_S = 10.0  # how long it waits for one that moto alone answers at once
ACCOUNT, REGION = "123456789012", "us-east-1"


class HeldWalk(defaultdict[Any, Any]):
    """A moto table's items whose walk (`values()`) stops after the first partition, announcing it with `held`,
    until `go` is set or `hold_s` passed; `went` says which."""

    def __init__(self, items: dict[Any, Any], hold_s: float) -> None:
        super().__init__(dict, items)
        self.held, self.go = threading.Event(), threading.Event()
        self.hold_s, self.went = hold_s, False

    def values(self) -> Any:  # type: ignore[override]
        def walk() -> Iterator[Any]:
            for n, partition in enumerate(super(HeldWalk, self).values()):
                yield partition
                if n == 0 and not self.held.is_set():
                    self.held.set()
                    self.went = self.go.wait(self.hold_s)

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


def query_while_an_item_is_added(table: Any, hold_s: float) -> tuple[Exception | None, bool, bool]:
    """A Query of job-a held inside moto's walk of the table while another thread adds a checkpoint row under a new
    partition: what the Query raised, whether the PutItem was answered while the Query was held, and whether the
    row was written in the end."""
    stored = dynamodb_backends[ACCOUNT][REGION].tables[TABLE]
    walk = stored.items = HeldWalk(stored.items, hold_s)
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
    return (raised[0] if raised else None), walk.went, written


def test_a_query_walking_the_table_is_answered_before_an_item_is_added(table: Any) -> None:
    # Given the stand-in's DynamoDB (installed for the whole suite)
    assert getattr(DynamoHandler.call_action, "one_at_a_time", False)
    # When a PutItem adding a partition arrives while a Query walks the table
    raised, answered_meanwhile, written = query_while_an_item_is_added(table, BLOCKED_S)
    # Then the PutItem waits for the Query, the Query is answered, and the item is written after it
    assert not answered_meanwhile and raised is None and written


def test_moto_alone_fails_the_query(table: Any) -> None:
    # Given moto's own DynamoDB request handler
    with mock.patch.object(DynamoHandler, "call_action", DynamoHandler.call_action.__wrapped__):  # type: ignore[attr-defined]
        # When the same PutItem arrives while the Query walks the table
        raised, answered_meanwhile, written = query_while_an_item_is_added(table, ANSWERED_S)
    # Then the PutItem is answered at once, and the Query fails as the real service never does
    assert answered_meanwhile and written
    assert isinstance(raised, RuntimeError) and "changed size during iteration" in str(raised)
