"""Filtered bulk delete, inline: every collection of every target, one sequential scan each, then verified.
(A job runs the same partition runs in parallel through the state machine.)"""

from __future__ import annotations

import time
from dataclasses import replace

from memerase.criteria import NO_CRITERIA, Criteria, Selection
from memerase.engine.catalog import StoreCatalog, not_applicable
from memerase.engine.entity_sweep import EntitySweep
from memerase.engine.partition_run import PartitionRunner
from memerase.engine.progress import PartitionProgress, ProgressCallback, RunHooks
from memerase.errors import InvalidRequest
from memerase.fingerprint import HasherSource
from memerase.history import HistoryStore, OncePerMemory
from memerase.models import ErasureResult, Scope, StoreOutcome
from memerase.observability import logger
from memerase.stores.base import Partition, ScopeCollection, scan


def selection_for(scope: Scope, criteria: Criteria | None) -> Selection:
    """The scope's filters AND the criteria; refused (InvalidRequest) with neither a filter nor a criterion."""
    selection = Selection(filters=scope.filters(), criteria=criteria or NO_CRITERIA)
    if not selection.filters and not selection.criteria.present:
        raise InvalidRequest("empty scope")
    selection.refuse_empty()  # a bypassed validation (an empty value) is refused with a ValueError
    return selection


def survey(store: ScopeCollection, selection: Selection) -> tuple[int, int]:
    """(records selected, records in scope kept as unreadable), by the same scan and decision as an erasure. Without
    criteria nothing is unreadable and the store's own count is used (a Neptune Database listing only advances past
    what was deleted, so it is never scanned without deleting)."""
    if not selection.criteria.present:
        return store.count_remaining(selection), 0
    selected = unreadable = 0
    for page in scan(store, selection):
        selected += len(page.records)
        unreadable += page.unreadable
    return selected, unreadable


def verify(store: ScopeCollection, selection: Selection) -> tuple[int, int]:
    """After an erasure: (records the selection still selects, entity records of the scope left alone because a
    stored memory outside the scope links them)."""
    if isinstance(store, EntitySweep):
        return store.survey(selection)
    return store.count_remaining(selection), 0


def criteria_shown(criteria: Criteria | None) -> dict[str, str] | None:
    """The criteria as a report shows them (ISO cutoffs), or None without any."""
    if criteria is None or not criteria.present:
        return None
    return {k: str(v) for k, v in criteria.model_dump(mode="json", exclude_none=True).items()}


class ScopeEraser:
    def __init__(self, catalog: StoreCatalog, history: HistoryStore | None, hasher: HasherSource):
        self._catalog = catalog
        self._history = history
        self._hasher = hasher

    def delete_matching(
        self,
        scope: Scope,
        dry_run: bool = False,
        progress: ProgressCallback | None = None,
        criteria: Criteria | None = None,
        actor: str | None = None,
    ) -> ErasureResult:
        """Erase every memory the selection selects (the AND of the scope's ids and the criteria; an empty scope
        with a criterion selects across every scope) from every collection, then verify. `actor` goes into the
        audit rows."""
        started = time.monotonic()
        selection = selection_for(scope, criteria)
        scope_hash = self._hasher().scope(scope)  # before anything is deleted: a missing key stops the erasure
        erased: set[str] = set()
        log = OncePerMemory(self._history) if self._history else None  # one event per memory, across targets
        runner = PartitionRunner(self._catalog, log)
        outcomes: list[StoreOutcome] = []
        left_alone = 0
        for ref, store in self._catalog.stores():
            outcome = StoreOutcome(target=ref.target, store=store.label, role=ref.role)
            if reason := not_applicable(ref, store, selection):
                outcomes.append(outcome.model_copy(update={"note": reason}))
                continue
            if dry_run:
                matched, unreadable = survey(store, selection)
                outcomes.append(outcome.model_copy(update={"matched": matched, "unreadable_kept": unreadable}))
                continue
            hooks = RunHooks(erased=erased.update, actor=actor)
            if progress:
                hooks = replace(hooks, progress=progress)
            state = runner.erase(ref, selection, Partition(), PartitionProgress(), hooks)
            remaining, kept = verify(store, selection)
            left_alone += kept
            outcomes.append(
                outcome.model_copy(
                    update={
                        "matched": state.matched,
                        "deleted": state.deleted,
                        "remaining": remaining,
                        "unreadable_kept": state.unreadable,
                    }
                )
            )
        result = ErasureResult(
            operation="delete_matching",
            scope_hash=scope_hash,
            dry_run=dry_run,
            criteria=criteria_shown(criteria),
            memories=len(erased),
            stores=outcomes,
            history_events=log.written if log else 0,
            entity_records_left_alone=left_alone,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        logger.info(
            "scope erased",
            extra={"scope": (result.scope_hash or "")[:16], "deleted": result.deleted, "verified": result.verified},
        )
        return result

    def count_remaining(self, scope: Scope, criteria: Criteria | None = None) -> list[StoreOutcome]:
        """Per collection: what the selection still selects (`remaining`) and what it keeps as unreadable."""
        selection = selection_for(scope, criteria)
        outcomes = []
        for ref, store in self._catalog.stores():
            reason = not_applicable(ref, store, selection)
            remaining, unreadable = (None, 0) if reason else survey(store, selection)
            outcomes.append(
                StoreOutcome(
                    target=ref.target,
                    store=store.label,
                    role=ref.role,
                    remaining=remaining,
                    unreadable_kept=unreadable,
                    note=reason,
                )
            )
        return outcomes
