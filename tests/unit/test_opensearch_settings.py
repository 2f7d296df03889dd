"""An OpenSearch target's collection name is one index OpenSearch would let mem0 create, never an index expression."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from memerase.errors import ConfigError
from memerase.settings import OpenSearchStore, load_settings

OPENSEARCH = {
    "targets": [
        {
            "name": "os",
            "vector_store": {"provider": "opensearch", "config": {"host": "localhost", "collection_name": "mem0"}},
        }
    ]
}
NEPTUNE_DB = {"provider": "neptunedb", "config": {"endpoint": "neptune-db://db.cluster.local"}}


def with_collection(name: str, graph_store: dict[str, Any] | None = None) -> str:
    config = copy.deepcopy(OPENSEARCH)
    config["targets"][0]["vector_store"]["config"]["collection_name"] = name
    if graph_store is not None:
        config["targets"][0]["graph_store"] = graph_store
    return json.dumps(config)


@pytest.mark.parametrize(
    "name",
    [
        "mem0-*",  # a wildcard: `reset` deleted mem0-billing through it
        "mem0?",
        "*",
        "_all",
        "mem0,mem0-billing",
        "-mem0",
        "+mem0",
        "Mem0",
        "mem0 prod",
        "mem0:x",
        'mem0"',
        "mem0/x",
        "mem0\\x",
        "mem0|x",
        "mem0#x",
        "mem0<x",
        "mem0>x",
        ".",
        "..",
        "",
        "m" * 247,  # <name>_entities would be 256 bytes
        "\u00e9" * 124,  # 248 bytes in UTF-8
    ],
)
def test_a_collection_name_opensearch_would_not_create_is_refused_without_quoting_it(name: str) -> None:
    """Before the fix every one of these was accepted: `mem0-*` made `reset` delete every index matching it."""
    # Given an OpenSearch target whose collection name is not a plain OpenSearch index name
    # When the configuration is loaded
    with pytest.raises(ConfigError) as refused:
        load_settings(with_collection(name))
    # Then it is refused, naming the key and OpenSearch's rules, never the value
    message = str(refused.value)
    assert "collection_name" in message and ("OpenSearch index name" in message or "bytes" in message)
    assert len(name) < 3 or name not in message  # (shorter ones are among the characters the rules list)


@pytest.mark.parametrize("name", ["mem0", "mem0-billing", "mem0_prod", "mem0.v2", "m" * 246, "\u732b", "a" * 1])
def test_names_opensearch_accepts_are_kept(name: str) -> None:
    # Given an OpenSearch target whose collection name is an index name OpenSearch accepts
    # When the configuration is loaded
    store = load_settings(with_collection(name)).targets[0].vector_store
    # Then the name is kept as given
    assert isinstance(store, OpenSearchStore) and store.config.collection_name == name


@pytest.mark.parametrize(
    ("collection", "graph_collection"),
    [("mem0", "mem0-*"), ("mem0", "Graph"), ("m" * 240, None)],  # the last derives <name>_neptune_vector_store
)
def test_the_graph_embeddings_index_of_neptune_database_follows_the_same_rules(
    collection: str, graph_collection: str | None
) -> None:
    """Before the fix mem0 1.x's graph embeddings index (on the main vector store) was never checked."""
    # Given an OpenSearch target with mem0 1.x graph memory on Neptune Database, whose embeddings index is not valid
    graph = copy.deepcopy(NEPTUNE_DB)
    if graph_collection is not None:
        graph["config"]["collection_name"] = graph_collection
    # When the configuration is loaded
    # Then it is refused, naming the key
    with pytest.raises(ConfigError, match="graph_store.config.collection_name"):
        load_settings(with_collection(collection, graph))
