"""A Gremlin connection to Neptune Database: SigV4-signed WebSocket handshakes, one connection reused, retries.

gremlinpython (3.7 line, the TinkerPop versions Neptune's engines speak) sends bytecode over a WebSocket. With IAM
authentication Neptune checks the handshake alone: a GET to `https://host:port/gremlin` signed with SigV4 for the
service `neptune-db`. The signature carries its time (`X-Amz-Date`) and expires, so every new connection is signed
afresh. One connection per endpoint lives at module level and is reused by warm Lambda invocations; it is closed at
interpreter exit, and replaced once when it breaks.

`GremlinSession.run` retries Neptune's retriable errors (`ConcurrentModificationException` above all; also
`ThrottlingException`, `MemoryLimitExceededException`, and `ReadOnlyViolationException` on a new connection after a
failover) with exponential backoff and full jitter, then gives up with `RetryableStoreError`; a broken socket or a
timeout is retried once on a new, freshly signed connection; every other failure becomes a `StoreError` naming the
error's code or type, never the values of the traversal. Timeouts: `READ_TIMEOUT_S` for an answer, `WRITE_TIMEOUT_S`
for a request; opening the socket keeps aiohttp's defaults (30 s to connect).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import GraphTraversalSource

from memerase.errors import ConfigError, RetryableStoreError, StoreError

T = TypeVar("T")

DEFAULT_PORT = 8182
SERVICE = "neptune-db"
SCHEME = "neptune-db"
READ_TIMEOUT_S = 60.0
WRITE_TIMEOUT_S = 30.0
# Neptune's retriable error codes (its Gremlin error reference); after a failover the old writer turns read-only
# and a new connection reaches the new one through the cluster endpoint.
RETRYABLE_CODES = (
    "ConcurrentModificationException",
    "ThrottlingException",
    "MemoryLimitExceededException",
    "ReadOnlyViolationException",
)
RECONNECT_CODES = ("ReadOnlyViolationException",)
HANDSHAKE_REFUSED = (
    "the WebSocket handshake was refused (HTTP 403): check the role's neptune-db:connect permission on the "
    "cluster, the signing region, and that IAM authentication is what the cluster expects"
)
CONNECTION_ERRORS = (OSError, asyncio.TimeoutError, RuntimeError)  # socket failures, timeouts, a closed transport


@dataclass(frozen=True)
class GremlinEndpoint:
    """Where a Neptune Database cluster listens. `secure` False only for local stand-ins (`ws://`)."""

    host: str
    port: int = DEFAULT_PORT
    region: str = ""
    secure: bool = True

    @property
    def url(self) -> str:
        return f"{'wss' if self.secure else 'ws'}://{self.host}:{self.port}/gremlin"

    @property
    def signed_url(self) -> str:
        """What SigV4 signs: Neptune checks the signature against `https://host:port/gremlin`."""
        return f"https://{self.host}:{self.port}/gremlin"


def parse_endpoint(endpoint: str, region_name: str | None) -> GremlinEndpoint:
    """mem0's `neptune-db://<host>` (port 8182 unless `host:port`); the region falls back to boto3's own."""
    parts = urlsplit(endpoint)
    if parts.scheme != SCHEME or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ConfigError("graph_store.config.endpoint: expected neptune-db://<host> or neptune-db://<host>:<port>")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise ConfigError("graph_store.config.endpoint: the port is not a number between 1 and 65535") from exc
    region = region_name or boto3.session.Session().region_name
    if not region:
        raise ConfigError("Neptune Database needs a region: set region_name or AWS_REGION")
    return GremlinEndpoint(host=parts.hostname, port=port, region=region)


def sigv4_headers(endpoint: GremlinEndpoint, credentials: Credentials | None = None) -> dict[str, str]:
    """The handshake headers of one new connection: `Authorization`, `X-Amz-Date` (and `X-Amz-Security-Token` for
    temporary credentials), signed now for `neptune-db` in the endpoint's region."""
    creds = credentials or boto3.session.Session().get_credentials()
    if creds is None:
        raise StoreError("Neptune Database: no AWS credentials to sign the connection with")
    request = AWSRequest(method="GET", url=endpoint.signed_url)
    SigV4Auth(creds.get_frozen_credentials(), SERVICE, endpoint.region).add_auth(request)
    return {k: v for k, v in request.headers.items() if k.lower() != "host"}


