"""Faults injected at the wire, under every client the erasure path uses, so that the real retry code runs.

- AWS clients (S3 Vectors, DynamoDB, Step Functions, Neptune Analytics): a `before-send` handler, registered first on
  boto3's default session, answers in place of the service: an error response with the service's own error code and
  HTTP status (which botocore parses into a `ClientError` and its retry handler judges), a connection reset
  (`ConnectionClosedError`, what urllib3 reports), or a slow call (a sleep, then the real request). Under moto's
  in-process mock (`mock_aws`), moto's own `before-send` stubber would still execute a request that the fault answered,
  so the stubber is told to skip requests carrying the fault's marker header.
- OpenSearch (opensearch-py over `requests`): `requests`' `HTTPAdapter.send`, for requests to the OpenSearch URL
  only: a 429 or 5xx response with OpenSearch's error body, a connection reset, or a slow call.
- A worker killed mid-page: `kill_at(...)` raises `WorkerKilled` (what Lambda does at its timeout: the process is
  gone) at the chosen delete request, before it is sent (listed, not deleted) or after it was applied (deleted, not
  checkpointed). `WorkerKilled` is a BaseException: no client library can mistake it for a transport error.

Faults fire only while `armed` (seeding and read-backs run clean), at `rate` of the calls they may apply to, drawn
from a seeded random generator. `injected` counts them by (client, kind).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
import requests
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

from memerase.stores import s3_vectors_retry

MARKER = "x-memerase-injected-fault"


class WorkerKilled(BaseException):  # noqa: N818 - named for what happened, like Lambda's own Sandbox.Timedout
    """Lambda killed the worker (its timeout): nothing after this point of the invocation ran."""

    error_type = "Sandbox.Timedout"


@dataclass(frozen=True)
class Fault:
    kind: str  # "throttle", "reset", "5xx", "slow"
    code: str = ""
    status: int = 0


SLOW = Fault("slow")
RESET = Fault("reset")
# The errors AWS documents as retriable for each client of the erasure path, with their HTTP status.
AWS_FAULTS: dict[str, tuple[Fault, ...]] = {
    "s3vectors": (
        Fault("throttle", "TooManyRequestsException", 429),
        Fault("5xx", "ServiceUnavailableException", 503),
        Fault("5xx", "InternalServerException", 500),
    ),
    "dynamodb": (
        Fault("throttle", "ProvisionedThroughputExceededException", 400),
        Fault("throttle", "ThrottlingException", 400),
        Fault("5xx", "InternalServerError", 500),
    ),
    "neptune-graph": (
        Fault("throttle", "ThrottlingException", 429),
        Fault("throttle", "ConflictException", 409),
        Fault("5xx", "InternalServerException", 500),
    ),
    "sfn": (Fault("throttle", "ThrottlingException", 400), Fault("5xx", "ServiceUnavailable", 503)),
}
# Operations of the erasure path only (a test's own polling of its execution is not part of it).
AWS_OPERATIONS: dict[str, frozenset[str] | None] = {
    "s3vectors": None,
    "dynamodb": None,
    "neptune-graph": None,
    "sfn": frozenset({"StartExecution", "StopExecution"}),
}
OPENSEARCH_FAULTS = (Fault("throttle", "es_rejected_execution_exception", 429), Fault("5xx", "unavailable", 503))
DELETES = {  # the delete request of each store, where a worker is killed
    "s3vectors": lambda operation, _body: operation == "DeleteVectors",
    "neptune-graph": lambda _operation, body: b"DELETE" in body.upper(),
    "opensearch": lambda path, _body: path.startswith("/_bulk") or "/_bulk" in path,
}


@dataclass
class Kill:
    """Kill the worker at the `nth`, 2·`nth`, … delete request of `client`, before sending it or after."""

    client: str
    every: int
    after_send: bool
    seen: int = 0


@dataclass
class WireFaults:
    rate: float = 0.2
    seed: int = 11
    slow_s: float = 0.02
    opensearch_url: str = ""
    armed: bool = False
    only: tuple[Fault, ...] = ()  # inject only these faults (else any of the client's, resets and slow calls)
    budget: int | None = None  # at most this many faults in all
    surely: tuple[str, ...] = ()  # clients whose first call always faults (then at `rate`, like the others)
    injected: Counter[tuple[str, str]] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    kills: list[Kill] = field(default_factory=list)
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    # ---- what a test reads -----------------------------------------------------------------------------------------

    def total(self) -> int:
        return sum(self.injected.values())

    def by_kind(self) -> Counter[str]:
        kinds: Counter[str] = Counter()
        for (_client, kind), n in self.injected.items():
            kinds[kind] += n
        return kinds

    def summary(self) -> str:
        parts = ", ".join(f"{client} {kind} {n}" for (client, kind), n in sorted(self.injected.items()))
        return f"{self.total()} faults injected in {sum(self.calls.values())} calls ({parts})"

    def kill_at(self, client: str, every: int, after_send: bool = False) -> None:
        self.kills.append(Kill(client, every, after_send))

    # ---- decisions -------------------------------------------------------------------------------------------------

    def _draw(self, client: str, faults: tuple[Fault, ...]) -> Fault | None:
        with self._lock:
            self.calls[client] += 1
            first = self.calls[client] == 1 and client in self.surely  # these clients cannot escape by chance
            if (not first and self._rng.random() >= self.rate) or (
                self.budget is not None and self.total() >= self.budget
            ):
                return None
            choice = self._rng.random()
            fault = SLOW if choice < 0.2 else RESET if choice < 0.4 else self._rng.choice(faults)
            fault = self._rng.choice(self.only) if self.only else fault
            self.injected[(client, fault.kind)] += 1
            return fault

    def _kill(self, client: str, operation: str, body: bytes) -> Kill | None:
        with self._lock:
            for kill in self.kills:
                if kill.client == client and DELETES[client](operation, body):
                    kill.seen += 1
                    if kill.seen % kill.every == 0:
                        self.injected[(client, "killed after send" if kill.after_send else "killed before send")] += 1
                        return kill
        return None

    # ---- AWS clients: before-send ----------------------------------------------------------------------------------

    def before_send(self, event_name: str, request: Any, **_kwargs: Any) -> AWSResponse | None:
        if not self.armed:
            return None
        _, client, operation = event_name.split(".", 2)
        if client not in AWS_FAULTS:
            return None
        operations = AWS_OPERATIONS[client]
        if operations is not None and operation not in operations:
            return None
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        if client in DELETES and (kill := self._kill(client, operation, body)) is not None:
            if kill.after_send:
                self._really_send(request)
            raise WorkerKilled(f"killed at {client} {operation}")
        fault = self._draw(client, AWS_FAULTS[client])
        if fault is None:
            return None
        if fault.kind == "slow":
            time.sleep(self.slow_s)
            return None
        request.headers[MARKER] = fault.kind
        if fault.kind == "reset":
            raise ConnectionClosedError(endpoint_url=request.url)
        body = json.dumps({"__type": fault.code, "message": "injected fault"}).encode()
        headers = {"x-amzn-ErrorType": fault.code, "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, fault.status, headers, MockRawResponse(body))

    @staticmethod
    def _really_send(request: Any) -> None:
        """Have the request applied, its answer lost (the worker dies before it reads it)."""
        from moto.core.models import botocore_stubber

        if botocore_stubber.enabled and botocore_stubber.process_request(request) is not None:
            return
        session = requests.Session()
        session.request(request.method, request.url, data=request.body, headers=dict(request.headers), timeout=60)

    # ---- OpenSearch: requests' HTTPAdapter -------------------------------------------------------------------------

    def adapter_send(self, original: Callable[..., requests.Response]) -> Callable[..., requests.Response]:
        faults = self

        def send(adapter: Any, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
            url = request.url or ""
            if not faults.armed or not faults.opensearch_url or not url.startswith(faults.opensearch_url):
                return original(adapter, request, *args, **kwargs)
            path = url[len(faults.opensearch_url) :]
            body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
            if (kill := faults._kill("opensearch", path, body)) is not None:
                if kill.after_send:
                    original(adapter, request, *args, **kwargs)
                raise WorkerKilled(f"killed at opensearch {path}")
            fault = faults._draw("opensearch", OPENSEARCH_FAULTS)
            if fault is None:
                return original(adapter, request, *args, **kwargs)
            if fault.kind == "slow":
                time.sleep(faults.slow_s)
                return original(adapter, request, *args, **kwargs)
            if fault.kind == "reset":
                raise requests.exceptions.ConnectionError("Connection reset by peer (injected)")
            return _opensearch_error(request, fault)

        return send


def _opensearch_error(request: requests.PreparedRequest, fault: Fault) -> requests.Response:
    response = requests.Response()
    response.status_code = fault.status
    response.url = request.url or ""
    response.request = request
    response.headers["content-type"] = "application/json"
    error = {"type": fault.code, "reason": "injected fault"}
    response._content = json.dumps({"error": {**error, "root_cause": [error]}, "status": fault.status}).encode()
    return response


@contextmanager
def wire_faults(faults: WireFaults) -> Iterator[WireFaults]:
    """Install `faults` under boto3's default session (clients created from now on) and requests' HTTP adapter; with
    botocore's backoff sleeps and the S3 Vectors adapter's DeleteVectors waits skipped (the retries themselves run), as
    the harness skips the state machine's."""
    from botocore.retries.standard import ExponentialBackoff

    stubber_call = BotocoreStubber.__call__

    def stubber(stub: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> AWSResponse | None:
        if MARKER in request.headers:  # answered by an injected fault: moto must not execute it
            return None
        return stubber_call(stub, event_name, request, **kwargs)

    with ExitStack() as stack:
        session = boto3._get_default_session()
        session.events.register_first("before-send", faults.before_send)
        stack.callback(session.events.unregister, "before-send", faults.before_send)
        stack.enter_context(mock.patch.object(BotocoreStubber, "__call__", stubber))
        stack.enter_context(
            mock.patch.object(
                requests.adapters.HTTPAdapter, "send", faults.adapter_send(requests.adapters.HTTPAdapter.send)
            )
        )
        stack.enter_context(mock.patch.object(ExponentialBackoff, "delay_amount", lambda _self, _ctx: 0))
        stack.enter_context(mock.patch.object(s3_vectors_retry, "pause", lambda _seconds: None))
        yield faults


def killed_as_lambda_reports(invoke: Callable[..., bytes]) -> Callable[..., bytes]:
    """Wrap the dispatcher's `invoke`: a `WorkerKilled` becomes the error Lambda reports for a timed-out function."""

    def guarded(function: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        try:
            return invoke(function, body, request_headers, response_headers)
        except WorkerKilled as killed:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": killed.error_type, "errorMessage": str(killed)}).encode()

    return guarded
