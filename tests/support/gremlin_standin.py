"""Gremlin stand-ins: gremlite evaluates gremlinpython's bytecode on SQLite; a WebSocket server records handshakes.

gremlite (PyPI, Apache-2.0) plugs into gremlinpython as a RemoteConnection: `traversal().with_remote(
SQLiteConnection(path))` sends the same bytecode a `DriverRemoteConnection` would send to Neptune. Its limits (see
FACTS.md): vertex and edge ids are auto-increment integers (`property(T.id, ...)` is refused), and `hasId`, `range`,
`dedup`, `inject` and `mergeV` are not implemented; `drop()` of a vertex removes its edges. It needs gremlinpython
< 3.8, which is also the line Neptune supports.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import GraphTraversalSource
from gremlite import SQLiteConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

ENTITY_TYPES = ("person", "organization", "location", "food", "__User__")
RELATIONSHIPS = ("knows", "works_at", "lives_in", "likes")


@dataclass
class GremlinGraph:
    g: GraphTraversalSource
    connection: SQLiteConnection
    path: Path


@contextmanager
def open_gremlin_graph(path: Path) -> Iterator[GremlinGraph]:
    connection = SQLiteConnection(path, autocommit=True)
    try:
        yield GremlinGraph(traversal().with_remote(connection), connection, path)
    finally:
        connection.close()


@dataclass
class Mem0Graph:
    """What `write_mem0_graph` wrote: vertex ids per user, and every edge as (out id, label, in id)."""

    vertices: dict[str, list[Any]] = field(default_factory=dict)
    edges: list[tuple[Any, str, Any]] = field(default_factory=list)


def write_mem0_graph(g: GraphTraversalSource, users: Sequence[str], per_user: int = 4, seed: int = 11) -> Mem0Graph:
    """A graph shaped like mem0 1.x's graph memory, written through gremlinpython: per user, entity vertices (label =
    entity type; `name`, `user_id`, `mentions`, `created`, `updated`) and relationships between them that carry no
    user id (`created`, `updated`, `mentions`), as mem0 keeps them."""
    rng = random.Random(seed)
    written = Mem0Graph()
    for user in users:
        ids = []
        for i in range(per_user):
            now = 1_700_000_000_000 + rng.randrange(10**9)
            vertex = (
                g.add_v(rng.choice(ENTITY_TYPES))
                .property("name", f"entity {i} of {user}")
                .property("user_id", user)
                .property("mentions", rng.randint(1, 5))
                .property("created", now)
                .property("updated", now)
                .id_()
                .next()
            )
            ids.append(vertex)
        written.vertices[user] = ids
        written.edges += chain_edges(g, ids, rng)
    return written


def chain_edges(g: GraphTraversalSource, ids: list[Any], rng: random.Random) -> list[tuple[Any, str, Any]]:
    """Relationships between one user's entities, as mem0 writes them: each vertex to the next, a random type."""
    edges = []
    for out_id, in_id in zip(ids, ids[1:], strict=False):
        label = rng.choice(RELATIONSHIPS)
        add_edge(g, out_id, label, in_id)
        edges.append((out_id, label, in_id))
    return edges


def add_edge(g: GraphTraversalSource, out_id: Any, label: str, in_id: Any) -> None:
    """An edge as mem0 writes relationships: `created`, `updated`, `mentions`, no user id."""
    (
        g.V(out_id)
        .as_("source")
        .V(in_id)
        .add_e(label)
        .from_("source")
        .property("created", 1_700_000_000_000)
        .property("updated", 1_700_000_000_000)
        .property("mentions", 1)
        .iterate()
    )


class HandshakeRecorder:
    """A WebSocket server on 127.0.0.1 that accepts upgrades on /gremlin and records each handshake's headers.

    `url` is `ws://127.0.0.1:<port>/gremlin`; `handshakes` lists the request headers of every upgrade in order. The
    server answers nothing after the upgrade (messages are read and dropped), so clients see an open, silent socket.
    """

    def __init__(self, path: str = "/gremlin") -> None:
        self._path = path
        self.handshakes: list[Headers] = []
        self._lock = threading.Lock()
        self._server = serve(self._session, "127.0.0.1", 0, process_request=self._record)
        port = self._server.socket.getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}{path}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="ws-handshakes", daemon=True)

    def _record(self, connection: ServerConnection, request: Request) -> Response | None:
        with self._lock:
            self.handshakes.append(request.headers)
        if request.path.split("?")[0] != self._path:
            return connection.respond(404, "not found\n")
        return None

    def _session(self, connection: ServerConnection) -> None:
        for _ in connection:
            pass

    def __enter__(self) -> HandshakeRecorder:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
