"""A dry-run job: counted, not run."""

from __future__ import annotations

from memerase.engine import MEMORIES, Eraser
from memerase.jobs.models import JobRecord, JobStatus, StoreProgress
from memerase.jobs.repository import now


def counted(eraser: Eraser, job: JobRecord) -> JobRecord:
    """A dry run, done before its record is written: COMPLETED with each collection's count of the selection."""
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
    left = sum(p.remaining or 0 for p in progress if p.role == MEMORIES)
    return job.model_copy(
        update={
            "status": JobStatus.COMPLETED,
            "completed_at": now(),
            "scope": None,
            "progress": progress,
            "memories_left": left,
            "unreadable_kept": sum(p.unreadable_kept for p in progress),
        }
    )
