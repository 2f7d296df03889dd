"""mem0 2.x data on Neptune Analytics, written by mem0ai 2.2.1's own `NeptuneAnalyticsVector` through boto3.

mem0 builds both stores the way `Memory` does: the memories store from the `neptune` provider's config
(`{"endpoint": "neptune-graph://<graph-id>", "collection_name": ...}`, label `MEM0_VECTOR_<collection>`), and the
entity store as `Memory.entity_store` builds it (`mem0/memory/main.py`: the same config with
`collection_name = _entity_collection_name("neptune", collection)`, i.e. `<collection>_entities`, label
`MEM0_VECTOR_<collection>_entities`), both through `VectorStoreFactory.create`. Needs the `neptune_graph` stand-in's
environment (boto3 endpoint settings) to be in place.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from mem0.configs.vector_stores.neptune import NeptuneAnalyticsConfig
from mem0.memory.main import _entity_collection_name
from mem0.utils.factory import VectorStoreFactory
from mem0.vector_stores.neptune_analytics import NeptuneAnalyticsVector

from tests.support.mem0_data import Memory

COLLECTION = "mem0"
PROVIDER = "neptune"


def neptune_config(graph_id: str, collection: str = COLLECTION) -> dict[str, Any]:
    """The `vector_store` block a mem0 user has for Neptune Analytics."""
    return {"provider": PROVIDER, "config": {"endpoint": f"neptune-graph://{graph_id}", "collection_name": collection}}


def memories_store(graph_id: str, collection: str = COLLECTION) -> NeptuneAnalyticsVector:
    config = NeptuneAnalyticsConfig(**neptune_config(graph_id, collection)["config"])
    store: NeptuneAnalyticsVector = VectorStoreFactory.create(PROVIDER, config)
    return store


def entity_store(graph_id: str, collection: str = COLLECTION) -> NeptuneAnalyticsVector:
    """mem0 2.x's entity store beside the memories, built as `Memory.entity_store` builds it."""
    config = NeptuneAnalyticsConfig(**neptune_config(graph_id, collection)["config"])
    config.collection_name = _entity_collection_name(PROVIDER, collection)
    store: NeptuneAnalyticsVector = VectorStoreFactory.create(PROVIDER, config)
    return store


def label(collection: str = COLLECTION, entities: bool = False) -> str:
    """The node label mem0 writes: `MEM0_VECTOR_<collection>` or, for entities, `MEM0_VECTOR_<collection>_entities`."""
    name = _entity_collection_name(PROVIDER, collection) if entities else collection
    return NeptuneAnalyticsVector._COLLECTION_PREFIX + name


def write(store: NeptuneAnalyticsVector, records: Iterable[Memory], batch: int = 100) -> None:
    """Insert through mem0's own `insert` (which adds `label` and overwrites `updated_at` in the payload it is given:
    it gets copies, so the caller's records keep mem0's original payload)."""
    items = list(records)
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        payloads = [copy.deepcopy(m.payload) for m in chunk]
        store.insert(vectors=[m.vector for m in chunk], payloads=payloads, ids=[m.id for m in chunk])


def contents(store: NeptuneAnalyticsVector, top_k: int = 100_000) -> dict[str, dict[str, Any]]:
    """Every record's id with its payload, read back through mem0's own `list` (mem0 drops the `label` property)."""
    return {r.id: r.payload for r in store.list(top_k=top_k)[0]}
