"""The S3 Vectors adapter's DeleteVectors retries, at the wire: moto server with AWS's limits, answering 429
`TooManyRequestsException` (or a 503, or a 403) to the next N DeleteVectors. A throttled batch is retried after short
waits sized to the per-index write ceiling, not botocore's second-scale backoff, and escalates (`Throttled`, which the
state machine retries) beyond the policy's bound. The waits are recorded instead of slept; requests are counted at the
server. Nothing is timed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from memerase.errors import RetryableStoreError, StoreError, Throttled
from memerase.stores import s3_vectors, s3_vectors_retry
from memerase.stores.s3_vectors import S3VectorsStore
from memerase.stores.s3_vectors_retry import DeleteRetry
from tests.support import mem0_data as m0
from tests.support.s3vectors_limits import S3VectorsLimits

POLICY = DeleteRetry()
BATCH, KEPT = 40, 10


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the adapter asked for, in order, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(s3_vectors_retry, "pause", recorded.append)
    return recorded


@pytest.fixture
def seeded(s3_limits: S3VectorsLimits) -> Iterator[tuple[S3VectorsStore, list[str], S3VectorsLimits]]:
    """A mem0 index holding a batch of the victim's memories and some of another user's; the store as a deployment
    builds it (`make_client`: its retry configuration, the writer derived from it)."""
    data = [m0.memory(f"victim {i}", user_id="victim") for i in range(BATCH)]
    data += [m0.memory(f"other {i}", user_id="other") for i in range(KEPT)]
    m0.write(m0.s3_store(), data)
    s3_limits.reset_counts()
    store = S3VectorsStore(s3_vectors.make_client(None), m0.BUCKET, m0.INDEX)
    yield store, [m.id for m in data[:BATCH]], s3_limits


def remaining_users() -> list[str]:
    return sorted(p["user_id"] for p in m0.s3_contents(m0.s3_store()).values())


def test_throttled_delete_is_retried_after_short_waits_and_then_deletes_exactly_its_batch(
    seeded: tuple[S3VectorsStore, list[str], S3VectorsLimits], waits: list[float]
) -> None:
    store, batch, limits = seeded
    # Given S3 Vectors answers the next 10 DeleteVectors with 429 TooManyRequestsException (more than the 9 attempts
    # boto3's standard mode would make)
    limits.fail_next("DeleteVectors", "TooManyRequestsException", times=10)
    # When the adapter deletes one batch
    deleted = store.delete_batch(batch)
    # Then the batch was sent 11 times, each 429 followed by one short wait of the adapter's (none of botocore's
    # backoff: it would have absorbed some 429s without a wait of ours), the waits sized to the ceiling
    assert limits.requests["DeleteVectors"] == 11 and limits.injected["DeleteVectors"] == 10
    assert len(waits) == 10
    assert all(POLICY.throttle_wait_s[0] <= w <= POLICY.throttle_cap_s for w in waits)
    assert waits[0] <= POLICY.throttle_wait_s[1]
    # And the batch is counted once and exactly its memories are gone, the other user's all left
    assert deleted == BATCH
    assert remaining_users() == ["other"] * KEPT


def test_delete_throttled_beyond_the_attempt_bound_escalates_as_throttled(
    seeded: tuple[S3VectorsStore, list[str], S3VectorsLimits], waits: list[float]
) -> None:
    store, batch, limits = seeded
    # Given S3 Vectors throttles as many DeleteVectors in a row as the policy attempts
    limits.fail_next("DeleteVectors", "TooManyRequestsException", times=POLICY.throttle_attempts)
    # When the adapter deletes one batch
    with pytest.raises(Throttled) as raised:
        store.delete_batch(batch)
    # Then it gave up after exactly that many requests with Throttled (a RetryableStoreError: the state machine's
    # Retry takes over), naming the code and the attempts, never a key
    assert isinstance(raised.value, RetryableStoreError)
    assert limits.requests["DeleteVectors"] == POLICY.throttle_attempts
    assert len(waits) == POLICY.throttle_attempts - 1
    assert "TooManyRequestsException" in str(raised.value) and f"{POLICY.throttle_attempts} attempts" in str(
        raised.value
    )
    assert not any(key in str(raised.value) for key in batch)
    # And nothing was deleted; the retry the state machine makes deletes the batch
    assert len(remaining_users()) == BATCH + KEPT
    assert store.delete_batch(batch) == BATCH
    assert remaining_users() == ["other"] * KEPT


def test_delete_throttled_beyond_the_total_wait_bound_escalates_before_the_attempt_bound(
    seeded: tuple[S3VectorsStore, list[str], S3VectorsLimits], waits: list[float]
) -> None:
    store, batch, limits = seeded
    # Given a policy allowing at most 1 s of waiting in all, and S3 Vectors throttling every DeleteVectors
    store.delete_retry = DeleteRetry(max_throttle_wait_s=1.0)
    limits.fail_every("DeleteVectors", 1, "TooManyRequestsException")
    # When the adapter deletes one batch
    # Then it escalates once the next wait would pass 1 s in all, before its attempt bound
    with pytest.raises(Throttled):
        store.delete_batch(batch)
    assert sum(waits) <= 1.0
    assert limits.requests["DeleteVectors"] == len(waits) + 1 < POLICY.throttle_attempts


def test_transient_delete_errors_keep_boto3s_standard_retries(
    seeded: tuple[S3VectorsStore, list[str], S3VectorsLimits], waits: list[float]
) -> None:
    store, batch, limits = seeded
    # Given S3 Vectors answers the next 3 DeleteVectors with 503 ServiceUnavailableException
    limits.fail_next("DeleteVectors", "ServiceUnavailableException", times=3)
    # When the adapter deletes one batch
    deleted = store.delete_batch(batch)
    # Then it was retried as boto3's standard mode retries: waits of rand(0, 1) x 2^(n-1) s, the 4th request deleted it
    assert limits.requests["DeleteVectors"] == 4 and deleted == BATCH
    assert [w <= 2**n for n, w in enumerate(waits)] == [True] * 3
    assert remaining_users() == ["other"] * KEPT
    # When 503s outlast boto3's 8 attempts
    limits.fail_next("DeleteVectors", "ServiceUnavailableException", times=POLICY.transient_attempts)
    # Then the adapter raises RetryableStoreError (not Throttled) after exactly 8 more requests
    with pytest.raises(RetryableStoreError) as raised:
        store.delete_batch(batch)
    assert not isinstance(raised.value, Throttled)
    assert limits.requests["DeleteVectors"] == 4 + POLICY.transient_attempts


def test_refused_delete_is_not_retried(
    seeded: tuple[S3VectorsStore, list[str], S3VectorsLimits], waits: list[float]
) -> None:
    store, batch, limits = seeded
    # Given S3 Vectors refuses the next DeleteVectors with 403 AccessDeniedException
    limits.fail_next("DeleteVectors", "AccessDeniedException")
    # When the adapter deletes one batch
    # Then it raises StoreError (not retryable) after one request and no wait, nothing deleted
    with pytest.raises(StoreError) as raised:
        store.delete_batch(batch)
    assert not isinstance(raised.value, RetryableStoreError)
    assert limits.requests["DeleteVectors"] == 1 and waits == []
    assert len(remaining_users()) == BATCH + KEPT


def test_writer_given_to_the_store_carries_its_deletes(
    seeded: tuple[S3VectorsStore, list[str], S3VectorsLimits], waits: list[float]
) -> None:
    _, batch, limits = seeded
    # Given a store whose DeleteVectors client (without SDK retries) is given, distinct from its reading client
    sent: list[Any] = []
    writer = boto3.client("s3vectors", config=s3_vectors.WRITER_CONFIG)
    writer.meta.events.register(
        "before-parameter-build.s3vectors.DeleteVectors", lambda **kw: sent.append(kw["params"]["keys"])
    )
    store = S3VectorsStore(s3_vectors.make_client(None), m0.BUCKET, m0.INDEX, writer=writer)
    limits.fail_next("DeleteVectors", "TooManyRequestsException", times=2)
    # When it deletes a batch through two throttles
    assert store.delete_batch(batch) == BATCH
    # Then every attempt went through the writer with exactly the batch's keys
    assert sent == [batch] * 3
    assert remaining_users() == ["other"] * KEPT
