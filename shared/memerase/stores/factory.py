"""Builds each target's stores from the settings: the memories collection and mem0 2.x's entity collection."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from memerase.mem0_history import Mem0History
from memerase.settings import OpenSearchConfig, S3VectorsConfig, Target
from memerase.settings import S3VectorsStore as S3VectorsTargetConfig
from memerase.stores import opensearch, s3_vectors
from memerase.stores.base import EntityCollection, MemoryCollection


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
    mem0_history: Mem0History | None = None

    @cached_property
    def entities(self) -> EntityCollection | None:
        return self.entity_collection if self.entity_collection.exists() else None


def build_target(target: Target) -> TargetStores:
    store = target.vector_store
    if isinstance(store, S3VectorsTargetConfig):
        stores = _s3_vectors(target.name, store.config, target.partitions or 4)
    else:
        stores = _opensearch(target.name, store.config, target.partitions or 2)
    if target.history_db_path:
        stores.mem0_history = Mem0History(target.history_db_path)
    return stores


def _s3_vectors(name: str, config: S3VectorsConfig, segments: int) -> TargetStores:
    client = s3_vectors.make_client(config.region_name)
    entities = entity_collection_name("s3_vectors", config.collection_name)
    return TargetStores(
        name=name,
        memories=s3_vectors.S3VectorsStore(client, config.vector_bucket_name, config.collection_name, segments),
        entity_collection=s3_vectors.S3VectorsStore(client, config.vector_bucket_name, entities),
    )


def _opensearch(name: str, config: OpenSearchConfig, slices: int) -> TargetStores:
    client = opensearch.make_client(config)
    entities = entity_collection_name("opensearch", config.collection_name)
    return TargetStores(
        name=name,
        memories=opensearch.OpenSearchStore(client, config.collection_name, config.embedding_model_dims, slices),
        entity_collection=opensearch.OpenSearchStore(client, entities, config.embedding_model_dims),
    )
