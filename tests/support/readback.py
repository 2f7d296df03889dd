"""What the stores hold, read back directly over their wire protocols (never through memerase): the one read-back
the tests and the benchmarks share. A snapshot maps each memory id to its payload, as one store holds it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3
from opensearchpy import OpenSearch

Snapshot = dict[str, dict[str, Any]]  # memory id -> payload
PAGE = 1_000


def s3_memories(bucket: str, index: str, client: Any = None) -> Snapshot:
    """Every vector of an S3 Vectors index with its metadata (ListVectors, every page)."""
    s3vectors = client if client is not None else boto3.client("s3vectors")
    found: Snapshot = {}
    for page in s3vectors.get_paginator("list_vectors").paginate(
        vectorBucketName=bucket, indexName=index, returnMetadata=True
    ):
        found.update({v["key"]: dict(v.get("metadata") or {}) for v in page.get("vectors", [])})
    return found


def opensearch_memories(client: OpenSearch, index: str) -> Snapshot:
    """Every mem0 document of an OpenSearch index with its payload, after a refresh (search_after on mem0's `id`
    keyword, so any size)."""
    client.indices.refresh(index=index)
    found: Snapshot = {}
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {
            "size": PAGE,
            "query": {"match_all": {}},
            "_source": ["id", "payload"],
            "sort": [{"id": "asc"}],
        }
        if after is not None:
            body["search_after"] = after
        hits = client.search(index=index, body=body)["hits"]["hits"]
        found.update({h["_source"]["id"]: h["_source"]["payload"] for h in hits})
        if len(hits) < PAGE:
            return found
        after = hits[-1]["sort"]


def neptune_memories(client: Any, graph_id: str, collection: str) -> Snapshot:
    """Every mem0 2.x memory node of a Neptune Analytics graph (label `MEM0_VECTOR_<collection>`) with its properties,
    read with boto3's `neptune-graph` ExecuteQuery (mem0's `label` property left out, as mem0's own `list` does)."""
    label = f"MEM0_VECTOR_{collection}".replace("`", "``")
    answer = client.execute_query(
        graphIdentifier=graph_id, queryString=f"MATCH (n:`{label}`) RETURN n", language="OPEN_CYPHER"
    )
    rows = json.loads(answer["payload"].read())["results"]
    found: Snapshot = {}
    for row in rows:
        properties = dict(row["n"]["~properties"])
        properties.pop("label", None)
        found[row["n"]["~id"]] = properties
    return found


@dataclass(frozen=True)
class Stores:
    """What the stores hold at one moment (Neptune only where a test reads it)."""

    s3: Snapshot
    opensearch: Snapshot
    neptune: Snapshot = field(default_factory=dict)

    def ids(self) -> set[str]:
        return set(self.s3) | set(self.opensearch) | set(self.neptune)

    def matching(self, **filters: str) -> set[str]:
        """Ids of the memories whose payload (in either store) has all these values."""
        return {
            memory_id
            for snapshot in (self.s3, self.opensearch, self.neptune)
            for memory_id, payload in snapshot.items()
            if all(payload.get(k) == v for k, v in filters.items())
        }

    def without(self, gone: set[str]) -> Stores:
        return Stores(
            {k: v for k, v in self.s3.items() if k not in gone},
            {k: v for k, v in self.opensearch.items() if k not in gone},
            {k: v for k, v in self.neptune.items() if k not in gone},
        )
