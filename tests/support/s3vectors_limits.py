"""Make moto's Amazon S3 Vectors stand-in enforce AWS's documented limits.

moto (5.2.5) implements the ``s3vectors`` API but ignores its limits: ``ListVectors`` returns every vector in one
page and ignores ``maxResults``, ``nextToken`` and ``segmentCount``/``segmentIndex``; batch operations accept any
number of keys; nothing is ever throttled.  Code that erases memories has to cope with all of that in production,
so tests run it against a moto that behaves like AWS:

* ``ListVectors``: ``maxResults`` 1-1000 (default 500), a page also stops at ~1 MB of response, an opaque
  ``nextToken`` that encodes the position (the last key returned, in a stable key order) so deleting keys that
  were already listed never makes the continuation skip others, and ``segmentCount`` 1-16 with ``segmentIndex``
  0..segmentCount-1 (every vector belongs to exactly one segment, by a stable hash of its key).
* ``PutVectors`` 1-500 vectors, ``DeleteVectors`` 1-500 keys, ``GetVectors`` 1-100 keys.
* Injected ``TooManyRequestsException`` (HTTP 429) / ``ServiceUnavailableException`` (HTTP 503) or any other error
  code of the S3 Vectors model, for the next N calls or every k-th call of an operation.
* A per-operation request counter.
* Requests served one at a time: moto's backend is not thread-safe, S3 Vectors is.

Violations are raised as moto ``ServiceException`` s, so they reach the boto3 client as a ``ClientError`` with the
right ``Error.Code`` and HTTP status.  The patch is applied to moto's response class, so it works both under
``moto.mock_aws()`` and with a ``moto.server.ThreadedMotoServer`` running in the same process::

    with S3VectorsLimits() as limits:
        limits.fail_next("DeleteVectors", "TooManyRequestsException", times=2)
        ...
        assert limits.requests["DeleteVectors"] == 3
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from collections import Counter, deque
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from unittest import mock

from moto.core.exceptions import ServiceException
from moto.core.responses import TYPE_RESPONSE, ActionResult
from moto.s3vectors.exceptions import ValidationError
from moto.s3vectors.models import Vector
from moto.s3vectors.responses import S3VectorsResponse

__all__ = [
    "DEFAULT_LIST_MAX_RESULTS",
    "DELETE_VECTORS_MAX_KEYS",
    "GET_VECTORS_MAX_KEYS",
    "LIST_MAX_RESULTS",
    "LIST_MAX_SEGMENTS",
    "LIST_PAGE_MAX_BYTES",
    "PUT_VECTORS_MAX_VECTORS",
    "InjectedError",
    "S3VectorsLimits",
    "segment_of",
]

LIST_MAX_RESULTS = 1000
DEFAULT_LIST_MAX_RESULTS = 500
LIST_PAGE_MAX_BYTES = 1024 * 1024
LIST_MAX_SEGMENTS = 16
PUT_VECTORS_MAX_VECTORS = 500
DELETE_VECTORS_MAX_KEYS = 500
GET_VECTORS_MAX_KEYS = 100

_TOKEN_VERSION = 1


class InjectedError(ServiceException):
    """An error injected by :class:`S3VectorsLimits`; serialised by moto with the status from the service model."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def segment_of(key: str, segment_count: int) -> int:
    """The ListVectors segment (0..segment_count-1) a vector key belongs to: a stable hash of the key."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % segment_count


def _validation(message: str) -> ValidationError:
    return ValidationError(f"1 validation error detected. {message}")


def _check_range(name: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise _validation(
            f"Value '{value}' at '{name}' failed to satisfy constraint: Member must be between {low} and {high}, "
            "inclusive"
        )


def _check_length(name: str, items: list[Any] | None, low: int, high: int) -> None:
    count = len(items or [])
    if not low <= count <= high:
        raise _validation(
            f"Value at '{name}' failed to satisfy constraint: Member must have length between {low} and {high}, "
            f"inclusive (got {count})"
        )


def _encode_token(last_key: str, segment_count: int | None, segment_index: int | None) -> str:
    payload = {"v": _TOKEN_VERSION, "k": last_key, "sc": segment_count, "si": segment_index}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _decode_token(token: str, segment_count: int | None, segment_index: int | None) -> str:
    """The last key returned by the previous page; ValidationException if the token is not ours or mismatched."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        if not isinstance(payload, dict) or payload.get("v") != _TOKEN_VERSION or not isinstance(payload["k"], str):
            raise ValueError("unknown token shape")
    except (ValueError, KeyError, UnicodeError, binascii.Error) as exc:
        raise ValidationError("The provided nextToken is not valid") from exc
    if (payload.get("sc"), payload.get("si")) != (segment_count, segment_index):
        raise ValidationError("The nextToken was issued for a different segmentCount/segmentIndex")
    return str(payload["k"])


