"""mem0 1.x graph memory on Neptune Analytics, written with mem0ai 1.0.11's own openCypher statements (tests, demo).

mem0 1.x (`graph_store` provider `neptune`) is not importable beside mem0ai 2.2.1, so its statements are copied here
verbatim from the mem0ai 1.0.11 wheel, `mem0/graphs/neptune/neptunegraph.py` (`MemoryGraph`), with the parameters
mem0 passes, and sent the way mem0 sends them: langchain-aws's `NeptuneAnalyticsGraph.query` (neptunegraph.py:23),
i.e. boto3 `neptune-graph` `execute_query`. `node_label` is ``:`__Entity__` `` with `base_label` (neptunegraph.py:29),
otherwise each node gets its entity type as its only label. Entity types default to `__User__` (base.py:225).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_aws import NeptuneAnalyticsGraph

ENTITY_TYPES = ("person", "organization", "location", "food", "__User__")
RELATIONSHIPS = ("knows", "works_at", "lives_in", "likes")
DIMS = 8
MEM0_BASE_LABEL_BUG = """With `base_label`, mem0 1.0.11's `_add_new_entities_cypher` appends `, source:`<type>`` and
`, destination:`<type>`` to its SET clauses, but its node variables there are `n` and `m`: openCypher refuses the
statement (`'source' not defined`). So mem0 1.x with `base_label: true` cannot create the first entities of a user
on an engine that checks variables (unverified on real Neptune). `write_graph(base_label=True)` sends that one
statement with the variables corrected (`n:`, `m:`), which is what mem0 evidently meant; every other statement is
sent as mem0 wrote it."""


def _add_new_entities_cypher(node_label: str, source_type: str, destination_type: str, relationship: str) -> str:
    """neptunegraph.py:274-311 (`MemoryGraph._add_new_entities_cypher`), verbatim."""
    source_label = node_label if node_label else f":`{source_type}`"
    source_extra_set = f", source:`{source_type}`" if node_label else ""
    destination_label = node_label if node_label else f":`{destination_type}`"
    destination_extra_set = f", destination:`{destination_type}`" if node_label else ""

    cypher = f"""
            MERGE (n {source_label} {{name: $source_name, user_id: $user_id}})
            ON CREATE SET n.created = timestamp(),
                          n.updated = timestamp(),
                          n.mentions = 1
                          {source_extra_set}
            ON MATCH SET 
                        n.mentions = coalesce(n.mentions, 0) + 1,
                        n.updated = timestamp()
            WITH n, $source_embedding as source_embedding
            CALL neptune.algo.vectors.upsert(n, source_embedding)
            WITH n
            MERGE (m {destination_label} {{name: $dest_name, user_id: $user_id}})
            ON CREATE SET 
                        m.created = timestamp(),
                        m.updated = timestamp(),
                        m.mentions = 1
                        {destination_extra_set}
            ON MATCH SET 
                        m.updated = timestamp(),
                        m.mentions = coalesce(m.mentions, 0) + 1
            WITH n, m, $dest_embedding as dest_embedding
            CALL neptune.algo.vectors.upsert(m, dest_embedding)
            WITH n, m
            MERGE (n)-[rel:{relationship}]->(m)
            ON CREATE SET 
                        rel.created = timestamp(),
                        rel.updated = timestamp(),
                        rel.mentions = 1
            ON MATCH SET 
                        rel.updated = timestamp(),
                        rel.mentions = coalesce(rel.mentions, 0) + 1
            RETURN n.name AS source, type(rel) AS relationship, m.name AS target
            """  # noqa: W291 - mem0's own text, trailing spaces included
    return cypher


def _add_entities_by_source_cypher(node_label: str, destination_type: str, relationship: str) -> str:
    """neptunegraph.py:95-124 (`MemoryGraph._add_entities_by_source_cypher`), verbatim."""
    destination_label = node_label if node_label else f":`{destination_type}`"
    destination_extra_set = f", destination:`{destination_type}`" if node_label else ""

    cypher = f"""
                MATCH (source {{user_id: $user_id}})
                WHERE id(source) = $source_id
                SET source.mentions = coalesce(source.mentions, 0) + 1
                WITH source
                MERGE (destination {destination_label} {{name: $destination_name, user_id: $user_id}})
                ON CREATE SET
                    destination.created = timestamp(),
                    destination.updated = timestamp(),
                    destination.mentions = 1
                    {destination_extra_set}
                ON MATCH SET
                    destination.mentions = coalesce(destination.mentions, 0) + 1,
                    destination.updated = timestamp()
                WITH source, destination, $dest_embedding as dest_embedding
                CALL neptune.algo.vectors.upsert(destination, dest_embedding)
                WITH source, destination
                MERGE (source)-[r:{relationship}]->(destination)
                ON CREATE SET 
                    r.created = timestamp(),
                    r.updated = timestamp(),
                    r.mentions = 1
                ON MATCH SET
                    r.mentions = coalesce(r.mentions, 0) + 1,
                    r.updated = timestamp()
                RETURN source.name AS source, type(r) AS relationship, destination.name AS target
                """  # noqa: W291 - mem0's own text, trailing spaces included
    return cypher


@dataclass
class GraphWrite:
    """What was written: per user, the entity names; and the (source, relationship, target) triples."""

    names: dict[str, set[str]] = field(default_factory=dict)
    triples: list[tuple[str, str, str, str]] = field(default_factory=list)  # (user, source, relationship, target)


def write_graph(
    graph_id: str, users: Sequence[str], per_user: int = 3, base_label: bool = True, seed: int = 5
) -> GraphWrite:
    """Per user: `per_user` new-entity triples (mem0's `_add_new_entities_cypher`), then one more relationship from
    the user's first entity found by `id()` (mem0's `_add_entities_by_source_cypher`). Users may include "user",
    mem0's stand-in for data added without a user id."""
    graph = NeptuneAnalyticsGraph(graph_identifier=graph_id)
    node_label = ":`__Entity__`" if base_label else ""
    rng = random.Random(seed)
    written = GraphWrite()

    def embedding() -> list[float]:
        return [rng.random() for _ in range(DIMS)]

    for user in users:
        names = written.names.setdefault(user, set())
        for i in range(per_user):
            source, target, rel = f"{user} entity {i}", f"{user} entity {i + 1}", rng.choice(RELATIONSHIPS)
            cypher = _add_new_entities_cypher(node_label, rng.choice(ENTITY_TYPES), rng.choice(ENTITY_TYPES), rel)
            if base_label:  # mem0's own text names undefined variables here (see MEM0_BASE_LABEL_BUG)
                cypher = cypher.replace(", source:`", ", n:`").replace(", destination:`", ", m:`")
            params: dict[str, Any] = {
                "source_name": source,
                "dest_name": target,
                "source_embedding": embedding(),
                "dest_embedding": embedding(),
                "user_id": user,
            }
            graph.query(cypher, params=params)
            names |= {source, target}
            written.triples.append((user, source, rel, target))
        first = f"{user} entity 0"
        found: Any = graph.query(  # a list of rows (langchain-aws types it as a dict)
            "MATCH (n {name: $name, user_id: $user_id}) RETURN id(n)", params={"name": first, "user_id": user}
        )
        target, rel = f"{user} extra", rng.choice(RELATIONSHIPS)
        params = {
            "source_id": found[0]["id(n)"],
            "destination_name": target,
            "dest_embedding": embedding(),
            "user_id": user,
        }
        graph.query(_add_entities_by_source_cypher(node_label, rng.choice(ENTITY_TYPES), rel), params=params)
        names.add(target)
        written.triples.append((user, first, rel, target))
    return written
