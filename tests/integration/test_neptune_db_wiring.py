"""mem0 1.x graph memory on Neptune Database (`graph_store` provider `neptunedb`): the target gets the graph (built by
`memerase.stores.neptune_db.build_graph`) and mem0's entity embeddings in the main vector store's
`<collection>_neptune_vector_store`, erased exactly by user id and never for any other scope.

The Neptune Database adapter is another module's; here `build_graph` is replaced by one that records its arguments
and answers with mem0 1.x graph data on the Neptune Analytics stand-in, so that the wiring is what is tested."""

from __future__ import annotations

import random
import types
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import pytest

from memerase.engine import Eraser
from memerase.models import Scope
from memerase.settings import parse_settings
from memerase.stores.factory import build_target
from memerase.stores.graph_scope import GRAPH, GRAPH_EMBEDDINGS, USER_ID_ONLY
from memerase.stores.neptune_client import NeptuneGraph, make_client
from memerase.stores.neptune_graph_memory import NeptuneGraphMemoryStore
from memerase_local.neptune_standin.mem0_graph_v1 import write_graph
from memerase_local.neptune_standin.server import NeptuneGraphStandIn
from tests.support import mem0_data as m0

ENDPOINT = "neptune-db://db.cluster-abc.eu-west-1.neptune.amazonaws.com:8182"
EMBEDDINGS = "mem0_neptune_vector_store"


@pytest.fixture
def built_graphs(neptune_graph: NeptuneGraphStandIn, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []

    def build_graph(endpoint: str, region_name: str | None, base_label: bool) -> NeptuneGraphMemoryStore:
        calls.append((endpoint, region_name, base_label))
        return NeptuneGraphMemoryStore(NeptuneGraph(make_client("us-east-1"), neptune_graph.graph_id), base_label)

    module = types.ModuleType("memerase.stores.neptune_db")
    module.build_graph = build_graph  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "memerase.stores.neptune_db", module)
    return calls


def embeddings(users: list[str], per_user: int) -> list[m0.Memory]:
    """Entity embeddings as mem0 1.x's neptunedb graph writes them: id = node id, payload name/type/user_id/created."""
    rng = random.Random(11)
    return [
        m0.Memory(
            f"node-{u}-{i}",
            {"name": f"{u} entity {i}", "type": "person", "user_id": u, "created_at": datetime.now(UTC).isoformat()},
            [rng.random() for _ in range(m0.DIMS)],
        )
        for u in users
        for i in range(per_user)
    ]


def target(osmem_url: str) -> dict[str, Any]:
    """An OpenSearch target (its memories index created empty) with mem0 1.x's neptunedb graph_store block."""
    m0.opensearch_store(osmem_url)
    url = urlparse(osmem_url)
    return {
        "name": "os",
        "vector_store": {
            "provider": "opensearch",
            "config": {"host": url.hostname, "port": url.port, "collection_name": "mem0", "embedding_model_dims": 8},
        },
        "graph_store": {
            "provider": "neptunedb",
            "config": {"endpoint": ENDPOINT, "base_label": True, "region_name": "eu-west-1"},
        },
    }


def test_a_neptunedb_graph_store_adds_the_graph_and_its_embeddings_erased_by_user_id(
    osmem_url: str, neptune_graph: NeptuneGraphStandIn, built_graphs: list[tuple[Any, ...]]
) -> None:
    # Given mem0 1.x graph data and its entity embeddings in OpenSearch's mem0_neptune_vector_store, for three users
    write_graph(neptune_graph.graph_id, ["alice", "bob", "user"], per_user=2)
    store = m0.opensearch_store(osmem_url, index=EMBEDDINGS)
    data = embeddings(["alice", "bob", "user"], per_user=3)
    m0.write(store, data)
    stores = build_target(parse_settings({"targets": [target(osmem_url)]}).targets[0])

    # When alice is erased
    result = Eraser([stores]).delete_matching(Scope.of(user_id="alice"))

    # Then the graph was built from the block, and alice's embeddings and graph nodes are gone, nobody else's
    assert built_graphs == [(ENDPOINT, "eu-west-1", True)]
    assert [role for role, _ in stores.graph] == [GRAPH, GRAPH_EMBEDDINGS]
    assert m0.opensearch_contents(store) == {m.id: m.payload for m in data if m.payload["user_id"] != "alice"}
    assert neptune_graph.cypher("MATCH (n {user_id: 'alice'}) RETURN count(n) AS c") == [{"c": 0}]
    lines = {s.role: (s.deleted, s.remaining, s.note) for s in result.stores}
    assert lines[GRAPH] == (4, 0, None) and lines[GRAPH_EMBEDDINGS] == (3, 0, None)


def test_a_scope_beyond_user_id_leaves_the_embeddings_collection_alone(
    osmem_url: str, neptune_graph: NeptuneGraphStandIn, built_graphs: list[tuple[Any, ...]]
) -> None:
    # Given alice's entity embeddings
    store = m0.opensearch_store(osmem_url, index=EMBEDDINGS)
    data = embeddings(["alice"], per_user=2)
    m0.write(store, data)
    stores = build_target(parse_settings({"targets": [target(osmem_url)]}).targets[0])

    # When alice with an agent is erased
    result = Eraser([stores]).delete_matching(Scope.of(user_id="alice", agent_id="a1"))

    # Then both graph collections say why they were left alone, and the embeddings are all there
    assert {s.role: s.note for s in result.stores if s.role.startswith(GRAPH)} == {
        GRAPH: USER_ID_ONLY,
        GRAPH_EMBEDDINGS: USER_ID_ONLY,
    }
    assert m0.opensearch_contents(store) == {m.id: m.payload for m in data}
