"""Entity unlinking: mem0's `_remove_memory_from_entity_store`, planned then applied.

Erased memory ids are stripped from the entity records that link them; a record left with no link is deleted.
Records of the scope being erased (`leave`) are left alone: the erasure's entity pass deletes them, and rewriting one
here could put it back after that pass deleted it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from memerase.models import payload_matches
from memerase.stores.base import EntityCollection, Filters, Record


@dataclass
class UnlinkPlan:
    rewrites: list[tuple[Record, dict[str, Any]]] = field(default_factory=list)
    deletions: list[Record] = field(default_factory=list)


def plan_unlink(entities: EntityCollection, memory_ids: Sequence[str], leave: Filters | None = None) -> UnlinkPlan:
    """Collect what to rewrite and what to delete; nothing is written."""
    erased = set(memory_ids)
    plan = UnlinkPlan()
    for record in entities.list_linking(erased):
        if leave and payload_matches(record.payload, leave):
            continue
        remaining = [m for m in record.payload.get("linked_memory_ids", []) if m not in erased]
        if remaining:
            plan.rewrites.append((record, {**record.payload, "linked_memory_ids": remaining}))
        else:
            plan.deletions.append(record)
    return plan


def apply_unlink(entities: EntityCollection, plan: UnlinkPlan) -> None:
    for record, payload in plan.rewrites:
        entities.replace_payload(record, payload)
    for i in range(0, len(plan.deletions), entities.batch_size):
        entities.delete_batch([r.native_id for r in plan.deletions[i : i + entities.batch_size]])


def unlink(entities: EntityCollection | None, memory_ids: Sequence[str], leave: Filters | None = None) -> None:
    if entities is not None and memory_ids:
        apply_unlink(entities, plan_unlink(entities, memory_ids, leave))
