"""Entity unlinking: mem0's `_remove_memory_from_entity_store`, confined to scope, planned then applied.

An erased memory's id is stripped only from entity records inside that memory's own scope (every user/agent/run
field the memory carries, the record carries with the same value: what mem0's own search by the memory's filters
finds) and, for a scoped caller, inside the caller's scopes; a record left with no link is deleted. Any other record
that links an erased memory is left alone and counted: memerase never rewrites or deletes another scope's record.
Every erasure of memories unlinks: by id, by age/expiry criteria (which leave the entity collection to the scope's
other memories) and by scope. A scope erasure cannot simply delete its scope's records: one inside the erased scope
may also link memories outside it (mem0 links a {user} memory to a {user, agent} record), so its entity pass deletes
only the records of the scope no stored memory outside the scope links (`entity_sweep`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from memerase.models import ENTITY_KEYS, Scope, payload_matches
from memerase.observability import logger
from memerase.stores.base import EntityCollection, Record


@dataclass
class UnlinkPlan:
    rewrites: list[tuple[Record, dict[str, Any]]] = field(default_factory=list)
    deletions: list[Record] = field(default_factory=list)
    left_alone: int = 0  # records linking an erased memory from outside its scope (or the caller's)


def memory_scope(payload: Mapping[str, Any]) -> dict[str, str]:
    """The user/agent/run fields a memory carries."""
    return {k: v for k in ENTITY_KEYS if isinstance(v := payload.get(k), str) and v}


def plan_unlink(
    entities: EntityCollection, erased: Sequence[Record], allowed: Sequence[Scope] | None = None
) -> UnlinkPlan:
    """Collect what to rewrite and what to delete; nothing is written."""
    scopes = {r.memory_id: memory_scope(r.payload) for r in erased}
    plan = UnlinkPlan()
    for record in entities.list_linking(set(scopes)):
        if allowed is not None and not any(s.matches(record.payload) for s in allowed):
            plan.left_alone += 1
            continue
        linked = record.payload.get("linked_memory_ids", [])
        mine = {m for m in linked if m in scopes and scopes[m] and payload_matches(record.payload, scopes[m])}
        if not mine:
            plan.left_alone += 1
            continue
        remaining = [m for m in linked if m not in mine]
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


def unlink(entities: EntityCollection | None, erased: Sequence[Record], allowed: Sequence[Scope] | None = None) -> int:
    """Strip erased memories from the entity records of their scope (and of the caller's scopes, `allowed`; None for
    an admin); returns how many linking records were left alone because they lie outside them."""
    if entities is None or not erased:
        return 0
    plan = plan_unlink(entities, erased, allowed)
    apply_unlink(entities, plan)
    if plan.left_alone:
        logger.info("entity records of other scopes left alone", extra={"count": plan.left_alone})
    return plan.left_alone
