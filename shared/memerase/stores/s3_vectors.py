"""Amazon S3 Vectors adapter (boto3 `s3vectors`), for mem0's layout: key = memory id, metadata = payload."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from memerase.errors import RetryableStoreError, StoreError, Throttled
from memerase.stores import s3_vectors_retry
from memerase.stores.base import (
    Page,
    Partition,
    Record,
    Selector,
    decided,
    links_any,
    paginate,
    require_selection,
    scan,
)

LIST_PAGE_SIZE = 1000  # ListVectors maxResults maximum
DELETE_BATCH_SIZE = 500  # DeleteVectors keys maximum
GET_BATCH_SIZE = 100  # GetVectors keys maximum
KEY_MAX_LENGTH = 1024  # a vector key's maximum length (characters)
MAX_SEGMENTS = 16  # ListVectors segmentCount maximum
THROTTLING_CODES = s3_vectors_retry.THROTTLING_CODES
RETRYABLE_CODES = s3_vectors_retry.TRANSIENT_CODES
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8})
# DeleteVectors is retried by the adapter (s3_vectors_retry: short waits sized to the write ceiling on a 429), through
# a client without SDK retries, so that a throttled delete is not also retried by botocore's second-scale backoff.
WRITER_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1})
LINK_INDEX_MAX_AGE_S = 300.0  # how long a listing of an entity collection's links answers `list_linking`


def make_client(region_name: str | None) -> Any:
    """The boto3 client; AWS_ENDPOINT_URL (boto3's own setting) points it at a local stand-in."""
    return boto3.client("s3vectors", region_name=region_name, config=CLIENT_CONFIG)


class S3VectorsStore:
    """A mem0 collection (memories or entities) in one S3 Vectors index."""

    batch_size = DELETE_BATCH_SIZE
    delete_retry = s3_vectors_retry.DeleteRetry()

    def __init__(
        self,
        client: Any,
        bucket: str,
        index: str,
        segments: int = 4,
        page_size: int = LIST_PAGE_SIZE,
        writer: Any = None,
    ):
        """`writer`: the client for DeleteVectors, without SDK retries; by default one like `make_client`'s (the
        region and settings of `client`, WRITER_CONFIG's retries), made on the first delete. A `client` built with
        an explicit `endpoint_url` needs a `writer` built with it too."""
        self._client = client
        self._writer = writer
        self._writer_lock = threading.Lock()
        self.bucket = bucket
        self.index = index
        self._segments = max(1, min(segments, MAX_SEGMENTS))
        self._page_size = page_size
        self._links: _LinkIndex | None = None  # built by the first `list_linking`, kept current by our own writes

    @property
    def label(self) -> str:
        return f"s3_vectors:{self.bucket}/{self.index}"

    def exists(self) -> bool:
        try:
            self._call("get_index")
        except StoreError as exc:
            if isinstance(exc.__cause__, ClientError) and _code(exc.__cause__) == "NotFoundException":
                return False
            raise
        return True

    def not_applicable(self, selection: Selector) -> str | None:
        return None

    def partitions(self) -> int:
        return self._segments

    def list_matching(self, selection: Selector, partition: Partition, cursor: str | None) -> Page:
        """ListVectors returns every record's metadata: the selection is decided on each during the scan."""
        chosen = require_selection(selection)
        page = self._list(lambda _payload: True, partition, cursor)
        return decided(chosen, page.records, page.scanned, page.cursor)

    def delete_batch(self, native_ids: Sequence[str]) -> int:
        if not native_ids:
            return 0
        if len(native_ids) > DELETE_BATCH_SIZE:
            raise ValueError(f"at most {DELETE_BATCH_SIZE} keys per DeleteVectors request")
        self._delete_vectors(list(native_ids))
        if self._links is not None:
            self._links.drop(native_ids)
        return len(native_ids)

    def count_remaining(self, selection: Selector) -> int:
        chosen = require_selection(selection)  # ListVectors is strongly consistent: a fresh listing sees every deletion
        return sum(len(page.records) for page in scan(self, chosen))

    def lookup(self, memory_ids: Sequence[str]) -> list[Record]:
        keys = list(dict.fromkeys(memory_ids))
        found: list[Record] = []
        for i in range(0, len(keys), GET_BATCH_SIZE):
            chunk = keys[i : i + GET_BATCH_SIZE]
            vectors = self._call("get_vectors", keys=chunk, returnMetadata=True, returnData=False)["vectors"]
            found += [Record(v["key"], v["key"], _metadata(v)) for v in vectors]
        return found

    def stored(self, memory_ids: Collection[str]) -> list[Record]:
        """GetVectors is strongly consistent. An id no key can be (an entity record may link anything) names no
        vector, and is not sent."""
        return self.lookup([m for m in memory_ids if 0 < len(m) <= KEY_MAX_LENGTH])

    def read(self, records: Sequence[Record]) -> list[Record]:
        return self.lookup([r.native_id for r in records])  # GetVectors, by key

    def list_linking(self, memory_ids: Collection[str]) -> list[Record]:
        """ListVectors cannot filter, so the collection's links are listed once and answered from memory, kept
        current by this store's own writes, for LINK_INDEX_MAX_AGE_S (then listed afresh): a warm API container
        deleting memories by id lists the collection once, not once per request. The candidates are read again
        (GetVectors) so a rewrite always starts from the record as it is now; a record that started linking since
        the listing is missed until the next one (it keeps an id of an erased memory, never its text)."""
        if self._links is None or self._links.age() > LINK_INDEX_MAX_AGE_S:
            links = _LinkIndex()
            for page in self._pages(lambda payload: bool(payload.get("linked_memory_ids"))):
                for record in page.records:
                    links.put(record)
            self._links = links
        candidates = self._links.linking(memory_ids)
        current = self.lookup([r.native_id for r in candidates]) if candidates else []
        for record in current:
            self._links.put(record)
        return [r for r in current if links_any(r.payload, memory_ids)]

    def _pages(self, keep: Callable[[Mapping[str, Any]], bool]) -> Iterator[Page]:
        return paginate(lambda cursor: self._list(keep, Partition(), cursor))

    def scope_page(self, cursor: str | None) -> Page:
        return self._list(lambda _payload: True, Partition(), cursor)

    def replace_payload(self, record: Record, payload: Mapping[str, Any]) -> None:
        vectors = self._call("get_vectors", keys=[record.native_id], returnData=True, returnMetadata=False)["vectors"]
        if not vectors:
            return
        vector = {"key": record.native_id, "data": vectors[0]["data"], "metadata": dict(payload)}
        self._call("put_vectors", vectors=[vector])
        if self._links is not None:
            self._links.put(Record(record.native_id, record.memory_id, dict(payload)))

    def reset(self) -> int:
        removed = sum(page.scanned for page in self._pages(lambda _payload: False))
        index = self._call("get_index")["index"]
        spec = {k: index[k] for k in ("dataType", "dimension", "distanceMetric") if k in index}
        if index.get("metadataConfiguration"):
            spec["metadataConfiguration"] = index["metadataConfiguration"]
        self._call("delete_index")
        self._call("create_index", **spec)
        self._links = None
        return removed

    def _list(self, keep: Any, partition: Partition, cursor: str | None) -> Page:
        params: dict[str, Any] = {"maxResults": self._page_size, "returnMetadata": True, "returnData": False}
        if partition.count > 1:
            params.update(segmentCount=partition.count, segmentIndex=partition.index)
        if cursor:
            params["nextToken"] = cursor
        response = self._call("list_vectors", **params)
        vectors = response.get("vectors", [])
        records = [Record(v["key"], v["key"], meta) for v in vectors if keep(meta := _metadata(v))]
        return Page(records=records, scanned=len(vectors), cursor=response.get("nextToken") or None)

    def _delete_vectors(self, keys: list[str]) -> None:
        """One DeleteVectors of exactly `keys`, retried by `delete_retry`; what it gives up on is translated as
        `_call` translates errors (Throttled after throttling, RetryableStoreError after transient errors)."""
        writer = self._writer or self._make_writer()

        def send() -> Any:
            return writer.delete_vectors(vectorBucketName=self.bucket, indexName=self.index, keys=keys)

        try:
            s3_vectors_retry.delete_with_retries(send, self.delete_retry)
        except s3_vectors_retry.DeleteFailed as failed:
            reason = _code(failed.cause) if isinstance(failed.cause, ClientError) else type(failed.cause).__name__
            error = Throttled if failed.throttled else RetryableStoreError
            message = f"S3 Vectors delete_vectors on {self.label} failed: {reason} after {failed.attempts} attempts"
            raise error(message) from failed.cause
        except ClientError as exc:
            raise StoreError(f"S3 Vectors delete_vectors on {self.label} failed: {_code(exc)}") from exc
        except BotoCoreError as exc:
            message = f"S3 Vectors delete_vectors on {self.label} failed: {type(exc).__name__}"
            raise RetryableStoreError(message) from exc

    def _make_writer(self) -> Any:
        with self._writer_lock:
            if self._writer is None:
                meta = self._client.meta  # endpoint resolved as make_client's is (AWS_ENDPOINT_URL honoured)
                config = meta.config.merge(WRITER_CONFIG)
                self._writer = boto3.client("s3vectors", region_name=meta.region_name, config=config)
            return self._writer

    def _call(self, operation: str, **params: Any) -> Any:
        try:
            return getattr(self._client, operation)(vectorBucketName=self.bucket, indexName=self.index, **params)
        except ClientError as exc:
            code = _code(exc)
            error = (
                Throttled
                if code in THROTTLING_CODES
                else RetryableStoreError
                if code in RETRYABLE_CODES
                else StoreError
            )
            raise error(f"S3 Vectors {operation} on {self.label} failed: {code}") from exc
        except BotoCoreError as exc:
            raise RetryableStoreError(f"S3 Vectors {operation} on {self.label} failed: {type(exc).__name__}") from exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _metadata(vector: Mapping[str, Any]) -> dict[str, Any]:
    """mem0's payload. boto3 may hand metadata back as a JSON string."""
    meta = vector.get("metadata") or {}
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError:
            return {}
    return meta if isinstance(meta, dict) else {}


class _LinkIndex:
    """Entity records by the memory ids they link, as listed at one moment and updated by our own writes since."""

    def __init__(self) -> None:
        self._built_at = time.monotonic()
        self._records: dict[str, Record] = {}
        self._by_memory: dict[str, set[str]] = {}

    def age(self) -> float:
        return time.monotonic() - self._built_at

    def put(self, record: Record) -> None:
        self.drop([record.native_id])
        linked = record.payload.get("linked_memory_ids")
        if isinstance(linked, list) and linked:
            self._records[record.native_id] = record
            for memory_id in linked:
                self._by_memory.setdefault(memory_id, set()).add(record.native_id)

    def drop(self, native_ids: Sequence[str]) -> None:
        for native_id in native_ids:
            old = self._records.pop(native_id, None)
            for memory_id in (old.payload.get("linked_memory_ids") or []) if old else []:
                self._by_memory.get(memory_id, set()).discard(native_id)

    def linking(self, memory_ids: Collection[str]) -> list[Record]:
        found = {n for m in memory_ids for n in self._by_memory.get(m, ())}
        return [self._records[n] for n in sorted(found)]
