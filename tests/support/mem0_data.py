"""Test data written by mem0ai 2.2.1's own vector store classes, in mem0's own payload layout."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from mem0.memory.main import Memory as Mem0Memory
from mem0.vector_stores.opensearch import OpenSearchDB
from mem0.vector_stores.s3_vectors import S3Vectors
from opensearchpy import OpenSearch

from memerase.stores.opensearch import mem0_index_body
from tests.support.readback import Snapshot, opensearch_memories, s3_memories

DIMS = 8
BUCKET = "mem0-test"
INDEX = "mem0"


@dataclass(frozen=True)
class Memory:
    id: str
    payload: dict[str, Any]
    vector: list[float] = field(default_factory=list)


def mem0_payload(text: str, **scope: str | None) -> dict[str, Any]:
    """The payload mem0's `Memory._create_memory` writes."""
    now = datetime.now(UTC).isoformat()
    payload: dict[str, Any] = {k: v for k, v in scope.items() if v is not None}
    payload.update(
        data=text,
        hash=hashlib.md5(text.encode()).hexdigest(),
        created_at=now,
        updated_at=now,
        text_lemmatized=text.lower(),
    )
    return payload


def memory(text: str, rng: random.Random | None = None, **scope: str | None) -> Memory:
    rng = rng or random.Random()
    return Memory(
        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        mem0_payload(text, **scope),
        [rng.random() for _ in range(DIMS)],
    )


def entity(text: str, linked: Sequence[str], rng: random.Random | None = None, **scope: str | None) -> Memory:
    """An entity record as mem0's `Memory._upsert_entity` writes it."""
    rng = rng or random.Random()
    payload = {
        "data": text,
        "entity_type": "PERSON",
        "linked_memory_ids": list(linked),
        **{k: v for k, v in scope.items() if v},
    }
    return Memory(str(uuid.UUID(int=rng.getrandbits(128), version=4)), payload, [rng.random() for _ in range(DIMS)])


class _Embedder:
    """Stands in for mem0's embedding model: `_upsert_entity` embeds the entity text before it looks for a record."""

    def embed(self, text: str, memory_action: str | None = None) -> list[float]:
        return [random.Random(text).random() for _ in range(DIMS)]


def link_entity(entity_store: Any, text: str, memory_id: str, **scope: str) -> None:
    """mem0 2.2.1's own `Memory._upsert_entity`, as `add(**scope)` runs it for an entity `text` of memory `memory_id`:
    it lists the entity records with the add's own filters (so an add for a user finds a record of that user and any
    agent), and appends the memory id to the one with the same text. (A new entity is found by a vector search first,
    which the stand-ins do not serve: write new records with `entity`.) mem0 swallows its own errors: callers check
    the link."""
    memory = Mem0Memory.__new__(Mem0Memory)  # only what `_upsert_entity` uses: the entity store and an embedder
    memory._entity_store = entity_store
    memory.embedding_model = _Embedder()
    memory._upsert_entity(text, "PERSON", memory_id, dict(scope))


def dataset(
    users: int,
    per_user: int,
    seed: int = 7,
    agents: Sequence[str | None] = ("agent-a", None),
    runs: Sequence[str | None] = ("run-1", "run-2", None),
) -> list[Memory]:
    rng = random.Random(seed)
    return [
        memory(
            f"memory {i} of user-{u}", rng, user_id=f"user-{u}", agent_id=rng.choice(agents), run_id=rng.choice(runs)
        )
        for u in range(users)
        for i in range(per_user)
    ]


def s3_store(bucket: str = BUCKET, index: str = INDEX, dims: int = DIMS) -> S3Vectors:
    return S3Vectors(vector_bucket_name=bucket, collection_name=index, embedding_model_dims=dims)


def opensearch_store(url: str, index: str = INDEX, dims: int = DIMS, fast_create: bool = True) -> OpenSearchDB:
    """mem0's OpenSearchDB. `fast_create` creates the same index body first, skipping mem0's 1 s readiness wait."""
    parsed = urlparse(url)
    if fast_create:
        client = OpenSearch(hosts=[url])
        if not client.indices.exists(index=index):
            client.indices.create(index=index, body=mem0_index_body(dims))
    return OpenSearchDB(
        host=parsed.hostname,
        port=parsed.port,
        collection_name=index,
        embedding_model_dims=dims,
        use_ssl=False,
        verify_certs=False,
        auto_refresh=False,
    )


def write(store: S3Vectors | OpenSearchDB, memories: Iterable[Memory], batch: int = 500) -> None:
    """Insert through mem0's own `insert` (in S3 Vectors' 500-vector batches)."""
    items = list(memories)
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        store.insert(vectors=[m.vector for m in chunk], payloads=[m.payload for m in chunk], ids=[m.id for m in chunk])
    if isinstance(store, OpenSearchDB):
        store.client.indices.refresh(index=store.collection_name)


def seed(osmem_url: str, memories: Sequence[Memory]) -> tuple[S3Vectors, OpenSearchDB]:
    """mem0's own S3 Vectors and OpenSearch stores (default collections), `memories` written into both."""
    s3, os_ = s3_store(), opensearch_store(osmem_url)
    write(s3, memories)
    write(os_, memories)
    return s3, os_


def s3_contents(store: S3Vectors) -> Snapshot:
    """Every memory id with its payload in mem0's S3 Vectors index."""
    return s3_memories(store.vector_bucket_name, store.collection_name, store.client)


def opensearch_contents(store: OpenSearchDB) -> Snapshot:
    """Every memory id with its payload in mem0's OpenSearch index."""
    return opensearch_memories(store.client, store.collection_name)
