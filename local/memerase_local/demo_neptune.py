"""The demo's Neptune Analytics data: mem0 2.x memories written by mem0ai 2.2.1's own `NeptuneAnalyticsVector`, and
mem0 1.x graph memory (entity nodes and relationships) written with mem0ai 1.0.11's own openCypher statements, both
through boto3's `neptune-graph` client into the local stand-in."""

from __future__ import annotations

from collections import Counter
from typing import Any

from memerase_local.neptune_standin.server import NeptuneGraphStandIn

PROVIDER = "neptune"
ENTITY_LABEL = "__Entity__"


def neptune_target(graph_id: str, collection: str) -> dict[str, Any]:
    """A target as a mem0 user has it: 2.x's `neptune` vector store and 1.x's `neptune` graph store, one graph."""
    endpoint = f"neptune-graph://{graph_id}"
    return {
        "name": "neptune",
        "vector_store": {"provider": PROVIDER, "config": {"endpoint": endpoint, "collection_name": collection}},
        "graph_store": {"provider": PROVIDER, "config": {"endpoint": endpoint, "base_label": True}},
    }


def memories_store(graph_id: str, collection: str) -> Any:
    """mem0's own Neptune Analytics vector store, built as mem0's `Memory` builds it."""
    from mem0.configs.vector_stores.neptune import NeptuneAnalyticsConfig
    from mem0.utils.factory import VectorStoreFactory

    config = NeptuneAnalyticsConfig(endpoint=f"neptune-graph://{graph_id}", collection_name=collection)
    return VectorStoreFactory.create(PROVIDER, config)


def seed_neptune(
    graph_id: str, collection: str, records: tuple[list[str], list[list[float]], list[dict[str, Any]]]
) -> Any:
    """The same memories (ids, vectors, payloads) through mem0's `insert`, and 1.x graph data for each user."""
    from memerase_local.neptune_standin.mem0_graph_v1 import write_graph

    ids, vectors, payloads = records
    store = memories_store(graph_id, collection)
    for start in range(0, len(ids), 100):
        end = start + 100
        # mem0 adds `label` and overwrites `updated_at` in the payloads it is given: it gets copies
        store.insert(vectors=vectors[start:end], payloads=[dict(p) for p in payloads[start:end]], ids=ids[start:end])
    users = sorted({str(p["user_id"]) for p in payloads})
    write_graph(graph_id, users, per_user=2)
    return store


def memory_counts(store: Any) -> Counter[str]:
    return Counter(r.payload.get("user_id") for r in store.list(top_k=100_000)[0])


def graph_counts(standin: NeptuneGraphStandIn) -> Counter[str]:
    """mem0 1.x entity nodes per user, read raw from the stand-in's graph (not through memerase)."""
    rows = standin.cypher(f"MATCH (n:`{ENTITY_LABEL}`) RETURN n.user_id AS user, count(n) AS nodes")
    return Counter({row["user"]: row["nodes"] for row in rows})
