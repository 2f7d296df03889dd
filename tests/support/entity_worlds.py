"""One mem0 2.x target per store that keeps an entity collection (S3 Vectors, OpenSearch, Neptune Analytics): mem0's
own memories and entity stores over the store's stand-in, memerase's target stores over the same collections, and the
two ways memerase erases a scope from them (inline, and as a job's work items)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from memerase.engine import Eraser, PartitionProgress
from memerase.engine.bulk import selection_for
from memerase.engine.catalog import ENTITIES, not_applicable
from memerase.models import Scope
from memerase.stores.base import Partition
from memerase.stores.factory import TargetStores, entity_collection_name
from tests.support import mem0_data as m0
from tests.support import mem0_neptune
from tests.support.neptune_targets import target_stores
from tests.support.readback import Snapshot
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.targets import os_target, s3_target

STORES = ("s3_vectors", "opensearch", "neptune")


def _no_limits() -> None:
    return None


@dataclass
class EntityWorld:
    """`memories`/`entities`: mem0's own vector stores; `target()`: memerase's stores over the same collections."""

    name: str
    memories: Any
    entities: Any
    target: Callable[[], TargetStores]
    read: Callable[[Any], Snapshot]  # every record of one of the two mem0 stores: id -> payload
    insert: Callable[[Any, list[m0.Memory]], None] = m0.write  # through mem0's own `insert`
    strict: Callable[[], object] = field(default=_no_limits)  # the store's AWS limits from now on (S3 Vectors)

    def write(self, memories: Iterable[m0.Memory], records: Iterable[m0.Memory]) -> None:
        self.insert(self.memories, list(memories))
        self.insert(self.entities, list(records))

    def link(self, text: str, memory_id: str, **scope: str) -> None:
        """mem0's own `_upsert_entity`, as `add(**scope)` links an entity of its memory."""
        m0.link_entity(self.entities, text, memory_id, **scope)

    def memory_ids(self) -> set[str]:
        return set(self.read(self.memories))

    def entity_records(self) -> Snapshot:
        return self.read(self.entities)


def s3_world(stack: ExitStack) -> EntityWorld:
    """Needs the `aws` fixture: mem0 writes (and links, listing with `maxResults` 10,000) on plain moto; `strict()`
    then makes moto enforce AWS's limits for memerase."""
    entities = entity_collection_name("s3_vectors", m0.INDEX)
    return EntityWorld(
        "s3_vectors",
        m0.s3_store(),
        m0.s3_store(index=entities),
        s3_target,
        m0.s3_contents,
        strict=lambda: stack.enter_context(S3VectorsLimits()),
    )


def opensearch_world(url: str) -> EntityWorld:
    entities = entity_collection_name("opensearch", m0.INDEX)
    return EntityWorld(
        "opensearch",
        m0.opensearch_store(url),
        m0.opensearch_store(url, index=entities),
        lambda: os_target(url),
        m0.opensearch_contents,
    )


def neptune_world(graph_id: str) -> EntityWorld:
    return EntityWorld(
        "neptune",
        mem0_neptune.memories_store(graph_id),
        mem0_neptune.entity_store(graph_id),
        lambda: target_stores(graph_id),
        mem0_neptune.contents,
        insert=mem0_neptune.write,
    )


def erase_as_job(eraser: Eraser, scope: Scope, max_passes: int = 3) -> list[int]:
    """What an erasure job does with a scope: one work item per partition of each collection it applies to, each
    run to its end through `PartitionRunner.erase`, pass after pass until a pass finds nothing (the job's
    verification). The job's workers run the items in parallel; here the entity items go first, while the memories
    they link still exist. Returns what each pass found."""
    selection = selection_for(scope, None)
    found: list[int] = []
    for _ in range(max_passes):
        items = [
            (ref, Partition(i, store.partitions()))
            for ref, store in eraser.stores()
            if not not_applicable(ref, store, selection)
            for i in range(store.partitions())
        ]
        items.sort(key=lambda item: item[0].role != ENTITIES)
        states = [eraser.runner.erase(ref, selection, partition, PartitionProgress()) for ref, partition in items]
        assert all(s.done for s in states)
        found.append(sum(s.matched for s in states))
        if not found[-1]:
            break
    return found
