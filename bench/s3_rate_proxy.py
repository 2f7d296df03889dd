"""An HTTP proxy in front of moto server that enforces Amazon S3 Vectors' per-index write rate, counted at the server.

AWS (FACTS.md): per vector index, at most 1,000 PutVectors+DeleteVectors requests and 2,500 vectors a second, inserts
and deletes combined; beyond that, `TooManyRequestsException` (HTTP 429). moto enforces nothing of the kind, so this
proxy does: one pair of token buckets per index (requests, vectors), each holding at most one second of its rate and
starting empty (no free burst to flatter a measurement), refilled continuously. A PutVectors or DeleteVectors whose
request token or vectors the buckets cannot cover is answered 429 `TooManyRequestsException` without reaching moto;
every other request is forwarded untouched. It counts what it admitted and refused, per index, with the times of the
first and last admitted write, so a client's erasure rate can be read from the server's side.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

REQUESTS_PER_S = 1_000
VECTORS_PER_S = 2_500
WRITES = {"/PutVectors": "vectors", "/DeleteVectors": "keys"}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass
class Bucket:
    rate: float
    tokens: float = 0.0
    at: float = field(default_factory=time.monotonic)

    def refill(self, now: float) -> None:
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now


@dataclass
class IndexCounts:
    admitted_requests: int = 0
    admitted_vectors: int = 0
    throttled: int = 0
    first: float = 0.0
    last: float = 0.0


class RateCeiling:
    """Token buckets per index: a write of `n` vectors needs one request token and `n` vector tokens."""

    def __init__(self, requests_per_s: float = REQUESTS_PER_S, vectors_per_s: float = VECTORS_PER_S):
        self._rates = (requests_per_s, vectors_per_s)
        self._buckets: dict[str, tuple[Bucket, Bucket]] = {}
        self._lock = threading.Lock()
        self.counts: dict[str, IndexCounts] = {}
        self.operations: Counter[str] = Counter()

    def admit(self, index: str, vectors: int) -> bool:
        now = time.monotonic()
        with self._lock:
            requests, vector_tokens = self._buckets.setdefault(index, (Bucket(self._rates[0]), Bucket(self._rates[1])))
            counts = self.counts.setdefault(index, IndexCounts())
            requests.refill(now)
            vector_tokens.refill(now)
            if requests.tokens < 1 or vector_tokens.tokens < vectors:
                counts.throttled += 1
                return False
            requests.tokens -= 1
            vector_tokens.tokens -= vectors
            counts.admitted_requests += 1
            counts.admitted_vectors += vectors
            counts.first = counts.first or now
            counts.last = now
            return True

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
            self.counts.clear()
            self.operations.clear()


class S3VectorsRateProxy:
    """`with S3VectorsRateProxy(moto_url) as proxy:` point S3 Vectors clients at `proxy.url`."""

    def __init__(self, upstream: str, ceiling: RateCeiling | None = None):
        self.upstream = urlparse(upstream)
        self.ceiling = ceiling or RateCeiling()
        self._local = threading.local()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                proxy._handle(self)

            do_POST = do_PUT = do_DELETE = do_HEAD = do_GET  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="s3-rate-proxy", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> S3VectorsRateProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        path = request.path.split("?", 1)[0]
        self.ceiling.operations[path.lstrip("/")] += 1
        if path in WRITES and not self._admit(path, body):
            self._reply(request, 429, {"x-amzn-ErrorType": "TooManyRequestsException"}, b'{"message":"Rate exceeded"}')
            return
        status, headers, answer = self._forward(request.command, request.path, dict(request.headers), body)
        self._reply(request, status, headers, answer)

    def _admit(self, path: str, body: bytes) -> bool:
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            return True  # moto answers the malformed request itself
        index = str(params.get("indexArn") or f"{params.get('vectorBucketName')}/{params.get('indexName')}")
        return self.ceiling.admit(index, len(params.get(WRITES[path]) or []))

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(
                self.upstream.hostname or "127.0.0.1", self.upstream.port, timeout=120
            )
            self._local.connection = connection
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
        except (http.client.HTTPException, OSError):
            self._local.connection = None
            connection.close()
            raise
        return response.status, {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}, answer

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
