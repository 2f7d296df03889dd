"""memerase configurations over the Neptune Analytics stand-in, and raw snapshots of its graph for comparisons."""

from __future__ import annotations

from typing import Any

from memerase.engine import Eraser
from memerase.settings import parse_settings
from memerase.stores.factory import TargetStores, build_target
from memerase_local.neptune_standin.server import NeptuneGraphStandIn
from tests.support.mem0_neptune import neptune_config

TARGET = "neptune"


def target_config(graph_id: str, graph_store: dict[str, Any] | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {"name": TARGET, "vector_store": neptune_config(graph_id)}
    if graph_store is not None:
        target["graph_store"] = graph_store
    return target


def graph_store(graph_id: str, base_label: bool = True) -> dict[str, Any]:
    """mem0 1.x's `graph_store` block for Neptune Analytics."""
    return {"provider": "neptune", "config": {"endpoint": f"neptune-graph://{graph_id}", "base_label": base_label}}


def target_stores(graph_id: str, graph: dict[str, Any] | None = None) -> TargetStores:
    settings = parse_settings({"targets": [target_config(graph_id, graph)], "allow_reset": True})
    return build_target(settings.targets[0])


def eraser(graph_id: str, graph: dict[str, Any] | None = None) -> Eraser:
    return Eraser([target_stores(graph_id, graph)], allow_reset=True)


def snapshot(standin: NeptuneGraphStandIn) -> tuple[dict[str, Any], set[tuple[Any, ...]]]:
    """Every node (labels and properties, by `~id`) and every relationship (ends, type, properties), read raw."""
    nodes = {
        row["n"]["~id"]: (sorted(row["n"]["~labels"]), row["n"]["~properties"])
        for row in standin.cypher("MATCH (n) RETURN n")
    }
    edges = {
        (row["a"], row["t"], row["b"], tuple(sorted((k, str(v)) for k, v in row["p"].items())))
        for row in standin.cypher(
            "MATCH (a)-[r]->(b) RETURN a.`~id` AS a, type(r) AS t, b.`~id` AS b, properties(r) AS p"
        )
    }
    return nodes, edges


def add_foreign_nodes(standin: NeptuneGraphStandIn, user_id: str) -> None:
    """Data that is not mem0's in the same graph: nodes carrying the same user id and name-like properties."""
    standin.cypher(
        "CREATE (:Customer {`~id`: 'c-1', user_id: $u, name: 'not mem0'})"
        "-[:OWNS]->(:Account {`~id`: 'a-1', user_id: $u})",
        {"u": user_id},
    )
