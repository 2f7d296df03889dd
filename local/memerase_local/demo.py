"""`memerase demo`: sample mem0 memories in embedded stand-ins (S3 Vectors on moto, OpenSearch on osmem-server, Neptune
Analytics on its openCypher stand-in), one user erased through the CLI, before and after."""

from __future__ import annotations

import json
import os
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from rich.console import Console
from rich.table import Table

from memerase_local.demo_neptune import graph_counts, memory_counts, neptune_target, seed_neptune
from memerase_local.standins import Standins, running_standins

DIMS = 8
BUCKET = "mem0-demo"
INDEX = "mem0"
HISTORY_TABLE = "memerase-history"
console = Console()


@dataclass(frozen=True)
class DemoStores:
    """mem0's own store objects over the seeded stand-ins, to read back what they hold."""

    s3: Any
    opensearch: Any
    neptune: Any
    standins: Standins


def run_demo(cli: Callable[[list[str]], int], users: int = 4, per_user: int = 25) -> int:
    """Seed the stand-ins, then erase one user through `cli` (the `memerase` command's entry point)."""
    with running_standins() as standins:
        stores = seed_demo_memories(standins, users, per_user)
        os.environ["MEMERASE_CONFIG"] = json.dumps(
            {"targets": demo_targets(standins), "history": {"table_name": HISTORY_TABLE}}
        )
        _create_history_table()
        before = _counts(stores)
        victim = "user-1"
        console.print(f"\n[bold]memerase delete-all --user-id {victim}[/bold]")
        code = cli(["delete-all", "--user-id", victim])
        _show(before, _counts(stores))
        return code


def seed_demo_memories(standins: Standins, users: int = 4, per_user: int = 25) -> DemoStores:
    """Write sample memories with mem0ai's own vector store classes, in mem0's payload layout, into all three stores,
    and mem0 1.x graph memory for each user into the Neptune Analytics graph."""
    from mem0.vector_stores.opensearch import OpenSearchDB
    from mem0.vector_stores.s3_vectors import S3Vectors

    url = urlparse(standins.opensearch_url)
    s3 = S3Vectors(vector_bucket_name=BUCKET, collection_name=INDEX, embedding_model_dims=DIMS)
    opensearch = OpenSearchDB(
        host=url.hostname, port=url.port, collection_name=INDEX, embedding_model_dims=DIMS, auto_refresh=True
    )
    rng = random.Random(1)
    created_at = datetime.now(UTC).isoformat()  # as mem0 writes it: an erasure by age (>= 1 hour) finds none of them
    ids, vectors, payloads = [], [], []
    for u in range(users):
        for i in range(per_user):
            ids.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
            vectors.append([rng.random() for _ in range(DIMS)])
            payloads.append(
                {
                    "data": f"sample memory {i}",
                    "user_id": f"user-{u}",
                    "agent_id": "demo-agent",
                    "hash": uuid.uuid4().hex,
                    "created_at": created_at,
                }
            )
    for store in (s3, opensearch):
        store.insert(vectors=vectors, payloads=payloads, ids=ids)  # type: ignore[attr-defined]
    opensearch.client.indices.refresh(index=INDEX)  # type: ignore[attr-defined]
    neptune = seed_neptune(standins.neptune_graph_id, INDEX, (ids, vectors, payloads))
    console.print(
        f"seeded {len(ids)} mem0 memories for {users} users into S3 Vectors (moto), OpenSearch (osmem) and Neptune "
        "Analytics (openCypher stand-in), and mem0 1.x graph memory into the same Neptune graph"
    )
    return DemoStores(s3, opensearch, neptune, standins)


def demo_targets(standins: Standins) -> list[dict[str, object]]:
    url = urlparse(standins.opensearch_url)
    return [
        {
            "name": "s3",
            "partitions": 1,
            "vector_store": {
                "provider": "s3_vectors",
                "config": {  # moto: no segments
                    "vector_bucket_name": BUCKET,
                    "collection_name": INDEX,
                    "embedding_model_dims": DIMS,
                },
            },
        },
        {
            "name": "os",
            "vector_store": {
                "provider": "opensearch",
                "config": {
                    "host": url.hostname,
                    "port": url.port,
                    "collection_name": INDEX,
                    "embedding_model_dims": DIMS,
                },
            },
        },
        neptune_target(standins.neptune_graph_id, INDEX),
    ]


def _create_history_table() -> None:
    import boto3

    from memerase.history import table_schema

    boto3.client("dynamodb").create_table(**table_schema(HISTORY_TABLE))


def _counts(stores: DemoStores) -> dict[str, Counter[str]]:
    s3_rows = stores.s3.list()[0]
    stores.opensearch.client.indices.refresh(index=INDEX)
    os_rows = stores.opensearch.list(top_k=10000)[0]
    return {
        "S3 Vectors": Counter(r.payload.get("user_id") for r in s3_rows),
        "OpenSearch": Counter(r.payload.get("user_id") for r in os_rows),
        "Neptune": memory_counts(stores.neptune),
        "Neptune graph nodes": graph_counts(stores.standins.neptune),
    }


def _show(before: dict[str, Counter[str]], after: dict[str, Counter[str]]) -> None:
    table = Table(title="mem0 records per user, before -> after")
    table.add_column("user")
    for store in before:
        table.add_column(store, justify="right")
    for user in sorted(set().union(*before.values())):
        table.add_row(user, *(f"{before[s][user]} -> {after[s][user]}" for s in before))
    console.print(table)
