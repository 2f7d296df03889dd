"""A resumed partition's pending batch is read again before it is deleted (issue #11, item 10): only records still
stored and still in the scope are deleted; one that no longer matches (or cannot be read again) is left alone and
counted as skipped, and the counts stay exact. S3 Vectors (moto server, AWS limits) and OpenSearch (osmem-server),
both written by mem0's own classes."""

from __future__ import annotations

from typing import Any

import pytest

from memerase.engine import MEMORIES, Eraser, PartitionProgress, StoreRef
from memerase.stores.base import Partition
from memerase.stores.factory import TargetStores
from tests.support import mem0_data as m0
from tests.support.targets import os_target, s3_target

PER_USER = 12


def contents(kind: str, store: Any) -> m0.Snapshot:
    return m0.s3_contents(store) if kind == "s3" else m0.opensearch_contents(store)


@pytest.mark.parametrize("kind", ["s3", "os"])
def test_a_resumed_pending_batch_deletes_only_what_is_still_in_scope(
    kind: str, request: pytest.FixtureRequest, osmem_url: str
) -> None:
    # Given user-0's and user-1's memories, and a dead worker's pending batch for user-0 (claimed, not counted) that
    # holds: a user-0 memory still stored, one of user-0 the dead worker did delete, a user-1 memory (a batch that
    # does not match the scope any more, e.g. an altered record), and an entry with no memory id
    mem0 = request.getfixturevalue("s3_mem0" if kind == "s3" else "os_mem0")
    data = m0.dataset(users=2, per_user=PER_USER, agents=(None,), runs=(None,))
    m0.write(mem0, data)
    target: TargetStores = s3_target() if kind == "s3" else os_target(osmem_url)
    own = [m for m in data if m.payload["user_id"] == "user-0"]
    foreign = next(m for m in data if m.payload["user_id"] == "user-1")
    native = {r.memory_id: r.native_id for r in target.memories.lookup([m.id for m in data])}
    still, gone, unreadable = own[0], own[1], own[2]
    target.memories.delete_batch([native[gone.id]])
    pending = [
        (native[still.id], still.id),
        (native[gone.id], gone.id),
        (native[foreign.id], foreign.id),
        (native[unreadable.id], ""),
    ]
    state = PartitionProgress(pending=pending)
    # When the partition is resumed (in one segment or slice: the whole scope)
    Eraser([target]).runner.erase(StoreRef(target.name, MEMORIES), {"user_id": "user-0"}, Partition(), state)
    # Then user-1's memory is still there and every one of user-0's is gone
    assert contents(kind, mem0) == {m.id: m.payload for m in data if m.payload["user_id"] == "user-1"}
    # And the batch's two entries left alone are counted as skipped: exactly user-0's memories are counted as deleted,
    # the one the dead worker deleted among them (the unreadable one was found again by the listing and deleted then)
    assert state.skipped == 2 and state.deleted == state.matched == PER_USER and state.done and not state.pending
