"""The audit table: one content-free DELETE event per erased memory, written without reading anything."""

from __future__ import annotations

from typing import Any

import pytest

from memerase.engine import Eraser
from memerase.history import HistoryStore
from memerase.models import Scope
from tests.support import mem0_data as m0
from tests.support.dynamodb_requests import dynamodb_requests
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.targets import os_target, s3_target

TABLE = "memerase-history"


@pytest.fixture
def both_stores(s3_limits: S3VectorsLimits, osmem_url: str) -> tuple[Any, Any]:
    return m0.s3_store(), m0.opensearch_store(osmem_url)


def test_an_inline_erasure_writes_one_event_per_memory_across_targets_without_reading_the_table(
    both_stores: tuple[Any, Any], osmem_url: str, history: HistoryStore
) -> None:
    # Given 260 memories of user-0 held by both targets, beside user-1's
    data = m0.dataset(users=2, per_user=260, agents=(None,), runs=(None,))
    for store in both_stores:
        m0.write(store, data)
    eraser = Eraser([s3_target(), os_target(osmem_url)], history=history)
    # When user-0 is erased, counting the requests moto's server receives
    with dynamodb_requests() as requests:
        result = eraser.delete_matching(Scope.of(user_id="user-0"))
    # Then the history table was only written, in transactions of 100: 260 events, one per memory, never read
    assert requests.on(TABLE) == {"TransactWriteItems": 3}
    assert result.history_events == 260 and result.memories == 260 and result.deleted == 520
    victims = [m.id for m in data if m.payload["user_id"] == "user-0"]
    rows = [row for memory_id in victims for row in history.history(memory_id)]
    assert len(rows) == 260 and {(r["event"], r["old_memory"], r["new_memory"]) for r in rows} == {
        ("DELETE", None, None)
    }


def test_deleting_by_id_writes_the_event_once_without_reading_the_table(
    both_stores: tuple[Any, Any], osmem_url: str, history: HistoryStore
) -> None:
    # Given a memory in both targets
    data = m0.dataset(users=1, per_user=2, agents=(None,), runs=(None,))
    for store in both_stores:
        m0.write(store, data)
    eraser = Eraser([s3_target(), os_target(osmem_url)], history=history)
    # When it is deleted by id
    with dynamodb_requests() as requests:
        eraser.delete_memory(data[0].id)
    # Then one write request and no read reached the history table, and it holds exactly one DELETE event
    assert requests.on(TABLE) == {"TransactWriteItems": 1}
    assert [r["event"] for r in history.history(data[0].id)] == ["DELETE"]
