"""The S3 Vectors limits stand-in makes moto behave like AWS: paging, segments, batch limits, throttling, counts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.support.s3vectors_limits import (
    DELETE_VECTORS_MAX_KEYS,
    GET_VECTORS_MAX_KEYS,
    PUT_VECTORS_MAX_VECTORS,
    S3VectorsLimits,
    segment_of,
)

BUCKET = "limits-bucket"
INDEX = "limits-index"
DIMENSION = 4
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
NO_CLIENT_VALIDATION = Config(retries={"mode": "standard", "total_max_attempts": 1}, parameter_validation=False)


@pytest.fixture
def endpoint(aws: str) -> str:
    """The suite's moto server (tests/conftest.py), reset for this test."""
    return aws


def make_client(endpoint: str, config: Config = NO_RETRIES) -> Any:
    return boto3.client("s3vectors", region_name="us-east-1", endpoint_url=endpoint, config=config)


@pytest.fixture
def client(endpoint: str) -> Any:
    s3v = make_client(endpoint)
    s3v.create_vector_bucket(vectorBucketName=BUCKET)
    s3v.create_index(
        vectorBucketName=BUCKET, indexName=INDEX, dataType="float32", dimension=DIMENSION, distanceMetric="cosine"
    )
    return s3v


@pytest.fixture
def limits() -> Iterator[S3VectorsLimits]:
    with S3VectorsLimits() as active:
        yield active


def vectors(count: int, prefix: str = "mem") -> list[dict[str, Any]]:
    return [
        {"key": f"{prefix}-{i:04d}", "data": {"float32": [float(i), 1.0, 0.5, 0.25]}, "metadata": {"n": i}}
        for i in range(count)
    ]


def put_all(client: Any, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), PUT_VECTORS_MAX_VECTORS):
        client.put_vectors(vectorBucketName=BUCKET, indexName=INDEX, vectors=items[start : start + 500])


