"""The stand-in's speed-up of DynamoDB transactions (`memerase_local.moto_transactions`, on for every test) keeps
moto's answers: a transaction is applied whole, and a cancelled one is rolled back whole, tables intact."""

from __future__ import annotations

import copy

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models.table import Table

from memerase import history as history_module
from memerase.history import HistoryStore


def test_a_transaction_of_100_puts_copies_the_table_once_and_writes_them_all(
    history: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 300 events already in the table, and every deep copy of a moto table counted
    history.record_deletions([f"old-{n}" for n in range(300)])
    copied: list[str] = []
    real = copy.deepcopy

    def counting(obj: object, memo: dict[int, object] | None = None) -> object:
        if isinstance(obj, Table):
            copied.append(obj.name)
        return real(obj, memo)

    monkeypatch.setattr(copy, "deepcopy", counting)
    # When 100 more are recorded in one transaction
    written = history.record_deletions([f"new-{n}" for n in range(history_module.TRANSACTION_ITEMS)])
    # Then the table was copied once (moto copied it once per action: 100 times) and all 100 are there
    assert written == 100 and copied == [history._table.name]
    assert [r["event"] for r in history.history("new-99")] == ["DELETE"]


def test_a_cancelled_transaction_is_rolled_back_whole(history: HistoryStore) -> None:
    # Given an event in the table
    history.record_deletions(["kept"])
    table = history._table.name
    client = boto3.client("dynamodb")
    # When a transaction puts a new item, then fails a condition on the existing one
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"memory_id": {"S": "new"}, "id": {"S": "x"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"memory_id": {"S": "kept"}, "id": {"S": history_module.delete_event_id("kept")}},
                        "ConditionExpression": "attribute_not_exists(memory_id)",
                    }
                },
            ]
        )
    # Then it is cancelled, the new item is not there, and the existing one is
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert history.history("new") == [] and len(history.history("kept")) == 1
