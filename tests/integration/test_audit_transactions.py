"""The audit table's writes are transactions of up to 100 events: a transaction cancelled because it was throttled or
met a concurrent one is sent again; one cancelled for any other reason is an error, never retried."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse

from memerase.errors import RetryableStoreError, StoreError
from memerase.history import HistoryStore
from tests.support.dynamodb_requests import dynamodb_requests

TABLE = "memerase-history"


class Cancels:
    """Answers the first `times` TransactWriteItems in DynamoDB's place: cancelled, first item for `reason` (and the
    second for `second`), with CancellationReasons in the body unless `listed` is False (then only the message)."""

    def __init__(self, reason: str, times: int, second: str = "None", listed: bool = True) -> None:
        self.reason, self.times, self.second, self.listed, self.answered = reason, times, second, listed, 0

    def __call__(self, request: Any, **_kwargs: Any) -> AWSResponse | None:
        if self.answered >= self.times:
            return None
        self.answered += 1
        items = json.loads(request.body)["TransactItems"]
        codes = [self.reason, self.second] + ["None"] * (len(items) - 2)
        body: dict[str, Any] = {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
            f"[{', '.join(codes)}]",
        }
        if self.listed:
            body["CancellationReasons"] = [{"Code": code} for code in codes]
        headers = {"Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 400, headers, MockRawResponse(json.dumps(body).encode()))


def answered_by(history: HistoryStore, cancels: Cancels) -> list[float]:
    client = history._table.meta.client
    client.meta.events.register_first("before-send.dynamodb.TransactWriteItems", cancels)
    waits: list[float] = []
    history.pause = waits.append
    return waits


@pytest.mark.parametrize(
    ("reason", "listed", "longest"),
    [
        ("ThrottlingError", True, (1.0, 2.0)),  # botocore's standard schedule
        ("ProvisionedThroughputExceeded", True, (1.0, 2.0)),
        ("TransactionConflict", True, (0.05, 0.1)),  # a conflict is retried sooner
        ("ThrottlingError", False, (1.0, 2.0)),  # the reasons read from the message when the body lists none
    ],
)
def test_a_transaction_cancelled_by_throttling_or_a_conflict_is_sent_again(
    history: HistoryStore, reason: str, listed: bool, longest: tuple[float, float]
) -> None:
    # Given a table that cancels the first two transactions for a transient reason
    waits = answered_by(history, Cancels(reason, times=2, listed=listed))
    # When 150 events are recorded
    with dynamodb_requests() as requests:
        written = history.record_deletions([f"m-{n}" for n in range(150)], actor="cli")
    # Then both transactions reached the table after two jittered waits on the reason's schedule, and every event is
    # there once
    assert written == 150 and len(waits) == 2
    assert 0 <= waits[0] <= longest[0] and 0 <= waits[1] <= longest[1]
    assert requests.on(TABLE) == {"TransactWriteItems": 2}
    assert [r["event"] for r in history.history("m-0")] == ["DELETE"]
    assert [r["actor_id"] for r in history.history("m-149")] == ["cli"]


@pytest.mark.parametrize(("reason", "second"), [("ValidationError", "None"), ("ThrottlingError", "ValidationError")])
def test_a_transaction_cancelled_for_another_reason_fails_at_once(
    history: HistoryStore, reason: str, second: str
) -> None:
    # Given a table that cancels a transaction for a validation error (alone, or beside a throttled item)
    waits = answered_by(history, Cancels(reason, times=1, second=second))
    # When events are recorded
    # Then the write fails as a store error that is not retryable, without a second attempt, and nothing was written
    with pytest.raises(StoreError) as raised:
        history.record_deletions(["m-0", "m-1"])
    assert not isinstance(raised.value, RetryableStoreError)
    assert "TransactionCanceledException" in str(raised.value) and waits == []
    assert history.history("m-0") == []


@pytest.mark.parametrize(("reason", "attempts"), [("TransactionConflict", 6), ("ThrottlingError", 8)])
def test_a_transaction_still_cancelled_after_every_attempt_is_a_retryable_error(
    history: HistoryStore, reason: str, attempts: int
) -> None:
    # Given a table that keeps cancelling for the same transient reason
    waits = answered_by(history, Cancels(reason, times=100))
    # When events are recorded
    # Then after the reason's last attempt the failure is retryable (a job's step retries it), nothing was written
    with pytest.raises(RetryableStoreError):
        history.record_deletions(["m-0", "m-1"])
    assert len(waits) == attempts - 1 and history.history("m-0") == []
