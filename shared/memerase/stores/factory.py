"""Builds each target's stores from the settings: the memories collection, mem0 2.x's entity collection, and
mem0 1.x's graph data on Amazon Neptune (its entity nodes; on Neptune Database also their embeddings).

Each adapter module is imported inside the branch that builds it, so a process loads only the client libraries its
configuration uses (opensearch-py alone costs about 0.4 s of imports, gremlinpython and the Neptune modules more):
a handler's cold start pays for none of them, and a first call for its own targets' only."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from memerase.settings import NeptuneStore as NeptuneTargetConfig
from memerase.settings import S3VectorsStore as S3VectorsTargetConfig
from memerase.stores.graph_scope import GRAPH, GRAPH_EMBEDDINGS, UserIdOnly

if TYPE_CHECKING:
    from memerase.mem0_history import Mem0History
    from memerase.settings import GraphStoreConfig, NeptuneAnalyticsConfig, OpenSearchConfig, S3VectorsConfig, Target
    from memerase.stores.base import EntityCollection, MemoryCollection, ScopeCollection


def entity_collection_name(provider: str, collection_name: str) -> str:
    """mem0 2.2.1's `_entity_collection_name`: "-" for S3 Vectors (index names allow no "_"), "_" elsewhere."""
    separator = "-" if provider == "s3_vectors" else "_"
    return f"{collection_name}{separator}entities"


@dataclass
class TargetStores:
    """One target's collections. The entity collection only counts when it exists."""

    name: str
    memories: MemoryCollection
    entity_collection: EntityCollection
    graph: list[tuple[str, ScopeCollection]] = field(default_factory=list)  # (role, store): mem0 1.x graph data
    mem0_history: Mem0History | None = None

    @cached_property
    def entities(self) -> EntityCollection | None:
        return self.entity_collection if self.entity_collection.exists() else None


def build_target(target: Target) -> TargetStores:
    store = target.vector_store
    if isinstance(store, S3VectorsTargetConfig):
        stores = _s3_vectors(target.name, store.config, target.partitions or 4)
    elif isinstance(store, NeptuneTargetConfig):
        stores = _neptune(target.name, store.config)
    else:
        stores = _opensearch(target.name, store.config, target.partitions or 2)
    if target.graph_store is not None:
        stores.graph = _graph(target, target.graph_store)
    if target.history_db_path:
        from memerase.mem0_history import Mem0History

        stores.mem0_history = Mem0History(target.history_db_path)
    return stores


def _neptune(name: str, config: NeptuneAnalyticsConfig) -> TargetStores:
    from memerase.stores import neptune_client
    from memerase.stores.neptune_analytics import NeptuneAnalyticsStore

    graph = neptune_client.NeptuneGraph(neptune_client.make_client(config.region_name), config.graph_id)
    entities = entity_collection_name("neptune", config.collection_name)
    return TargetStores(
        name=name,
        memories=NeptuneAnalyticsStore(graph, config.collection_name),
        entity_collection=NeptuneAnalyticsStore(graph, entities),
    )


def _graph(target: Target, graph_store: GraphStoreConfig) -> list[tuple[str, ScopeCollection]]:
    """mem0 1.x's graph data: entity nodes (role "graph"); on Neptune Database also the entity embeddings mem0
    keeps in the main vector store (role "graph_embeddings"), erased by user id only."""
    config = graph_store.config
    base_label = bool(config.base_label)
    if graph_store.provider == "neptune":
        from memerase.stores import neptune_client
        from memerase.stores.neptune_graph_memory import NeptuneGraphMemoryStore

        graph = neptune_client.NeptuneGraph(
            neptune_client.make_client(config.region_name), config.endpoint.removeprefix("neptune-graph://")
        )
        return [(GRAPH, NeptuneGraphMemoryStore(graph, base_label))]
    neptune_db: Any = importlib.import_module("memerase.stores.neptune_db")  # gremlinpython, loaded only when used
    nodes: ScopeCollection = neptune_db.build_graph(config.endpoint, config.region_name, base_label)
    return [(GRAPH, nodes), (GRAPH_EMBEDDINGS, UserIdOnly(_graph_embeddings(target, graph_store)))]


def graph_embeddings_collection(target: Target, graph_store: GraphStoreConfig) -> str:
    """mem0 1.x (`graphs/neptune/neptunedb.py`): `graph_store.config.collection_name`, else the main vector store's
    collection + "_neptune_vector_store"."""
    return graph_store.config.collection_name or f"{target.vector_store.config.collection_name}_neptune_vector_store"


def _graph_embeddings(target: Target, graph_store: GraphStoreConfig) -> ScopeCollection:
    collection = graph_embeddings_collection(target, graph_store)
    store = target.vector_store
    if isinstance(store, S3VectorsTargetConfig):
        config = store.config.model_copy(update={"collection_name": collection})
        return _s3_vectors(target.name, config, target.partitions or 4).memories
    if isinstance(store, NeptuneTargetConfig):
        return _neptune(target.name, store.config.model_copy(update={"collection_name": collection})).memories
    return _opensearch(
        target.name, store.config.model_copy(update={"collection_name": collection}), target.partitions or 2
    ).memories


def _s3_vectors(name: str, config: S3VectorsConfig, segments: int) -> TargetStores:
    from memerase.stores import s3_vectors

    client = s3_vectors.make_client(config.region_name)
    entities = entity_collection_name("s3_vectors", config.collection_name)
    return TargetStores(
        name=name,
        memories=s3_vectors.S3VectorsStore(client, config.vector_bucket_name, config.collection_name, segments),
        entity_collection=s3_vectors.S3VectorsStore(client, config.vector_bucket_name, entities),
    )


def _opensearch(name: str, config: OpenSearchConfig, slices: int) -> TargetStores:
    from memerase.stores import opensearch

    client = opensearch.make_client(config)
    entities = entity_collection_name("opensearch", config.collection_name)
    return TargetStores(
        name=name,
        memories=opensearch.OpenSearchStore(client, config.collection_name, config.embedding_model_dims, slices),
        entity_collection=opensearch.OpenSearchStore(client, entities, config.embedding_model_dims),
    )
