"""The Neptune stand-ins themselves: they must behave as Neptune does where memerase's adapters depend on it."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from websockets.sync.client import connect

from memerase_local.neptune_standin.mem0_graph_v1 import _add_new_entities_cypher, write_graph
from memerase_local.neptune_standin.server import NeptuneGraphStandIn
from tests.support import mem0_neptune
from tests.support.gremlin_standin import GremlinGraph, HandshakeRecorder, add_edge, write_mem0_graph
from tests.support.mem0_data import entity, memory

TRICKY = ["it's", 'say "hi"', "back\\slash", "\\'", "日本語 ✓ é", "`~id`: x", "') DETACH DELETE n //", "\n\t"]


def run(standin: NeptuneGraphStandIn, query: str, **params: Any) -> list[dict[str, Any]]:
    response = standin.client().execute_query(
        graphIdentifier=standin.graph_id, queryString=query, parameters=params, language="OPEN_CYPHER"
    )
    results: list[dict[str, Any]] = json.loads(response["payload"].read())["results"]
    return results


def test_execute_query_round_trips_parameters_and_returns_nodes_in_neptune_shape(
    neptune_graph: NeptuneGraphStandIn,
) -> None:
    # Given a node written with parameters of every JSON type
    props = {"text": TRICKY[0] + TRICKY[1] + TRICKY[2], "n": 3, "x": 1.5, "ok": True, "tags": ["a", "b"]}
    run(neptune_graph, "CREATE (n:`Thing` {`~id`: $id}) SET n += $props", id="t-1", props=props)

    # When it is read back through boto3
    rows = run(neptune_graph, "MATCH (n:Thing) WHERE n.text = $text RETURN n, n.n AS n_value", text=props["text"])

    # Then it comes back as Neptune shapes it
    assert rows == [
        {"n": {"~id": "t-1", "~entityType": "node", "~labels": ["Thing"], "~properties": props}, "n_value": 3}
    ]
    assert neptune_graph.requests == 2


def test_relationships_come_back_with_their_ends_element_ids(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given two nodes and a relationship between them
    run(neptune_graph, "CREATE (:P {`~id`: 'a'})-[:KNOWS {since: 1}]->(:P {`~id`: 'b'})")

    # When the relationship is returned
    [row] = run(neptune_graph, "MATCH ()-[r]->() RETURN r")

    # Then it has Neptune's relationship shape, with a generated id and its ends' ids
    rel = row["r"]
    assert (rel["~entityType"], rel["~type"], rel["~start"], rel["~end"]) == ("relationship", "KNOWS", "a", "b")
    assert rel["~properties"] == {"since": 1} and isinstance(rel["~id"], str) and rel["~id"]


def test_id_function_and_tilde_id_behave_as_on_neptune(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given a node merged by `~id`, and one created without one
    run(neptune_graph, "MERGE (n:L {`~id`: $id}) ON CREATE SET n = $props", id="m-1", props={"a": 1})
    run(neptune_graph, "CREATE (n:L {a: 2})")

    # When its properties are replaced, and nodes are found by id()
    run(neptune_graph, "MATCH (n:L) WHERE id(n) = $id SET n = $props", id="m-1", props={"b": 2})
    by_id = run(neptune_graph, "MATCH (n:L) WHERE id(n) = $id RETURN id(n), properties(n) AS p", id="m-1")
    generated = run(neptune_graph, "MATCH (n:L {a: 2}) RETURN id(n)")

    # Then `SET n = map` kept the element id, id() returns it under its own column name, and the element id is no
    # property of the node
    assert by_id == [{"id(n)": "m-1", "p": {"b": 2}}]
    assert isinstance(generated[0]["id(n)"], str) and len(generated[0]["id(n)"]) == 36
    assert run(neptune_graph, "MATCH (n:L) WHERE id(n) = 'nope' RETURN n") == []


def test_tilde_id_inside_string_literals_and_comments_is_left_alone(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given a node whose text looks like the Neptune tokens the stand-in maps
    run(neptune_graph, "CREATE (n:L {`~id`: 'x', t: 'id(n) SET n = {}'}) // id(n)")

    # When it is matched by that literal text
    rows = run(neptune_graph, "MATCH (n:L) WHERE n.t = 'id(n) SET n = {}' RETURN n.t AS t, id(n) AS i")

    # Then the literal travelled unchanged
    assert rows == [{"t": "id(n) SET n = {}", "i": "x"}]


def test_parameterised_limited_detach_delete_deletes_exactly_that_many(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given five nodes of one user with relationships, and three of another
    for i in range(5):
        run(neptune_graph, "CREATE (:L {user_id: $u, i: $i})-[:R]->(:Other {user_id: $u})", u="alice", i=i)
    for i in range(3):
        run(neptune_graph, "CREATE (:L {user_id: $u, i: $i})", u="bob", i=i)

    # When two of alice's L nodes are deleted
    run(neptune_graph, "MATCH (n:L) WHERE n.user_id = $u WITH n LIMIT 2 DETACH DELETE n", u="alice")

    # Then exactly two went, with their relationships, and bob's are intact
    counts = neptune_graph.cypher("MATCH (n:L) RETURN n.user_id AS u, count(n) AS c ORDER BY u")
    assert counts == [{"u": "alice", "c": 3}, {"u": "bob", "c": 3}]
    assert neptune_graph.cypher("MATCH ()-[r:R]->() RETURN count(r) AS c") == [{"c": 3}]


def test_injected_conflict_surfaces_as_boto3_conflict_exception_then_clears(
    neptune_graph: NeptuneGraphStandIn,
) -> None:
    # Given the next request will fail with a concurrent modification
    client = neptune_graph.client()
    neptune_graph.fail_next("ConflictException", 1)

    # When a query is sent twice
    with pytest.raises(client.exceptions.ConflictException) as raised:
        client.execute_query(graphIdentifier=neptune_graph.graph_id, queryString="RETURN 1", language="OPEN_CYPHER")
    second = client.execute_query(
        graphIdentifier=neptune_graph.graph_id, queryString="RETURN 1 AS one", language="OPEN_CYPHER"
    )

    # Then the first raised boto3's modelled ConflictException (409, reason), and the second ran
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert raised.value.response["reason"] == "CONCURRENT_MODIFICATION"
    assert json.loads(second["payload"].read())["results"] == [{"one": 1}]
    assert neptune_graph.requests == 2


def test_injected_throttling_is_retried_by_botocore_itself_unless_retries_are_off(
    neptune_graph: NeptuneGraphStandIn,
) -> None:
    # Given throttling on the next request
    neptune_graph.fail_next("ThrottlingException", 1)

    # When a default client and a client without retries each send a query
    run(neptune_graph, "RETURN 1")
    neptune_graph.fail_next("ThrottlingException", 1)
    no_retries = neptune_graph.client(retries={"total_max_attempts": 1, "mode": "standard"})
    with pytest.raises(no_retries.exceptions.ThrottlingException):
        no_retries.execute_query(graphIdentifier=neptune_graph.graph_id, queryString="RETURN 1", language="OPEN_CYPHER")

    # Then botocore retried the throttled request by itself (two requests), the other surfaced it (one request)
    assert neptune_graph.requests == 3


def test_bad_query_and_unknown_graph_are_refused_in_aws_error_shapes(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given a client
    client = neptune_graph.client()

    # When a malformed query and a query to an unknown graph are sent
    with pytest.raises(client.exceptions.ValidationException) as malformed:
        client.execute_query(
            graphIdentifier=neptune_graph.graph_id, queryString="MATCH (n RETURN", language="OPEN_CYPHER"
        )
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.execute_query(graphIdentifier="g-nosuchgraph", queryString="RETURN 1", language="OPEN_CYPHER")

    # Then they are AWS's modelled errors
    assert malformed.value.response["reason"] == "MALFORMED_QUERY"


def test_mem0_neptune_analytics_vector_round_trips_50_memories_exactly(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given 50 memories of two users with quotes, backslashes and unicode, written by mem0's own class
    rng = random.Random(3)
    memories = [
        memory(f"{TRICKY[i % len(TRICKY)]} #{i}", rng, user_id=("ann" if i % 2 else "o'brien\\"), agent_id="agent-a")
        for i in range(50)
    ]
    store = mem0_neptune.memories_store(neptune_graph.graph_id)
    mem0_neptune.write(store, memories, batch=20)

    # When they are read back with mem0's get, list (with its spliced, escaped filter) and delete
    listed = mem0_neptune.contents(store)
    got = store.get(memories[7].id)
    obriens = store.list(filters={"user_id": "o'brien\\"})[0]
    store.delete(memories[0].id)

    # Then every payload came back exactly (mem0 overwrites updated_at with epoch seconds) and delete removed one
    assert set(listed) == {m.id for m in memories}
    for m in memories:
        assert {k: v for k, v in listed[m.id].items() if k != "updated_at"} == {
            k: v for k, v in m.payload.items() if k != "updated_at"
        }
        assert listed[m.id]["updated_at"].isdigit()
    assert got is not None and got.payload["data"] == memories[7].payload["data"]
    assert len(obriens) == 25
    assert len(mem0_neptune.contents(store)) == 49
    assert store.get(memories[0].id) is None


def test_mem0_entity_store_writes_its_own_label_beside_the_memories(neptune_graph: NeptuneGraphStandIn) -> None:
    # Given a memory and an entity record written by mem0's two stores
    mem = memory("Alice likes tea", user_id="alice")
    mem0_neptune.write(mem0_neptune.memories_store(neptune_graph.graph_id), [mem])
    mem0_neptune.write(mem0_neptune.entity_store(neptune_graph.graph_id), [entity("Alice", [mem.id], user_id="alice")])

    # When the graph's labels are read
    rows = neptune_graph.cypher("MATCH (n) RETURN labels(n) AS l, n.linked_memory_ids AS links ORDER BY l")

    # Then the entity node has mem0's entities label and keeps its list-valued links
    assert rows == [
        {"l": [mem0_neptune.label()], "links": None},
        {"l": [mem0_neptune.label(entities=True)], "links": [mem.id]},
    ]
    assert mem0_neptune.label(entities=True) == "MEM0_VECTOR_mem0_entities"


@pytest.mark.parametrize("base_label", [True, False])
def test_mem0_v1_graph_statements_write_entities_of_several_users(
    neptune_graph: NeptuneGraphStandIn, base_label: bool
) -> None:
    # Given mem0 1.0.11's own statements writing graph data for three users, including mem0's default "user"
    written = write_graph(neptune_graph.graph_id, ["alice", "bob", "user"], per_user=3, base_label=base_label)

    # When the graph is read back
    nodes = neptune_graph.cypher("MATCH (n) RETURN n.user_id AS u, n.name AS name, labels(n) AS l, keys(n) AS k")
    rels = neptune_graph.cypher("MATCH (a)-[r]->(b) RETURN a.user_id AS ua, b.user_id AS ub, keys(r) AS k")

    # Then each user has their entities with mem0's properties, labelled as mem0 labels them, and relationships only
    # between one user's nodes, without a user id
    assert {u: {r["name"] for r in nodes if r["u"] == u} for u in written.names} == written.names
    assert all({"name", "user_id", "mentions", "created", "updated", "~id"} <= set(r["k"]) for r in nodes)
    assert all(("__Entity__" in r["l"]) == base_label and len(r["l"]) == (2 if base_label else 1) for r in nodes)
    assert len(rels) == len(written.triples) == 12
    assert all(r["ua"] == r["ub"] and "user_id" not in r["k"] for r in rels)


def test_mem0_v1_delete_all_statement_removes_one_users_nodes_and_relationships(
    neptune_graph: NeptuneGraphStandIn,
) -> None:
    # Given two users' mem0 1.x graph data
    write_graph(neptune_graph.graph_id, ["alice", "bob"], per_user=2)

    # When mem0 1.0.11's delete_all statement runs for alice (neptunegraph.py:406-409)
    run(neptune_graph, "MATCH (n :`__Entity__` {user_id: $user_id}) DETACH DELETE n", user_id="alice")

    # Then only bob's nodes and relationships remain
    assert neptune_graph.cypher("MATCH (n) RETURN DISTINCT n.user_id AS u") == [{"u": "bob"}]
    assert neptune_graph.cypher("MATCH ()-[r]->() RETURN count(r) AS c") == [{"c": 3}]


def test_gremlite_graph_drops_one_users_vertices_with_their_edges(gremlin_graph: GremlinGraph) -> None:
    # Given a mem0-1.x-shaped graph of three users, and an edge across two users
    g = gremlin_graph.g
    written = write_mem0_graph(g, ["alice", "bob", "user"], per_user=4)
    add_edge(g, written.vertices["bob"][0], "knows", written.vertices["alice"][0])

    # When alice's vertices are counted and dropped
    before = g.V().has("user_id", "alice").count().next()
    g.V().has("user_id", "alice").drop().iterate()

    # Then her vertices and every edge touching them are gone; the others are intact
    assert before == 4
    assert g.V().has("user_id", "alice").count().next() == 0
    assert g.V().has("user_id", "bob").count().next() == 4 and g.V().has("user_id", "user").count().next() == 4
    assert g.E().count().next() == 6
    assert g.V(written.vertices["bob"][0]).value_map("name", "user_id", "mentions").next()["user_id"] == ["bob"]


def test_websocket_recorder_accepts_gremlin_upgrades_and_records_their_headers(
    websocket_handshakes: HandshakeRecorder,
) -> None:
    # Given a client that sends signed-looking handshake headers
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=x/neptune-db/aws4_request",
        "X-Amz-Date": "20260101T000000Z",
    }

    # When it opens a WebSocket on /gremlin, and another client tries another path
    with connect(websocket_handshakes.url, additional_headers=headers) as ws:
        ws.send("{}")
    with pytest.raises(Exception, match="404"):
        connect(websocket_handshakes.url.replace("/gremlin", "/other"))

    # Then both handshakes were recorded with their headers
    first = websocket_handshakes.handshakes[0]
    assert first["Authorization"] == headers["Authorization"] and first["X-Amz-Date"] == headers["X-Amz-Date"]
    assert len(websocket_handshakes.handshakes) == 2


def test_mem0_v1_new_entities_statement_with_base_label_is_refused_as_written(
    neptune_graph: NeptuneGraphStandIn,
) -> None:
    # Given mem0 1.0.11's own new-entities statement with base_label (its SET names `source`, its node is `n`)
    client = neptune_graph.client()
    cypher = _add_new_entities_cypher(":`__Entity__`", "person", "food", "likes")
    params = {"source_name": "a", "dest_name": "b", "source_embedding": [0.1], "dest_embedding": [0.2], "user_id": "u"}

    # When it is sent as mem0 sends it
    with pytest.raises(client.exceptions.ValidationException) as refused:
        client.execute_query(
            graphIdentifier=neptune_graph.graph_id, queryString=cypher, parameters=params, language="OPEN_CYPHER"
        )

    # Then the engine refuses the undefined variable and nothing was written (see MEM0_BASE_LABEL_BUG)
    assert "source" in refused.value.response["Error"]["Message"]
    assert neptune_graph.cypher("MATCH (n) RETURN count(n) AS c") == [{"c": 0}]
