"""Graph snapshots, mem0-1.x-shaped graphs with `__Entity__` labels, and a flaky connection, for the Neptune
Database adapter's tests (shared by the gremlite tests and the real Gremlin Server test)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.graph_traversal import GraphTraversalSource
from gremlin_python.process.traversal import Bytecode, Direction, T

from memerase.stores.base import scan
from memerase.stores.neptune_db import NeptuneDbGraph
from tests.support.gremlin_standin import ENTITY_TYPES, Mem0Graph, add_edge, chain_edges

CME_MESSAGE = '{"code":"ConcurrentModificationException","detailedMessage":"Failed to complete the operation"}'


@dataclass(frozen=True)
class Snapshot:
    """Every vertex (id -> label and properties) and every edge (id -> label, ends and properties) of a graph."""

    vertices: dict[Any, tuple[str, dict[str, Any]]]
    edges: dict[Any, tuple[str, Any, Any, dict[str, Any]]]

    def without(self, vertex_ids: Iterable[Any]) -> Snapshot:
        """What should remain once these vertices are dropped: the rest, and every edge touching none of them."""
        gone = set(vertex_ids)
        return Snapshot(
            vertices={k: v for k, v in self.vertices.items() if k not in gone},
            edges={k: e for k, e in self.edges.items() if e[1] not in gone and e[2] not in gone},
        )


def snapshot(g: GraphTraversalSource) -> Snapshot:
    vertices = {
        row[T.id]: (row[T.label], {k: v for k, v in row.items() if isinstance(k, str)})
        for row in g.V().value_map(True).to_list()
    }
    edges = {
        row[T.id]: (
            row[T.label],
            row[Direction.OUT][T.id],
            row[Direction.IN][T.id],
            {k: v for k, v in row.items() if isinstance(k, str)},
        )
        for row in g.E().element_map().to_list()
    }
    return Snapshot(vertices, edges)


def write_entity_graph(g: GraphTraversalSource, users: Sequence[str], per_user: int = 4, seed: int = 3) -> Mem0Graph:
    """mem0 1.x with `base_label: true`: entity vertices labelled `__Entity__` (gremlite keeps one label per
    vertex; Neptune would add the entity type as a second label), relationships without a user id."""
    rng = random.Random(seed)
    written = Mem0Graph()
    for user in users:
        ids = [
            g.add_v("__Entity__")
            .property("name", f"{rng.choice(ENTITY_TYPES)} {i}")
            .property("user_id", user)
            .property("mentions", rng.randint(1, 5))
            .property("created", 1_700_000_000_000 + i)
            .property("updated", 1_700_000_000_000 + i)
            .id_()
            .next()
            for i in range(per_user)
        ]
        written.vertices[user] = ids
        written.edges += chain_edges(g, ids, rng)
    return written


def write_foreign_vertices(g: GraphTraversalSource, user: str) -> list[Any]:
    """Another application's data in the same graph: a vertex with the user's id but no `name`, one with a name but
    no user id, and a document linked to one of them. None of it is mem0's."""
    tagged = g.add_v("account").property("user_id", user).property("plan", "pro").id_().next()
    named = g.add_v("city").property("name", "Lyon").id_().next()
    document = g.add_v("document").property("title", "report").id_().next()
    add_edge(g, document, "mentions", tagged)
    return [tagged, named, document]


def erase(store: NeptuneDbGraph, filters: dict[str, str]) -> int:
    """What the engine's partition run does: list a page, delete it (full batches), list afresh."""
    deleted = 0
    for page in scan(store, filters):
        ids = [r.native_id for r in page.records]
        for start in range(0, len(ids), store.batch_size):
            deleted += store.delete_batch(ids[start : start + store.batch_size])
    return deleted


class FlakyConnection(RemoteConnection):  # type: ignore[misc]
    """Delegates to a real RemoteConnection, but fails the first `failures` traversals that `fails_on` selects,
    with the error Neptune sends for a write conflict (or `error()` when given)."""

    def __init__(
        self,
        inner: RemoteConnection,
        failures: int,
        fails_on: Callable[[Bytecode], bool] = lambda b: "drop" in str(b),
        error: Callable[[], Exception] | None = None,
    ):
        super().__init__("flaky", "g")
        self._inner = inner
        self.failures_left = failures
        self._fails_on = fails_on
        self._error = error or concurrent_modification
        self.attempts = 0

    def submit(self, bytecode: Bytecode) -> Any:
        if self._fails_on(bytecode):
            self.attempts += 1
            if self.failures_left > 0:
                self.failures_left -= 1
                raise self._error()
        return self._inner.submit(bytecode)

    def is_closed(self) -> bool:
        return False

    def close(self) -> None:
        """The inner connection belongs to the test's fixture."""


def concurrent_modification() -> GremlinServerError:
    return GremlinServerError({"code": 500, "message": CME_MESSAGE, "attributes": {}})