def list_pages(client: Any, **kwargs: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    token: str | None = None
    while True:
        extra = {"nextToken": token} if token else {}
        page = client.list_vectors(vectorBucketName=BUCKET, indexName=INDEX, **kwargs, **extra)
        pages.append([v["key"] for v in page["vectors"]])
        token = page.get("nextToken")
        if not token:
            return pages


def assert_client_error(exc: pytest.ExceptionInfo[ClientError], code: str, status: int) -> None:
    assert exc.value.response["Error"]["Code"] == code
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


# -- ListVectors pagination --------------------------------------------------------------------------------------


def test_list_vectors_pages_by_max_results_and_returns_every_vector_exactly_once(
    client: Any, limits: S3VectorsLimits
) -> None:
    # Given 50 vectors in the index
    put_all(client, vectors(50))
    limits.reset_counts()

    # When listing them with maxResults=7, following nextToken
    pages = list_pages(client, maxResults=7)

    # Then there are ceil(50/7) = 8 pages of at most 7 keys, every key exactly once, one request per page
    assert [len(page) for page in pages] == [7] * 7 + [1]
    keys = [key for page in pages for key in page]
    assert sorted(keys) == sorted(v["key"] for v in vectors(50))
    assert len(keys) == len(set(keys))
    assert limits.requests["ListVectors"] == 8


def test_list_vectors_defaults_to_500_results_per_page(client: Any, limits: S3VectorsLimits) -> None:
    # Given 501 vectors
    put_all(client, vectors(501))

    # When listing without maxResults
    pages = list_pages(client)

    # Then the first page holds the default 500 and the second the rest
    assert [len(page) for page in pages] == [500, 1]


def test_list_vectors_page_stops_at_the_response_size_limit(client: Any) -> None:
    # Given a stand-in whose page-size cut-off is 2 KB and 40 vectors listed with their data and metadata
    with S3VectorsLimits(max_page_bytes=2048):
        put_all(client, vectors(40))

        # When listing with the largest maxResults
        pages = list_pages(client, maxResults=1000, returnData=True, returnMetadata=True)

    # Then pages are cut by size, not count, and still cover every key exactly once
    assert len(pages) > 1
    assert all(0 < len(page) < 40 for page in pages)
    keys = [key for page in pages for key in page]
    assert sorted(keys) == sorted(v["key"] for v in vectors(40))


def test_list_vectors_returns_data_and_metadata_only_when_asked(client: Any, limits: S3VectorsLimits) -> None:
    # Given one vector
    put_all(client, vectors(1))

    # When listing with and without returnData/returnMetadata
    bare = client.list_vectors(vectorBucketName=BUCKET, indexName=INDEX)["vectors"][0]
    full = client.list_vectors(vectorBucketName=BUCKET, indexName=INDEX, returnData=True, returnMetadata=True)

    # Then only the asked-for fields are present
    assert set(bare) == {"key"}
    assert full["vectors"][0]["data"] == {"float32": [0.0, 1.0, 0.5, 0.25]}
    assert full["vectors"][0]["metadata"] == {"n": 0}


def test_deleting_listed_keys_between_pages_skips_no_remaining_vector(client: Any, limits: S3VectorsLimits) -> None:
    # Given 50 vectors
    put_all(client, vectors(50))

    # When each page is deleted before fetching the next one (the erase loop's access pattern)
    seen: list[str] = []
    token: str | None = None
    while True:
        extra = {"nextToken": token} if token else {}
        page = client.list_vectors(vectorBucketName=BUCKET, indexName=INDEX, maxResults=7, **extra)
        keys = [v["key"] for v in page["vectors"]]
        seen.extend(keys)
        if keys:
            client.delete_vectors(vectorBucketName=BUCKET, indexName=INDEX, keys=keys)
        token = page.get("nextToken")
        if not token:
            break

    # Then every vector was seen once and the index is empty
    assert sorted(seen) == sorted(v["key"] for v in vectors(50))
    assert len(seen) == len(set(seen))
    assert client.list_vectors(vectorBucketName=BUCKET, indexName=INDEX)["vectors"] == []


def test_next_token_that_was_not_issued_by_the_service_is_rejected(client: Any, limits: S3VectorsLimits) -> None:
    # Given an index with vectors
    put_all(client, vectors(3))

    # When listing with a made-up token
    with pytest.raises(ClientError) as exc:
        client.list_vectors(vectorBucketName=BUCKET, indexName=INDEX, nextToken="not-a-token")

    # Then it is a ValidationException (HTTP 400)
    assert_client_error(exc, "ValidationException", 400)


# -- ListVectors segments ----------------------------------------------------------------------------------------


def test_segments_partition_the_key_set_and_each_segment_paginates(client: Any, limits: S3VectorsLimits) -> None:
    # Given 60 vectors
    put_all(client, vectors(60))
    all_keys = {v["key"] for v in vectors(60)}

    # When listing each of 4 segments with maxResults=5
    segments = [
        [key for page in list_pages(client, segmentCount=4, segmentIndex=i, maxResults=5) for key in page]
        for i in range(4)
    ]

    # Then the segments are pairwise disjoint, their union is every key, and each matches the stable hash
    assert set().union(*segments) == all_keys
    assert sum(len(segment) for segment in segments) == len(all_keys)
    for i, segment in enumerate(segments):
        assert len(segment) == len(set(segment))
        assert all(segment_of(key, 4) == i for key in segment)
    # And at least one segment needed more than one page
    assert max(len(segment) for segment in segments) > 5


def test_single_segment_lists_everything(client: Any, limits: S3VectorsLimits) -> None:
    # Given 10 vectors
    put_all(client, vectors(10))

    # When listing segment 0 of 1
    pages = list_pages(client, segmentCount=1, segmentIndex=0)

    # Then all vectors are in it
    assert sorted(pages[0]) == sorted(v["key"] for v in vectors(10))


def test_next_token_from_another_segment_is_rejected(client: Any, limits: S3VectorsLimits) -> None:
    # Given a continuation token issued for segment 0 of 2
    put_all(client, vectors(40))
    page = client.list_vectors(vectorBucketName=BUCKET, indexName=INDEX, segmentCount=2, segmentIndex=0, maxResults=2)

    # When it is used for segment 1
    with pytest.raises(ClientError) as exc:
        client.list_vectors(
            vectorBucketName=BUCKET, indexName=INDEX, segmentCount=2, segmentIndex=1, nextToken=page["nextToken"]
        )

    # Then it is a ValidationException
    assert_client_error(exc, "ValidationException", 400)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"maxResults": 1001}, id="maxResults-over-1000"),
        pytest.param({"maxResults": 0}, id="maxResults-zero"),
        pytest.param({"maxResults": -1}, id="maxResults-negative"),
        pytest.param({"segmentCount": 17, "segmentIndex": 0}, id="segmentCount-over-16"),
        pytest.param({"segmentCount": 0, "segmentIndex": 0}, id="segmentCount-zero"),
        pytest.param({"segmentCount": 4, "segmentIndex": 4}, id="segmentIndex-equals-count"),
        pytest.param({"segmentCount": 16, "segmentIndex": 16}, id="segmentIndex-over-15"),
        pytest.param({"segmentCount": 4, "segmentIndex": -1}, id="segmentIndex-negative"),
        pytest.param({"segmentCount": 4}, id="segmentCount-without-index"),
        pytest.param({"segmentIndex": 0}, id="segmentIndex-without-count"),
    ],
)
def test_out_of_range_list_parameters_raise_validation_exception(
    endpoint: str, client: Any, limits: S3VectorsLimits, params: dict[str, int]
) -> None:
    # Given a client that does not validate parameters itself, so the service sees them
    raw = make_client(endpoint, NO_CLIENT_VALIDATION)

    # When listing with an out-of-range or incomplete parameter set
    with pytest.raises(ClientError) as exc:
        raw.list_vectors(vectorBucketName=BUCKET, indexName=INDEX, **params)

    # Then the service answers ValidationException with HTTP 400
    assert_client_error(exc, "ValidationException", 400)


