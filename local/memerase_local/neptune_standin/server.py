"""A local Neptune Analytics data plane (tests and `memerase serve`/`demo`): `neptune-graph` ExecuteQuery over HTTP,
openCypher on FalkorDB.

Wire protocol (botocore's `neptune-graph` model, rest-json): `POST /queries`, the graph id in the `graphIdentifier`
header, a JSON body `{"query", "language", "parameters", ...}`; the answer is the streaming `payload`
`{"results": [...]}` with nodes as `{"~id", "~entityType": "node", "~labels", "~properties"}` and relationships as
`{"~id", "~entityType": "relationship", "~start", "~end", "~type", "~properties"}`. Errors come in AWS's JSON error
shape (`x-amzn-ErrorType` header + `{"message", "reason"}`), so boto3 raises its modelled exceptions.

Every query is evaluated by FalkorDB, one FalkorDB graph per graph id; `cypher.rewrite` maps the few Neptune
specifics (`~id`, `id()`, `SET n = map`, `pg_schema`, `vectors.upsert`). Not emulated: the vector index and the
`neptune.algo.*` search procedures (refused as unknown procedures), `explain`, query timeouts, plan cache, IAM
policies (only that the request is SigV4-signed for `neptune-graph`), and transactions beyond FalkorDB's own
per-query atomicity. A node or relationship created without `~id` gets a random UUID after its query has run, so
`id(x)` of such an element read in the very query that created it is null (Neptune returns the generated id);
reading it in a later query, or returning the element itself, gives the id.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from botocore.config import Config
from falkordb import Edge, FalkorDB, Node, Path
from redis.exceptions import ResponseError

from memerase_local.neptune_standin.cypher import SCHEMA_PARAM, rewrite
from memerase_local.neptune_standin.falkordb_process import FalkorDBProcess

DEFAULT_GRAPH_ID = "g-memerase01"
ID = "~id"

# code -> (HTTP status, reason): the errors botocore's model gives ExecuteQuery (plus ResourceNotFoundException).
ERRORS: dict[str, tuple[int, str | None]] = {
    "ConflictException": (409, "CONCURRENT_MODIFICATION"),
    "ThrottlingException": (429, None),
    "UnprocessableException": (422, "QUERY_TIMEOUT"),
    "ValidationException": (400, "MALFORMED_QUERY"),
    "AccessDeniedException": (403, None),
    "InternalServerException": (500, None),
    "ResourceNotFoundException": (404, None),
}


class NeptuneError(Exception):
    def __init__(self, code: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.status, default_reason = ERRORS[code]
        self.reason = reason or default_reason


@dataclass(frozen=True)
class RecordedQuery:
    graph_id: str
    query: str
    parameters: dict[str, Any]


class NeptuneGraphStandIn:
    """The stand-in: `url`, `graph_id`, `requests`, `queries`, `fail_next`, `cypher`, `client`, `env`, `reset`."""

    def __init__(self, falkor: FalkorDB, graph_id: str = DEFAULT_GRAPH_ID) -> None:
        self.falkor = falkor
        self.graph_id = graph_id
        self._lock = threading.Lock()
        self._graphs: set[str] = {graph_id}
        self._failures: deque[str] = deque()
        self._requests = 0
        self.queries: list[RecordedQuery] = []
        self._http = _QuietServer(("127.0.0.1", 0), _Handler)
        self._http.daemon_threads = True
        self._http.standin = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, name="neptune-graph-standin", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------------------------------
    def start(self) -> NeptuneGraphStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def reset(self) -> None:
        """Empty every graph, forget requests, queued failures and extra graphs."""
        with self._lock:
            for graph_id in self._graphs:
                with contextlib.suppress(ResponseError):  # a graph never written to
                    self.falkor.select_graph(graph_id).delete()
            self._graphs = {self.graph_id}
            self._failures.clear()
            self._requests = 0
            self.queries = []

    # -- test controls ---------------------------------------------------------------------------------------------
    @property
    def requests(self) -> int:
        """ExecuteQuery requests received (failed and injected-failure ones included)."""
        with self._lock:
            return self._requests

    def fail_next(self, code: str, n: int = 1) -> None:
        """The next `n` ExecuteQuery requests fail with `code` (e.g. ConflictException, ThrottlingException)."""
        if code not in ERRORS:
            raise ValueError(f"unknown error code {code!r}; one of {sorted(ERRORS)}")
        with self._lock:
            self._failures.extend([code] * n)

    def create_graph(self, graph_id: str) -> None:
        with self._lock:
            self._graphs.add(graph_id)

    def env(self) -> dict[str, str]:
        """boto3's standard settings that point a `neptune-graph` client here (no host prefix `{graphId}.`)."""
        return {"AWS_ENDPOINT_URL_NEPTUNE_GRAPH": self.url, "AWS_DISABLE_HOST_PREFIX_INJECTION": "true"}

    def client(self, **config: Any) -> Any:
        """A boto3 `neptune-graph` client for this stand-in (`config` goes to botocore's Config)."""
        cfg = Config(inject_host_prefix=False, **config)
        return boto3.client("neptune-graph", endpoint_url=self.url, region_name="us-east-1", config=cfg)

    def cypher(self, query: str, params: dict[str, Any] | None = None, graph_id: str | None = None) -> list[dict]:
        """Raw openCypher on FalkorDB (no Neptune rewriting, no request counted), rows as Neptune would shape them."""
        graph = self.falkor.select_graph(graph_id or self.graph_id)
        result = graph.query(query, params)
        return _Shaper(graph).rows(result, {})

    # -- the data plane --------------------------------------------------------------------------------------------
    def execute(self, graph_id: str, query: str, params: dict[str, Any]) -> list[dict]:
        with self._lock:
            self._requests += 1
            self.queries.append(RecordedQuery(graph_id, query, params))
            failure = self._failures.popleft() if self._failures else None
            known = graph_id in self._graphs
        if failure:
            raise NeptuneError(failure, f"Injected {failure} (stand-in fault injection)")
        if not known:
            raise NeptuneError("ResourceNotFoundException", f"Graph {graph_id} not found")
        graph = self.falkor.select_graph(graph_id)
        try:
            mapped = rewrite(query)
        except ValueError as exc:
            raise NeptuneError("ValidationException", str(exc)) from None
        if mapped.needs_schema:
            params = {**params, SCHEMA_PARAM: _pg_schema(graph)}
        try:
            result = graph.query(mapped.query, params)
            if mapped.creates:
                graph.query(f"MATCH (n) WHERE n.`{ID}` IS NULL SET n.`{ID}` = randomUUID()")
                graph.query(f"MATCH ()-[r]->() WHERE r.`{ID}` IS NULL SET r.`{ID}` = randomUUID()")
        except ResponseError as exc:
            raise NeptuneError("ValidationException", str(exc)) from None
        return _Shaper(graph).rows(result, mapped.columns)


