"""What the stores hold, read back directly over their wire protocols (never through memerase): the one read-back
the tests and the benchmarks share. A snapshot maps each memory id to its payload, as one store holds it."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Stores:
    """What both stores hold at one moment."""

    s3: Snapshot
    opensearch: Snapshot

    def ids(self) -> set[str]:
        return set(self.s3) | set(self.opensearch)

    def matching(self, **filters: str) -> set[str]:
        """Ids of the memories whose payload (in either store) has all these values."""
        return {
            memory_id
            for snapshot in (self.s3, self.opensearch)
            for memory_id, payload in snapshot.items()
            if all(payload.get(k) == v for k, v in filters.items())
        }

    def without(self, gone: set[str]) -> Stores:
        return Stores(
            {k: v for k, v in self.s3.items() if k not in gone},
            {k: v for k, v in self.opensearch.items() if k not in gone},
        )