# -- batch sizes -------------------------------------------------------------------------------------------------


def test_batch_operations_accept_exactly_their_maximum(client: Any, limits: S3VectorsLimits) -> None:
    # Given the largest allowed batches
    items = vectors(PUT_VECTORS_MAX_VECTORS)

    # When putting 500, getting 100 and deleting 500
    client.put_vectors(vectorBucketName=BUCKET, indexName=INDEX, vectors=items)
    got = client.get_vectors(
        vectorBucketName=BUCKET, indexName=INDEX, keys=[v["key"] for v in items[:GET_VECTORS_MAX_KEYS]]
    )
    client.delete_vectors(
        vectorBucketName=BUCKET, indexName=INDEX, keys=[v["key"] for v in items[:DELETE_VECTORS_MAX_KEYS]]
    )

    # Then all succeed
    assert len(got["vectors"]) == GET_VECTORS_MAX_KEYS
    assert client.list_vectors(vectorBucketName=BUCKET, indexName=INDEX)["vectors"] == []


@pytest.mark.parametrize(
    ("operation", "make_kwargs"),
    [
        pytest.param("put_vectors", lambda n: {"vectors": vectors(n)}, id="PutVectors"),
        pytest.param("get_vectors", lambda n: {"keys": [f"k{i}" for i in range(n)]}, id="GetVectors"),
        pytest.param("delete_vectors", lambda n: {"keys": [f"k{i}" for i in range(n)]}, id="DeleteVectors"),
    ],
)
@pytest.mark.parametrize("size_kind", ["over-max", "empty"])
def test_batches_outside_their_limits_raise_validation_exception(
    endpoint: str, client: Any, limits: S3VectorsLimits, operation: str, make_kwargs: Any, size_kind: str
) -> None:
    # Given a batch one over the operation's maximum, or empty (sent past client-side validation)
    maximum = {"put_vectors": 500, "get_vectors": 100, "delete_vectors": 500}[operation]
    size = maximum + 1 if size_kind == "over-max" else 0
    raw = make_client(endpoint, NO_CLIENT_VALIDATION)

    # When sending it
    with pytest.raises(ClientError) as exc:
        getattr(raw, operation)(vectorBucketName=BUCKET, indexName=INDEX, **make_kwargs(size))

    # Then the service answers ValidationException with HTTP 400 and nothing was written
    assert_client_error(exc, "ValidationException", 400)
    assert client.list_vectors(vectorBucketName=BUCKET, indexName=INDEX)["vectors"] == []


# -- throttling and faults ---------------------------------------------------------------------------------------