def _vector_entry(vector: Vector, return_data: bool, return_metadata: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": vector.key}
    if return_data:
        entry["data"] = vector.data
    if return_metadata:
        entry["metadata"] = vector.metadata
    return entry


def _entry_size(entry: dict[str, Any]) -> int:
    return len(json.dumps(entry, separators=(",", ":"), default=str).encode("utf-8")) + 1


@dataclass
class _FaultPlan:
    """Injected failures for one operation (or ``"*"``, every operation)."""

    queued: deque[tuple[str, str]] = field(default_factory=deque)
    every: int = 0
    every_error: tuple[str, str] = ("", "")
    calls: int = 0

    def take(self) -> tuple[str, str] | None:
        self.calls += 1
        if self.queued:
            return self.queued.popleft()
        if self.every and self.calls % self.every == 0:
            return self.every_error
        return None


_DEFAULT_MESSAGES = {
    "TooManyRequestsException": "Rate exceeded",
    "ServiceUnavailableException": "Service is unavailable. Please retry",
}


class S3VectorsLimits:
    """Context manager that patches moto's S3 Vectors responses to enforce AWS limits, count and throttle requests.

    ``requests`` maps operation name (e.g. ``"ListVectors"``) to the number of requests that reached the service,
    including those that failed (validation or injected errors); ``injected`` counts the injected failures.
    ``max_page_bytes`` lets a test shrink the ~1 MB ListVectors page-size cut-off.
    """

    def __init__(self, *, max_page_bytes: int = LIST_PAGE_MAX_BYTES) -> None:
        if max_page_bytes < 1:
            raise ValueError("max_page_bytes must be positive")
        self.max_page_bytes = max_page_bytes
        self.requests: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self._faults: dict[str, _FaultPlan] = {}
        self._lock = threading.Lock()
        self._backend = threading.RLock()  # one request at a time in moto's S3 Vectors backend (see call_action)
        self._stack: ExitStack | None = None

    # -- context management -------------------------------------------------------------------------------------

    def __enter__(self) -> S3VectorsLimits:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def active(self) -> bool:
        return self._stack is not None

    def start(self) -> None:
        """Apply the patches (what ``__enter__`` does)."""
        if self._stack is not None:
            raise RuntimeError("S3VectorsLimits is already active")
        stack = ExitStack()
        patches: dict[str, Callable[..., Any]] = {
            "call_action": self._make_call_action(S3VectorsResponse.call_action),
            "list_vectors": self._make_list_vectors(),
            "put_vectors": self._make_batch_check(S3VectorsResponse.put_vectors, "vectors", PUT_VECTORS_MAX_VECTORS),
            "get_vectors": self._make_batch_check(S3VectorsResponse.get_vectors, "keys", GET_VECTORS_MAX_KEYS),
            "delete_vectors": self._make_batch_check(S3VectorsResponse.delete_vectors, "keys", DELETE_VECTORS_MAX_KEYS),
        }
        for name, replacement in patches.items():
            stack.enter_context(mock.patch.object(S3VectorsResponse, name, replacement))
        self._stack = stack

    def stop(self) -> None:
        """Undo the patches (what ``__exit__`` does); counters stay readable."""
        if self._stack is not None:
            stack, self._stack = self._stack, None
            stack.close()

    # -- knobs ----------------------------------------------------------------------------------------------------

    def fail_next(
        self,
        operation: str,
        error: str = "TooManyRequestsException",
        *,
        times: int = 1,
        message: str | None = None,
    ) -> None:
        """Fail the next ``times`` calls of ``operation`` (``"*"``: any operation) with AWS error code ``error``.

        The HTTP status comes from the S3 Vectors service model (429 for TooManyRequestsException, 503 for
        ServiceUnavailableException, ...).  Repeated calls queue up in order.
        """
        if times < 0:
            raise ValueError("times must be >= 0")
        fault = (error, message or _DEFAULT_MESSAGES.get(error, f"Injected {error}"))
        with self._lock:
            self._faults.setdefault(operation, _FaultPlan()).queued.extend([fault] * times)

    def fail_every(
        self,
        operation: str,
        every: int,
        error: str = "TooManyRequestsException",
        *,
        message: str | None = None,
    ) -> None:
        """Fail every ``every``-th call of ``operation`` (``"*"``: any operation), counted from now; 0 disables."""
        if every < 0:
            raise ValueError("every must be >= 0")
        with self._lock:
            plan = self._faults.setdefault(operation, _FaultPlan())
            plan.every = every
            plan.every_error = (error, message or _DEFAULT_MESSAGES.get(error, f"Injected {error}"))
            plan.calls = 0

    def clear_faults(self) -> None:
        """Forget every planned failure."""
        with self._lock:
            self._faults.clear()

    def reset_counts(self) -> None:
        """Zero the ``requests`` and ``injected`` counters."""
        with self._lock:
            self.requests.clear()
            self.injected.clear()

    # -- internals ------------------------------------------------------------------------------------------------

    def _admit(self, operation: str) -> InjectedError | None:
        """Count the request and return the injected error for it, if any."""
        with self._lock:
            self.requests[operation] += 1
            fault = None
            for key in (operation, "*"):
                plan = self._faults.get(key)
                if plan is not None and fault is None:
                    fault = plan.take()
            if fault is None:
                return None
            self.injected[operation] += 1
        return InjectedError(*fault)

    def _make_call_action(self, original: Callable[[S3VectorsResponse], TYPE_RESPONSE]) -> Callable[..., Any]:
        limits = self

        def call_action(response: S3VectorsResponse) -> TYPE_RESPONSE:
            error = limits._admit(response._get_action())
            if error is None:
                # moto's backend is not thread-safe: a GetVectors iterating an index while a DeleteVectors of another
                # thread removes from it failed with "dictionary changed size during iteration", a 500 S3 Vectors
                # never sends for concurrent reads and deletes. Requests are served one at a time, as consistent.
                with limits._backend:
                    return original(response)
            status, headers, body = response.serialized(ActionResult(error))
            headers["status"] = str(status)
            return status, headers, body

        return call_action

    @staticmethod
    def _make_batch_check(original: Callable[[S3VectorsResponse], Any], param: str, maximum: int) -> Callable[..., Any]:
        def checked(response: S3VectorsResponse) -> Any:
            _check_length(param, response._get_param(param), 1, maximum)
            return original(response)

        checked.__name__ = original.__name__
        return checked

    def _make_list_vectors(self) -> Callable[..., Any]:
        limits = self

        def list_vectors(response: S3VectorsResponse) -> ActionResult:
            return limits._list_vectors(response)

        return list_vectors

    def _list_vectors(self, response: S3VectorsResponse) -> ActionResult:
        vector_bucket_name = response._get_param("vectorBucketName")
        index_arn = response._get_param("indexArn")
        index_name = response._get_param("indexName")
        response._validate_index_params(index_arn, index_name, vector_bucket_name)

        max_results = response._get_param("maxResults")
        segment_count = response._get_param("segmentCount")
        segment_index = response._get_param("segmentIndex")
        next_token = response._get_param("nextToken")
        _check_range("maxResults", max_results, 1, LIST_MAX_RESULTS)
        _validate_segments(segment_count, segment_index)
        after = _decode_token(next_token, segment_count, segment_index) if next_token else None

        index = response.s3vectors_backend.get_index(vector_bucket_name, index_name=index_name, index_arn=index_arn)
        keys = _keys_after(index.vectors, after, segment_count, segment_index)
        return_data = response._get_bool_param("returnData", False)
        return_metadata = response._get_bool_param("returnMetadata", False)
        page: list[dict[str, Any]] = []
        size = 0
        for key in keys[: max_results or DEFAULT_LIST_MAX_RESULTS]:
            entry = _vector_entry(index.vectors[key], return_data, return_metadata)
            size += _entry_size(entry)
            if page and size > self.max_page_bytes:
                break
            page.append(entry)
        result: dict[str, Any] = {"vectors": page}
        if len(page) < len(keys):
            result["nextToken"] = _encode_token(page[-1]["key"], segment_count, segment_index)
        return ActionResult(result)


def _keys_after(
    vectors: dict[str, Vector], after: str | None, segment_count: int | None, segment_index: int | None
) -> list[str]:
    """The keys of the requested segment that sort after ``after``, in the stable (sorted) listing order."""
    return sorted(
        key
        for key in list(vectors)  # snapshot: the threaded server may write concurrently
        if (after is None or key > after) and (segment_count is None or segment_of(key, segment_count) == segment_index)
    )


def _validate_segments(segment_count: int | None, segment_index: int | None) -> None:
    if (segment_count is None) != (segment_index is None):
        raise ValidationError("segmentCount and segmentIndex must be specified together")
    if segment_count is None or segment_index is None:
        return
    _check_range("segmentCount", segment_count, 1, LIST_MAX_SEGMENTS)
    _check_range("segmentIndex", segment_index, 0, LIST_MAX_SEGMENTS - 1)
    if segment_index >= segment_count:
        raise ValidationError(f"segmentIndex ({segment_index}) must be less than segmentCount ({segment_count})")
