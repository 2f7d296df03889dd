"""The store catalog: every collection the engine erases from, by target and role."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from memerase.criteria import CRITERIA_NOT_APPLICABLE, Selection
from memerase.engine.entity_sweep import EntitySweep
from memerase.errors import InvalidRequest, UnknownTarget
from memerase.stores.base import ScopeCollection
from memerase.stores.factory import TargetStores

MEMORIES = "memories"
ENTITIES = "entities"


@dataclass(frozen=True)
class StoreRef:
    """One collection of one target, as the job's work items name it."""

    target: str
    role: str  # MEMORIES | ENTITIES | a graph role ("graph", "graph_embeddings")


def not_applicable(ref: StoreRef, store: ScopeCollection, selection: Selection) -> str | None:
    """Why a collection is left alone for this selection, or None. Age and expiry criteria read a memory's mem0
    `created_at`/`expiration_date`: entity and graph records carry neither, so a selection with criteria leaves them
    alone (never widened to their whole scope)."""
    if selection.criteria.present and ref.role != MEMORIES:
        return CRITERIA_NOT_APPLICABLE
    return store.not_applicable(selection)


class StoreCatalog:
    def __init__(self, targets: Sequence[TargetStores]):
        self._targets = {t.name: t for t in targets}

    def targets(self) -> Iterable[TargetStores]:
        return self._targets.values()

    def target(self, name: str) -> TargetStores:
        try:
            return self._targets[name]
        except KeyError:
            raise UnknownTarget(f"unknown target {name!r}; configured: {', '.join(self._targets)}") from None

    def stores(self) -> Iterable[tuple[StoreRef, ScopeCollection]]:
        """Every collection: each target's memories, then its entities where they exist (as a scope erasure sees
        them: see `entity_sweep`), then its graph data. An inline erasure runs them in this order."""
        for name, target in self._targets.items():
            yield StoreRef(name, MEMORIES), target.memories
            if target.entities is not None:
                yield StoreRef(name, ENTITIES), EntitySweep(target.entities, target.memories)
            for role, graph in target.graph:
                yield StoreRef(name, role), graph

    def store(self, ref: StoreRef) -> ScopeCollection:
        target = self.target(ref.target)
        store: ScopeCollection | None
        if ref.role == MEMORIES:
            store = target.memories
        elif ref.role == ENTITIES:
            store = EntitySweep(target.entities, target.memories) if target.entities is not None else None
        else:
            store = next((graph for role, graph in target.graph if role == ref.role), None)
        if store is None:
            raise InvalidRequest(f"target {ref.target!r} has no {ref.role} collection")
        return store
