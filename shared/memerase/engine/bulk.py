"""Filtered bulk delete, inline: every collection of every target, one sequential scan each, then verified.
(A job runs the same partition runs in parallel through the state machine.)"""

from __future__ import annotations

import time
from dataclasses import replace

from memerase.engine.catalog import StoreCatalog
from memerase.engine.partition_run import PartitionRunner
from memerase.engine.progress import PartitionProgress, ProgressCallback, RunHooks
from memerase.errors import InvalidRequest
from memerase.fingerprint import HasherSource
from memerase.history import HistoryStore, OncePerMemory
from memerase.models import ErasureResult, Scope, StoreOutcome
from memerase.observability import logger
from memerase.stores.base import Partition


class ScopeEraser:
    def __init__(self, catalog: StoreCatalog, history: HistoryStore | None, hasher: HasherSource):
        self._catalog = catalog
        self._history = history
        self._hasher = hasher

    def delete_matching(
        self, scope: Scope, dry_run: bool = False, progress: ProgressCallback | None = None, actor: str | None = None
    ) -> ErasureResult:
        """Erase every memory matching the scope (AND of its ids) from every collection, then verify. `actor` goes
        into the audit rows."""
        started = time.monotonic()
        filters = scope.filters()
        if not filters:
            raise InvalidRequest("empty scope")
        scope_hash = self._hasher().scope(scope)  # before anything is deleted: a missing key stops the erasure
        erased: set[str] = set()
        log = OncePerMemory(self._history) if self._history else None  # one event per memory, across targets
        runner = PartitionRunner(self._catalog, log)
        outcomes: list[StoreOutcome] = []
        for ref, store in self._catalog.stores():
            outcome = StoreOutcome(target=ref.target, store=store.label, role=ref.role)
            if reason := store.not_applicable(filters):
                outcomes.append(outcome.model_copy(update={"note": reason}))
                continue
            if dry_run:
                outcomes.append(outcome.model_copy(update={"matched": store.count_remaining(filters)}))
                continue
            hooks = RunHooks(erased=erased.update, actor=actor)
            if progress:
                hooks = replace(hooks, progress=progress)
            state = runner.erase(ref, filters, Partition(), PartitionProgress(), hooks)
            outcomes.append(
                outcome.model_copy(
                    update={
                        "matched": state.matched,
                        "deleted": state.deleted,
                        "remaining": store.count_remaining(filters),
                    }
                )
            )
        result = ErasureResult(
            operation="delete_matching",
            scope_hash=scope_hash,
            dry_run=dry_run,
            memories=len(erased),
            stores=outcomes,
            history_events=log.written if log else 0,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        logger.info(
            "scope erased",
            extra={"scope": (result.scope_hash or "")[:16], "deleted": result.deleted, "verified": result.verified},
        )
        return result

    def count_remaining(self, scope: Scope) -> list[StoreOutcome]:
        filters = scope.filters()
        return [
            StoreOutcome(
                target=ref.target,
                store=store.label,
                role=ref.role,
                remaining=None if reason else store.count_remaining(filters),
                note=reason,
            )
            for ref, store in self._catalog.stores()
            for reason in [store.not_applicable(filters)]
        ]