def test_injected_throttling_surfaces_as_too_many_requests_with_http_429(client: Any, limits: S3VectorsLimits) -> None:
    # Given the next two DeleteVectors calls are throttled
    limits.fail_next("DeleteVectors", "TooManyRequestsException", times=2)

    # When calling DeleteVectors three times without client retries
    outcomes: list[str] = []
    for _ in range(3):
        try:
            client.delete_vectors(vectorBucketName=BUCKET, indexName=INDEX, keys=["a"])
            outcomes.append("ok")
        except ClientError as err:
            assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 429
            outcomes.append(err.response["Error"]["Code"])

    # Then the first two are throttled with 429 and the third succeeds
    assert outcomes == ["TooManyRequestsException", "TooManyRequestsException", "ok"]
    assert limits.requests["DeleteVectors"] == 3
    assert limits.injected["DeleteVectors"] == 2


def test_injected_service_unavailable_surfaces_with_http_503(client: Any, limits: S3VectorsLimits) -> None:
    # Given the next ListVectors call fails with ServiceUnavailableException
    limits.fail_next("ListVectors", "ServiceUnavailableException")

    # When listing
    with pytest.raises(ClientError) as exc:
        client.list_vectors(vectorBucketName=BUCKET, indexName=INDEX)

    # Then the client sees 503 ServiceUnavailableException, and only that one call fails
    assert_client_error(exc, "ServiceUnavailableException", 503)
    assert client.list_vectors(vectorBucketName=BUCKET, indexName=INDEX)["vectors"] == []


def test_fail_every_kth_call_throttles_only_those_calls(client: Any, limits: S3VectorsLimits) -> None:
    # Given every third GetVectors call is throttled
    limits.fail_every("GetVectors", 3)

    # When calling GetVectors six times
    outcomes: list[str] = []
    for _ in range(6):
        try:
            client.get_vectors(vectorBucketName=BUCKET, indexName=INDEX, keys=["a"])
            outcomes.append("ok")
        except ClientError as err:
            outcomes.append(err.response["Error"]["Code"])

    # Then calls 3 and 6 were throttled
    assert outcomes == ["ok", "ok", "TooManyRequestsException"] * 2


def test_botocore_retries_absorb_injected_throttling(endpoint: str, client: Any, limits: S3VectorsLimits) -> None:
    # Given a retrying client and two throttled PutVectors calls
    retrying = make_client(endpoint, Config(retries={"mode": "standard", "total_max_attempts": 5}))
    limits.fail_next("PutVectors", times=2)

    # When putting a vector once
    retrying.put_vectors(vectorBucketName=BUCKET, indexName=INDEX, vectors=vectors(1))

    # Then it succeeded after three requests
    assert limits.requests["PutVectors"] == 3
    assert [v["key"] for v in client.list_vectors(vectorBucketName=BUCKET, indexName=INDEX)["vectors"]] == ["mem-0000"]


def test_wildcard_fault_applies_to_any_operation_and_clear_faults_removes_it(
    client: Any, limits: S3VectorsLimits
) -> None:
    # Given every operation is throttled on every call
    limits.fail_every("*", 1)

    # When calling GetIndex, then clearing the faults and calling again
    with pytest.raises(ClientError) as exc:
        client.get_index(vectorBucketName=BUCKET, indexName=INDEX)
    limits.clear_faults()
    index = client.get_index(vectorBucketName=BUCKET, indexName=INDEX)

    # Then the first call was throttled and the second succeeded
    assert_client_error(exc, "TooManyRequestsException", 429)
    assert index["index"]["indexName"] == INDEX


# -- request counting --------------------------------------------------------------------------------------------


def test_requests_are_counted_per_operation_and_can_be_reset(client: Any, limits: S3VectorsLimits) -> None:
    # Given a fresh count
    limits.reset_counts()

    # When making 2 PutVectors, 3 ListVectors and 1 failing GetVectors calls
    put_all(client, vectors(3))
    put_all(client, vectors(3, prefix="other"))
    for _ in range(3):
        client.list_vectors(vectorBucketName=BUCKET, indexName=INDEX)
    with pytest.raises(ClientError):
        make_client(client.meta.endpoint_url, NO_CLIENT_VALIDATION).get_vectors(
            vectorBucketName=BUCKET, indexName=INDEX, keys=[]
        )

    # Then each operation's count is exact (failed requests included) and reset zeroes them
    assert dict(limits.requests) == {"PutVectors": 2, "ListVectors": 3, "GetVectors": 1}
    limits.reset_counts()
    assert limits.requests["ListVectors"] == 0


