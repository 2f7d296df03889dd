"""A dry-run job: counted, not run."""

from __future__ import annotations

from memerase.engine import MEMORIES, Eraser
from memerase.jobs.models import JobRecord, StoreProgress


def count_selection(eraser: Eraser, job: JobRecord) -> tuple[list[StoreProgress], int]:
    """Each collection's count of the job's selection, and the memory records in all."""
    assert job.scope is not None
    outcomes = eraser.count_remaining(job.scope, job.criteria)  # in the order of `stores()`
    progress = [
        StoreProgress(
            target=o.target,
            role=ref.role,
            store=o.store,
            remaining=o.remaining,
            unreadable_kept=o.unreadable_kept,
            note=o.note,
        )
        for (ref, _), o in zip(eraser.stores(), outcomes, strict=True)
    ]
    return progress, sum(p.remaining or 0 for p in progress if p.role == MEMORIES)
