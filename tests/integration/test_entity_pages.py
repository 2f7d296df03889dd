"""mem0's `GET /v1/entities/` read one bounded slice at a time (issue #18, item 13): every call makes at most a fixed
number of store list requests, and following the cursors reads every memory of every target exactly once, on mem0's
own S3Vectors and OpenSearchDB collections (moto server with AWS's limits, osmem-server)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from memerase.engine import Eraser
from memerase.engine.reads import ENTITY_PAGE_REQUESTS
from memerase.errors import InvalidRequest
from memerase.stores.factory import TargetStores
from tests.support import mem0_data as m0
from tests.support.targets import os_target, s3_target


def counted(targets: list[TargetStores]) -> list[int]:
    """Count every store list request the entity listing makes (one per `scope_page`)."""
    calls = [0]
    for target in targets:
        real = target.memories.scope_page

        def page(cursor: str | None, real: Any = real) -> Any:
            calls[0] += 1
            return real(cursor)

        target.memories.scope_page = page  # type: ignore[method-assign]
    return calls


def test_each_call_makes_a_bounded_number_of_store_requests_and_the_cursors_cover_every_memory(
    s3_mem0: Any, os_mem0: Any, osmem_url: str
) -> None:
    """Before the fix: one call read every page of every target, however many (on an index of millions, more than
    API Gateway's 29 seconds): there was no bound (ENTITY_PAGE_REQUESTS: an ImportError here) and no cursor."""
    # Given 3 users x 20 memories written by mem0 in S3 Vectors and OpenSearch, read 7 records per store request
    data = m0.dataset(users=3, per_user=20)
    m0.write(s3_mem0, data)
    m0.write(os_mem0, data)
    targets = [s3_target(page_size=7), os_target(osmem_url, page_size=7)]
    calls = counted(targets)
    eraser = Eraser(targets)
    # When the entities are listed by following each answer's cursor
    seen: Counter[tuple[str, str]] = Counter()
    per_call, cursor, pages = [], None, 0
    while True:
        before = calls[0]
        page = eraser.entities(cursor)
        per_call.append(calls[0] - before)
        pages += 1
        for key, counts in page.counts.items():
            seen.update({(key, name): total for name, total in counts.items()})
        cursor = page.cursor
        if cursor is None:
            break
    # Then no call made more than its bound of store requests, 9 + 9 pages took 4 calls, and every user's memories
    # were read once per target (the targets are read one after the other, on different pages here)
    assert max(per_call) <= ENTITY_PAGE_REQUESTS and sum(per_call) == 18 and pages == 4
    assert {name: total for (key, name), total in seen.items() if key == "user_id"} == {
        f"user-{u}": 2 * 20 for u in range(3)
    }


def test_one_slice_holding_both_targets_counts_a_memory_kept_in_both_once(
    s3_mem0: Any, os_mem0: Any, osmem_url: str
) -> None:
    # Given 2 users x 4 memories in both stores, small enough for one call
    data = m0.dataset(users=2, per_user=4)
    m0.write(s3_mem0, data)
    m0.write(os_mem0, data)
    # When the entities are listed
    page = Eraser([s3_target(), os_target(osmem_url)]).entities()
    # Then one page, with each user's distinct memories
    assert page.cursor is None and page.counts["user_id"] == {"user-0": 4, "user-1": 4}


@pytest.mark.parametrize(
    "cursor",
    ["not-base64!", "bnVsbA", "WzksbnVsbF0", "WyJ4IixudWxsXQ", "WzAsMV0"],
    ids=["garbage", "null", "target-out-of-range", "target-not-a-number", "store-cursor-not-a-string"],
)
def test_a_cursor_this_api_did_not_give_is_refused_without_quoting_it(
    s3_mem0: Any, os_mem0: Any, osmem_url: str, cursor: str
) -> None:
    # Given two targets
    eraser = Eraser([s3_target(), os_target(osmem_url)])
    # When the entities are listed from a made-up cursor
    # Then it is refused as invalid, and the message does not repeat it
    with pytest.raises(InvalidRequest, match="invalid cursor") as refused:
        eraser.entities(cursor)
    assert cursor not in str(refused.value)