# -- scope -------------------------------------------------------------------------------------------------------


def test_leaving_the_context_restores_mocks_original_behaviour(client: Any) -> None:
    # Given 50 vectors and a stand-in that was active and then left, with a fault still planned
    put_all(client, vectors(50))
    with S3VectorsLimits() as limits:
        limits.fail_every("*", 1)
    assert not limits.active

    # When listing with maxResults=7 and deleting more keys than AWS allows
    page = client.list_vectors(vectorBucketName=BUCKET, indexName=INDEX, maxResults=7)
    client.delete_vectors(vectorBucketName=BUCKET, indexName=INDEX, keys=[f"k{i}" for i in range(600)])

    # Then moto's own behaviour is back: one page with everything, no limit, no faults, nothing counted
    assert len(page["vectors"]) == 50
    assert "nextToken" not in page
    assert limits.requests == {}


def test_the_same_stand_in_cannot_be_entered_twice(limits: S3VectorsLimits) -> None:
    # Given an active stand-in
    # When entering it again
    # Then it refuses
    with pytest.raises(RuntimeError):
        limits.start()


def test_limits_also_apply_under_mock_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given moto's in-process mock (no server) with an index of 20 vectors
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws(), S3VectorsLimits() as limits:
        s3v = boto3.client("s3vectors", region_name="us-east-1", config=NO_RETRIES)
        s3v.create_vector_bucket(vectorBucketName=BUCKET)
        s3v.create_index(
            vectorBucketName=BUCKET, indexName=INDEX, dataType="float32", dimension=DIMENSION, distanceMetric="cosine"
        )
        put_all(s3v, vectors(20))
        limits.fail_next("ListVectors", "ServiceUnavailableException")

        # When listing with maxResults=6 (the first call hits the injected fault)
        with pytest.raises(ClientError) as exc:
            s3v.list_vectors(vectorBucketName=BUCKET, indexName=INDEX)
        pages = list_pages(s3v, maxResults=6)

    # Then the fault surfaced with 503 and the listing paged
    assert_client_error(exc, "ServiceUnavailableException", 503)
    assert [len(page) for page in pages] == [6, 6, 6, 2]
    assert limits.requests["ListVectors"] == 5


def test_requests_reach_moto_one_at_a_time_so_concurrent_reads_and_deletes_never_fail(
    client: Any, limits: S3VectorsLimits, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an index, and moto's backend slowed down and watched for requests that overlap (moto's backend is not
    # thread-safe: a GetVectors iterating the index while another thread deletes from it failed with a 500)
    from moto.s3vectors.models import S3VectorsBackend

    put_all(client, vectors(60))
    inside, overlaps, guard = [0], [0], threading.Lock()

    def watched(original: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            with guard:
                inside[0] += 1
                overlaps[0] += inside[0] > 1
            try:
                time.sleep(0.02)
                return original(*args, **kwargs)
            finally:
                with guard:
                    inside[0] -= 1

        return call

    for name in ("get_vectors", "delete_vectors"):
        monkeypatch.setattr(S3VectorsBackend, name, watched(getattr(S3VectorsBackend, name)))
    keys = [f"mem-{i:04d}" for i in range(60)]

    def read_then_delete(part: int) -> None:
        mine = keys[part * 10 : part * 10 + 10]
        client.get_vectors(vectorBucketName=BUCKET, indexName=INDEX, keys=keys[:50])
        client.delete_vectors(vectorBucketName=BUCKET, indexName=INDEX, keys=mine)

    # When six threads read and delete at once
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(read_then_delete, range(6)))
    # Then every request succeeded, none overlapped another in the backend, and the index is empty
    assert overlaps[0] == 0
    assert client.list_vectors(vectorBucketName=BUCKET, indexName=INDEX)["vectors"] == []
