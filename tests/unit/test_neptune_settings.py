"""Neptune in the configuration: mem0 2.x's `neptune` vector store and mem0 1.x's `graph_store` block, in mem0's own
vocabulary; unknown keys, wrong types and bad endpoints refused naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from memerase.errors import ConfigError
from memerase.settings import GraphStoreConfig, NeptuneStore, parse_settings
from memerase.stores.factory import graph_embeddings_collection

GRAPH = "neptune-graph://g-0123456789"


def settings(vector_store: dict[str, Any], graph_store: dict[str, Any] | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {"name": "t", "vector_store": vector_store}
    if graph_store is not None:
        target["graph_store"] = graph_store
    return {"targets": [target]}


def neptune(**config: Any) -> dict[str, Any]:
    return {"provider": "neptune", "config": {"endpoint": GRAPH, **config}}


def test_mem0s_neptune_vector_store_block_parses() -> None:
    # Given mem0 2.2.1's vector_store block for Neptune Analytics, as a user pastes it
    raw = settings(neptune(collection_name="mem0", region_name="eu-west-1"))

    # When it is parsed
    store = parse_settings(raw).targets[0].vector_store

    # Then it is a Neptune store on that graph
    assert isinstance(store, NeptuneStore)
    assert (store.config.graph_id, store.config.collection_name, store.config.region_name) == (
        "g-0123456789",
        "mem0",
        "eu-west-1",
    )


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"collection_name": "mem0", "dims": 8}, "dims"),
        ({"collection_name": "bad-name"}, "collection_name"),
        ({"collection_name": "x`) DETACH DELETE (n"}, "collection_name"),
        ({"collection_name": 5}, "collection_name"),
        ({"endpoint": "g-0123456789"}, "endpoint"),
        ({"endpoint": "neptune-graph://"}, "endpoint"),
        ({"endpoint": "neptune-db://host"}, "endpoint"),
        ({"endpoint": "neptune-graph://g-1/../x"}, "endpoint"),
    ],
)
def test_bad_neptune_vector_store_settings_are_refused_naming_the_key(config: dict[str, Any], named: str) -> None:
    # Given a Neptune vector store block with one bad key
    raw = settings(neptune(**config))

    # When it is parsed
    with pytest.raises(ConfigError) as refused:
        parse_settings(raw)

    # Then the error names that key
    assert named in str(refused.value)


@pytest.mark.parametrize(
    ("provider", "endpoint"), [("neptune", GRAPH), ("neptunedb", "neptune-db://db.cluster-x.eu-west-1.neptune.aws")]
)
def test_mem0_1x_graph_store_blocks_for_neptune_parse(provider: str, endpoint: str) -> None:
    # Given mem0 1.0.11's graph_store block beside an S3 Vectors vector store, with every key mem0 accepts
    graph_store = {
        "provider": provider,
        "config": {"endpoint": endpoint, "app_id": "Mem0", "base_label": True, "collection_name": None},
        "llm": {"provider": "openai", "config": {"model": "gpt-4o-mini"}},
        "custom_prompt": "only people",
        "threshold": 0.8,
    }
    raw = settings({"provider": "s3_vectors", "config": {"vector_bucket_name": "bucket"}}, graph_store)

    # When it is parsed
    target = parse_settings(raw).targets[0]

    # Then the graph store is kept, and mem0's embeddings collection name follows mem0's rule
    assert isinstance(target.graph_store, GraphStoreConfig)
    assert (target.graph_store.provider, target.graph_store.config.base_label) == (provider, True)
    assert graph_embeddings_collection(target, target.graph_store) == "mem0_neptune_vector_store"


def test_the_graph_stores_own_collection_name_names_the_embeddings_collection() -> None:
    # Given a neptunedb graph store naming its embeddings collection
    graph_store = {"provider": "neptunedb", "config": {"endpoint": "neptune-db://h", "collection_name": "graph_vecs"}}
    target = parse_settings(settings(neptune(), graph_store)).targets[0]

    # When the collection name is derived
    assert target.graph_store is not None
    name = graph_embeddings_collection(target, target.graph_store)

    # Then it is the configured one
    assert name == "graph_vecs"


@pytest.mark.parametrize(
    ("graph_store", "named"),
    [
        ({"provider": "neptune", "config": {"endpoint": GRAPH, "extra": 1}}, "extra"),
        ({"provider": "neptune", "config": {"endpoint": GRAPH, "base_label": "yes"}}, "base_label"),
        ({"provider": "neptune", "config": {"endpoint": GRAPH, "base_label": 1}}, "base_label"),
        ({"provider": "neptune", "config": {"endpoint": "neptune-db://h"}}, "endpoint"),
        ({"provider": "neptunedb", "config": {"endpoint": GRAPH}}, "endpoint"),
        ({"provider": "neptunedb", "config": {"endpoint": "neptune-db://"}}, "endpoint"),
        ({"provider": "neptune", "config": {}}, "endpoint"),
        ({"provider": "neo4j", "config": {"endpoint": GRAPH}}, "provider"),
        ({"provider": "neptune", "config": {"endpoint": GRAPH}, "threshold": 2}, "threshold"),
        ({"provider": "neptune", "config": {"endpoint": GRAPH}, "vector_store": {}}, "vector_store"),
    ],
)
def test_bad_graph_store_settings_are_refused_naming_the_key(graph_store: dict[str, Any], named: str) -> None:
    # Given a graph_store block with one bad key
    raw = settings(neptune(), graph_store)

    # When it is parsed
    with pytest.raises(ConfigError) as refused:
        parse_settings(raw)

    # Then the error names that key
    assert named in str(refused.value)


def test_two_targets_on_the_same_neptune_collection_are_refused() -> None:
    # Given two targets naming the same graph and collection
    raw = {"targets": [{"name": n, "vector_store": neptune()} for n in ("a", "b")]}

    # When they are parsed
    with pytest.raises(ConfigError, match="same collection"):
        parse_settings(raw)
