"""mem0ai 2.2.1's own `Memory` add/update/delete paths, without an LLM: what they write to mem0's history database.

`Memory.__init__` builds an LLM and an embedder from a configuration; neither is needed by `add(..., infer=False)`
(`_add_to_vector_store`), `_update_memory` or `_delete_memory` except the embedder's `embed`, so the `Memory` here is
assembled from mem0's own vector store (S3 Vectors over moto) and mem0's own `SQLiteManager`, with a fixed embedder.
"""

from __future__ import annotations

import random
from typing import Any

from mem0.memory.main import Memory
from mem0.memory.storage import SQLiteManager

from tests.support import mem0_data as m0


class FixedEmbedder:
    """A deterministic embedding per text (mem0 stores it; nothing here searches by it)."""

    def embed(self, text: str, memory_action: str | None = None) -> list[float]:
        rng = random.Random(text)
        return [rng.random() for _ in range(m0.DIMS)]


def mem0_memory(history_db_path: str) -> Memory:
    """mem0's `Memory` over mem0's S3 Vectors store (needs moto, e.g. the `s3_limits` fixture) and this history file."""
    memory: Any = Memory.__new__(Memory)
    memory.embedding_model = FixedEmbedder()
    memory.vector_store = m0.s3_store()
    memory.db = SQLiteManager(history_db_path)
    memory._entity_store = None  # mem0 builds it lazily; never initialised here, so entity cleanup is skipped
    return memory


def add_said_by(memory: Memory, text: str, name: str, **scope: str) -> str:
    """mem0's `add([{"role": "user", "content": text, "name": name}], infer=False, **scope)` path: the message's
    `name` becomes `actor_id` in the payload and in the ADD history row. Returns the memory id."""
    message = {"role": "user", "content": text, "name": name}
    [added] = memory._add_to_vector_store([message], dict(scope), dict(scope), infer=False)
    return str(added["id"])


def update(memory: Memory, memory_id: str, text: str) -> None:
    """mem0's `update(memory_id, text)` path (`_update_memory`): an UPDATE row carrying the payload's speaker."""
    memory._update_memory(memory_id, text, {text: memory.embedding_model.embed(text)})
