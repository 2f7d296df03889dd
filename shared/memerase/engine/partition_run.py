"""The checkpointed page loop: erase one partition of one collection, page by page, resumable at any point."""

from __future__ import annotations

from dataclasses import dataclass

from memerase.criteria import Selection
from memerase.engine.catalog import MEMORIES, StoreCatalog, StoreRef
from memerase.engine.entity_links import unlink
from memerase.engine.progress import PartitionProgress, RunHooks
from memerase.engine.replay import still_in_scope
from memerase.history import DeletionLog
from memerase.stores.base import Partition, Record, ScopeCollection, Selector, require_selection

NO_HOOKS = RunHooks()


@dataclass(frozen=True)
class _Run:
    """One run over one partition: what it erases, where it stands, whom it reports to."""

    ref: StoreRef
    store: ScopeCollection
    selection: Selection
    state: PartitionProgress
    hooks: RunHooks


class PartitionRunner:
    def __init__(self, catalog: StoreCatalog, history: DeletionLog | None):
        self._catalog = catalog
        self._history = history

    def erase(
        self,
        ref: StoreRef,
        selection: Selector,
        partition: Partition,
        state: PartitionProgress,
        hooks: RunHooks = NO_HOOKS,
    ) -> PartitionProgress:
        """Process pages of one partition until it is done or `hooks.out_of_time()`; returns where it stands (the
        same `state`, updated). Once `hooks.cancelled()`, it returns before deleting anything more (what was listed
        and not deleted is listed again on a resume).

        Matches are buffered across pages so every delete request is full (the store's maximum batch). The cursor
        only moves once everything listed before it is deleted, so a crash between listing and deleting loses
        nothing: the pages are listed again, and deleting an already deleted id is harmless. Each batch is claimed
        (recorded as `pending`, not counted) through `hooks.claim` before its delete request, and counted only once
        the store confirmed the delete; a refused claim (the job was cancelled) stops the run before anything of the
        batch is sent. A resumed partition finishes a pending batch first, reading its records again: those gone were
        deleted by the worker that claimed them, those still in scope are deleted now, both counted.
        """
        run = _Run(ref, self._catalog.store(ref), require_selection(selection), state, hooks)
        if ref.role == MEMORIES and partition.index == 0 and state.cursor is None and not state.pending:
            self._scrub_messages(run)
        if state.pending and not self._replay(run):  # a batch a stopped worker may or may not have deleted
            return state
        self._pages(run, partition)
        return state

    def _replay(self, run: _Run) -> bool:
        """Finish a pending batch (see `replay`): its records gone were deleted by the worker that claimed it and are
        counted; those still stored and in scope are erased now; those left alone are `skipped`. False when the run
        may no longer erase (the pending batch then stays for a later resume)."""
        state = run.state
        keep, skipped = still_in_scope(run.store, state.pending, run.selection)
        gone = len(state.pending) - len(keep) - skipped
        state.skipped += skipped
        state.matched += gone
        state.deleted += gone
        if keep:
            return self._flush(run, keep)
        state.pending = []
        run.hooks.checkpoint(state)
        return True

    def _scrub_messages(self, run: _Run) -> None:
        """mem0 keeps the raw messages of every session scope in its history database, and its own erasures never
        remove them: the first partition of a target's memories removes the erased scope's sessions when it starts
        (again in every pass: it is idempotent and catches messages written meanwhile). A selection with criteria
        erases some of a scope's memories, not its sessions: their messages are left alone."""
        history = self._catalog.target(run.ref.target).mem0_history
        if history is not None and not run.selection.criteria.present:
            history.erase_messages(run.selection.filters)

    def _pages(self, run: _Run, partition: Partition) -> None:
        state, store, hooks = run.state, run.store, run.hooks
        buffered: list[Record] = []
        unreadable = 0  # counted into the state only with the cursor that moves past its pages
        listing = state.cursor
        while not state.done:
            page = store.list_matching(run.selection, partition, listing)
            listing = page.cursor
            buffered += page.records
            unreadable += page.unreadable
            state.scanned += page.scanned
            if hooks.cancelled():
                return
            stop = listing is None or hooks.out_of_time()
            while len(buffered) >= store.batch_size or (stop and buffered):
                chunk, buffered = buffered[: store.batch_size], buffered[store.batch_size :]
                if not self._flush(run, chunk):
                    return
            if not buffered:
                state.cursor, state.done = listing, listing is None
                state.unreadable, unreadable = state.unreadable + unreadable, 0
                hooks.checkpoint(state)
            hooks.progress(store.label, state.scanned, state.deleted)
            if stop:
                return

    def _flush(self, run: _Run, chunk: list[Record]) -> bool:
        """Claim a batch (recorded as pending, not counted), erase it, then count it. False, with nothing of the batch
        sent, when the claim is refused (the job no longer runs)."""
        state = run.state
        state.pending = [(r.native_id, r.memory_id) for r in chunk]
        if not run.hooks.claim(state):
            state.pending = []
            return False
        if not self._erase_chunk(run, chunk):  # its claim lapsed and the job no longer runs: nothing was sent
            state.pending = []
            run.hooks.checkpoint(state)
            return False
        state.matched += len(chunk)
        state.deleted += len(chunk)
        state.pending = []
        run.hooks.checkpoint(state)  # counted once the store confirmed the delete
        run.hooks.progress(run.store.label, state.scanned, state.deleted)  # what is gone, batch by batch
        return True

    def _may_send(self, run: _Run) -> bool:
        """Right before a delete request: the batch's claim still holds, or is taken again while the job runs."""
        return run.hooks.may_send() or run.hooks.claim(run.state)

    def _erase_chunk(self, run: _Run, chunk: list[Record]) -> bool:
        """History first (content-free, idempotent), then the delete, sent only while the batch's claim holds; False
        when it was not sent."""
        memory_ids = [r.memory_id for r in chunk]
        memories = run.ref.role == MEMORIES
        mem0_history = self._catalog.target(run.ref.target).mem0_history if memories else None
        if not self._may_send(run):
            return False
        if memories and self._history is not None:
            self._history.record_deletions(memory_ids, run.hooks.actor)
        if mem0_history is not None:
            mem0_history.erase_memories(memory_ids)
        if not self._may_send(run):
            return False
        run.store.delete_batch([r.native_id for r in chunk])
        # The erased ids are stripped from the entity records of each memory's own scope, as mem0's own delete does,
        # and a record left linking nothing is deleted (records of other scopes are never touched; a batch replayed
        # after a crash has no payloads, and leaves its ids listed). A scope erasure unlinks too: a record inside the
        # erased scope may also link memories outside it (mem0 links a {user} memory to a {user, agent} record), and
        # its entity pass deletes only the records no memory outside the scope links (`entity_sweep`). A selection
        # with criteria leaves the entity collection to the scope's other memories.
        if memories:
            unlink(self._catalog.target(run.ref.target).entities, chunk)
            run.hooks.erased(memory_ids)
        return True