def signed_connector(
    endpoint: GremlinEndpoint, read_timeout_s: float = READ_TIMEOUT_S
) -> Callable[[], RemoteConnection]:
    """A factory of connections (one WebSocket each), each signed afresh when it is made. gremlinpython opens the
    socket on the first traversal; a traversal waits at most `read_timeout_s` for its answer."""

    def connect() -> RemoteConnection:
        return DriverRemoteConnection(
            endpoint.url,
            "g",
            headers=sigv4_headers(endpoint),
            pool_size=1,
            read_timeout=read_timeout_s,
            write_timeout=WRITE_TIMEOUT_S,
        )

    return connect


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n sleeps uniform(0, min(cap, base * 2**n))."""

    attempts: int = 6
    base_s: float = 0.05
    cap_s: float = 2.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap_s, self.base_s * 2**attempt))


def retryable_code(exc: GremlinServerError) -> str | None:
    """Neptune names its error (e.g. a write conflict, ConcurrentModificationException) in the server error's
    message or attributes; the retriable ones are retried."""
    text = f"{exc.status_message} {exc.status_attributes}"
    return next((code for code in RETRYABLE_CODES if code in text), None)


class GremlinSession:
    """One reusable remote connection, opened on first use. `run(work)` calls `work(g)` with retries."""

    def __init__(
        self,
        connect: Callable[[], RemoteConnection],
        policy: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        label: str = "neptune-db",
    ):
        self._connect = connect
        self._policy = policy
        self._sleep = sleep
        self._label = label
        self._rng = random.Random()
        self._connection: RemoteConnection | None = None
        self._lock = threading.Lock()

    def traversal_source(self) -> GraphTraversalSource:
        with self._lock:
            if self._connection is None:
                self._connection = self._open()
            return traversal().with_remote(self._connection)

    def run(self, work: Callable[[GraphTraversalSource], T]) -> T:
        """`work(g)`, retrying Neptune's retriable errors (backoff, full jitter, bounded) and reconnecting once on a
        broken connection."""
        reconnected = False
        attempt = 0
        while True:
            try:
                return work(self.traversal_source())
            except GremlinServerError as exc:
                self._back_off(exc, attempt)
                attempt += 1
            except CONNECTION_ERRORS as exc:
                self.close()
                if reconnected:
                    raise RetryableStoreError(f"{self._label} unreachable: {type(exc).__name__}") from exc
                reconnected = True
            except (StoreError, ConfigError):
                raise
            except Exception as exc:  # a refused handshake, the evaluator's own errors (an unsupported step)
                self.close()  # the next use signs a new handshake rather than retrying a refused one
                raise self._failure(exc) from exc

    def _back_off(self, exc: GremlinServerError, attempt: int) -> None:
        """Sleep before the next attempt of a retriable error; raise when it is not, or attempts are spent."""
        code = retryable_code(exc)
        if code is None:
            raise StoreError(f"{self._label}: traversal refused ({_code(exc)})") from exc
        if attempt + 1 >= self._policy.attempts:
            raise RetryableStoreError(f"{self._label}: {code} after {attempt + 1} attempts") from exc
        if code in RECONNECT_CODES:
            self.close()
        self._sleep(self._policy.delay(attempt, self._rng))

    def _failure(self, exc: Exception) -> StoreError:
        if "403" in str(exc) and "Forbidden" in str(exc):  # gremlinpython's words for a refused handshake
            return StoreError(f"{self._label}: {HANDSHAKE_REFUSED}")
        return StoreError(f"{self._label}: traversal failed ({type(exc).__name__})")

    def _open(self) -> RemoteConnection:
        try:
            return self._connect()
        except (StoreError, ConfigError):
            raise
        except Exception as exc:
            raise RetryableStoreError(f"{self._label} unreachable: {type(exc).__name__}") from exc

    def close(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close; it is dropped either way
                connection.close()


def _code(exc: GremlinServerError) -> str:
    """The error's code without its message (which may quote the traversal's values)."""
    code = str(exc.status_code)
    attributes: Any = exc.status_attributes
    if isinstance(attributes, dict) and isinstance(attributes.get("exceptions"), list) and attributes["exceptions"]:
        return f"{code} {str(attributes['exceptions'][0]).rsplit('.', 1)[-1]}"
    return code


_SESSIONS: dict[GremlinEndpoint, GremlinSession] = {}
_SESSIONS_LOCK = threading.Lock()


def shared_session(endpoint: GremlinEndpoint) -> GremlinSession:
    """The one session per endpoint of this process (kept across warm invocations)."""
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(endpoint)
        if session is None:
            session = GremlinSession(signed_connector(endpoint), label=f"neptune-db:{endpoint.host}")
            _SESSIONS[endpoint] = session
        return session


@atexit.register
def close_all() -> None:
    with _SESSIONS_LOCK:
        sessions = list(_SESSIONS.values())
        _SESSIONS.clear()
    for session in sessions:
        session.close()