class _Shaper:
    """FalkorDB results -> Neptune's JSON: nodes and relationships by `~id`, which it looks up where missing."""

    def __init__(self, graph: Any) -> None:
        self.graph = graph
        self.node_ids: dict[int, Any] = {}
        self.edge_ids: dict[int, Any] = {}

    def rows(self, result: Any, columns: dict[str, str]) -> list[dict]:
        names = [columns.get(h[1], h[1]) for h in result.header]
        self._lookup(list(_walk(result.result_set)))
        return [dict(zip(names, (self.value(v) for v in row), strict=True)) for row in result.result_set]

    def _lookup(self, values: list[Any]) -> None:
        nodes = {v.id for v in values if isinstance(v, Node) and ID not in v.properties}
        nodes |= {end for v in values if isinstance(v, Edge) for end in (v.src_node, v.dest_node)}
        edges = [v.id for v in values if isinstance(v, Edge) and ID not in v.properties]
        if nodes:
            found = self.graph.query(f"MATCH (n) WHERE ID(n) IN $ids RETURN ID(n), n.`{ID}`", {"ids": list(nodes)})
            self.node_ids = dict(found.result_set)
        if edges:
            found = self.graph.query(f"MATCH ()-[r]->() WHERE ID(r) IN $ids RETURN ID(r), r.`{ID}`", {"ids": edges})
            self.edge_ids = dict(found.result_set)

    def value(self, value: Any) -> Any:
        if isinstance(value, Node):
            props = dict(value.properties)
            own = props.pop(ID, None) or self.node_ids.get(value.id)
            labels = list(value.labels or [])
            return {ID: own, "~entityType": "node", "~labels": labels, "~properties": self.value(props)}
        if isinstance(value, Edge):
            props = dict(value.properties)
            own = props.pop(ID, None) or self.edge_ids.get(value.id)
            return {
                ID: own,
                "~entityType": "relationship",
                "~start": self.node_ids.get(value.src_node),
                "~end": self.node_ids.get(value.dest_node),
                "~type": value.relation,
                "~properties": self.value(props),
            }
        if isinstance(value, Path):  # not checked against Neptune: elements in order
            return [self.value(v) for v in _path_elements(value)]
        if isinstance(value, dict):
            return {str(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, datetime | date | time):
            return value.isoformat()
        return value


def _path_elements(path: Path) -> list[Any]:
    nodes, edges = path.nodes(), path.edges()
    out: list[Any] = []
    for i, node in enumerate(nodes):
        out.append(node)
        if i < len(edges):
            out.append(edges[i])
    return out


def _walk(value: Any) -> Iterator[Any]:
    """Every node and relationship inside a result (nested lists, maps and paths included)."""
    if isinstance(value, Node | Edge):
        yield value
    elif isinstance(value, Path):
        yield from _path_elements(value)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _walk(v)


def _pg_schema(graph: Any) -> dict[str, Any]:
    """`neptune.graph.pg_schema()`'s shape, computed from the data (FalkorDB's type names as datatypes)."""
    node_props = graph.query(
        "MATCH (n) UNWIND labels(n) AS l UNWIND keys(n) + [null] AS k "
        f"WITH DISTINCT l, k, CASE WHEN k IS NULL THEN null ELSE typeOf(n[k]) END AS t WHERE k IS NULL OR k <> '{ID}' "
        "RETURN l, k, t"
    ).result_set
    edge_props = graph.query(
        "MATCH ()-[r]->() UNWIND keys(r) + [null] AS k "
        f"WITH DISTINCT type(r) AS l, k, CASE WHEN k IS NULL THEN null ELSE typeOf(r[k]) END AS t "
        f"WHERE k IS NULL OR k <> '{ID}' RETURN l, k, t"
    ).result_set
    triples = graph.query(
        "MATCH (a)-[r]->(b) UNWIND labels(a) AS la UNWIND labels(b) AS lb RETURN DISTINCT la, type(r), lb"
    ).result_set
    return {
        "nodeLabels": sorted({row[0] for row in node_props}),
        "edgeLabels": sorted({row[0] for row in edge_props}),
        "nodeLabelDetails": _details(node_props),
        "edgeLabelDetails": _details(edge_props),
        "labelTriples": [{"~from": a, "~type": t, "~to": b} for a, t, b in triples],
    }


def _details(rows: list[list[Any]]) -> dict[str, Any]:
    details: dict[str, Any] = {}
    for label, key, datatype in rows:
        props = details.setdefault(label, {"properties": {}})["properties"]
        if key is not None:
            props.setdefault(key, {"datatypes": []})["datatypes"].append(datatype)
    return details


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up (boto3's pool at exit)
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            results = self._execute(body)
        except Exception as exc:  # noqa: BLE001 - a stand-in bug must reach the client as a 500, not a dropped socket
            if not isinstance(exc, NeptuneError):
                exc = NeptuneError("InternalServerException", f"stand-in error: {type(exc).__name__}: {exc}")
            error = {"message": exc.message, **({"reason": exc.reason} if exc.reason else {})}
            self._reply(exc.status, json.dumps(error).encode(), {"x-amzn-ErrorType": exc.code})
            return
        self._reply(200, json.dumps({"results": results}).encode(), {})

    def do_GET(self) -> None:  # noqa: N802
        body = b'{"message": "only ExecuteQuery (POST /queries) is served"}'
        self._reply(404, body, {"x-amzn-ErrorType": "UnknownOperationException"})

    def _execute(self, body: bytes) -> list[dict]:
        standin: NeptuneGraphStandIn = self.server.standin  # type: ignore[attr-defined]
        if self.path.split("?")[0] != "/queries":
            raise NeptuneError("ValidationException", "only ExecuteQuery (POST /queries) is served", "BAD_REQUEST")
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 ") or "/neptune-graph/aws4_request" not in auth:
            raise NeptuneError("AccessDeniedException", "request not signed with SigV4 for neptune-graph")
        graph_id = self.headers.get("graphIdentifier")
        try:
            request = json.loads(body or b"{}")
        except json.JSONDecodeError:
            raise NeptuneError("ValidationException", "body is not JSON", "BAD_REQUEST") from None
        if not graph_id or not isinstance(request.get("query"), str):
            raise NeptuneError("ValidationException", "graphIdentifier and query are required", "BAD_REQUEST")
        if request.get("language") != "OPEN_CYPHER":
            raise NeptuneError("ValidationException", "only OPEN_CYPHER is supported", "UNSUPPORTED_OPERATION")
        if request.get("explain"):
            raise NeptuneError("ValidationException", "explain is not emulated", "UNSUPPORTED_OPERATION")
        return standin.execute(graph_id, request["query"], request.get("parameters") or {})

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@dataclass
class NeptuneGraphServer:
    """FalkorDB and the HTTP stand-in together (one per test session / xdist worker)."""

    falkor: FalkorDBProcess
    standin: NeptuneGraphStandIn

    @classmethod
    def start(cls) -> NeptuneGraphServer:
        falkor = FalkorDBProcess()
        db = falkor.start()
        return cls(falkor, NeptuneGraphStandIn(db).start())

    def stop(self) -> None:
        self.standin.stop()
        self.falkor.stop()
