"""The engine's one entry point, wiring its parts: the store catalog, deletion by id, the partition run, the inline
bulk delete, reset and the read side. It knows stores only by their roles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from memerase.criteria import Criteria
from memerase.engine.bulk import ScopeEraser
from memerase.engine.by_id import ByIdDeleter
from memerase.engine.catalog import StoreCatalog, StoreRef
from memerase.engine.partition_run import PartitionRunner
from memerase.engine.progress import ProgressCallback
from memerase.engine.reads import EntityPage, Reader
from memerase.engine.reset import Resetter
from memerase.fingerprint import HasherSource, ScopeHasher
from memerase.history import HistoryStore
from memerase.models import ErasureResult, Scope, StoreOutcome
from memerase.stores.base import ScopeCollection
from memerase.stores.factory import TargetStores


class Eraser:
    def __init__(
        self,
        targets: Sequence[TargetStores],
        history: HistoryStore | None = None,
        allow_reset: bool = False,
        hasher: HasherSource = ScopeHasher.from_env,
    ):
        """`hasher` gives the scope hasher when a scope is first hashed (the runtime's reads its key once)."""
        self.catalog = StoreCatalog(targets)
        self._by_id = ByIdDeleter(self.catalog, history)
        self.runner = PartitionRunner(self.catalog, history)  # a job worker runs partitions through it
        self._bulk = ScopeEraser(self.catalog, history, hasher)
        self._resetter = Resetter(self.catalog, allow_reset)
        self._reader = Reader(self.catalog, history)

    # ---- write side ----------------------------------------------------------------------------------------------

    def delete_memory(
        self, memory_id: str, allowed: Sequence[Scope] | None = None, actor: str | None = None
    ) -> ErasureResult:
        """Erase one memory from every target. With `allowed`, refuse (before deleting anything) a memory outside,
        as an unknown one. `actor` (an API key's id, a trigger's name) goes into the audit rows."""
        return self.delete_memories([memory_id], allowed, actor)

    def delete_memories(
        self, memory_ids: Sequence[str], allowed: Sequence[Scope] | None = None, actor: str | None = None
    ) -> ErasureResult:
        """Erase memories by id from every target: all or nothing (an unknown id, or one outside the caller's
        scopes, answered alike, refuses the whole request before anything is deleted)."""
        return self._by_id.execute(self._by_id.plan(memory_ids, allowed, actor))

    def delete_matching(
        self,
        scope: Scope,
        dry_run: bool = False,
        progress: ProgressCallback | None = None,
        criteria: Criteria | None = None,
        actor: str | None = None,
    ) -> ErasureResult:
        """Erase what the scope AND the criteria select (an empty `Scope()` only with criteria: every scope)."""
        return self._bulk.delete_matching(scope, dry_run, progress, criteria, actor)

    def reset(self, target_name: str, confirm: str | None) -> ErasureResult:
        return self._resetter.reset(target_name, confirm)

    # ---- what there is -------------------------------------------------------------------------------------------

    def stores(self) -> Iterable[tuple[StoreRef, ScopeCollection]]:
        return self.catalog.stores()

    def store(self, ref: StoreRef) -> ScopeCollection:
        return self.catalog.store(ref)

    def count_remaining(self, scope: Scope, criteria: Criteria | None = None) -> list[StoreOutcome]:
        return self._bulk.count_remaining(scope, criteria)

    def history(self, memory_id: str, allowed: Sequence[Scope] | None = None) -> list[dict[str, object]]:
        return self._reader.history(memory_id, allowed)

    def entities(self, cursor: str | None = None) -> EntityPage:
        return self._reader.entities(cursor)
