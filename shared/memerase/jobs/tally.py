"""What a job did and where it stands, computed from its work-item rows (the only record of what its workers
erased), and verify's decision from the pass that just ran, as a pure function."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from memerase.engine import MEMORIES, Eraser, StoreRef
from memerase.engine.catalog import not_applicable
from memerase.jobs.models import JobRecord, StoreProgress, WorkItem, erased_counts
from memerase.jobs.repository import JobsTable
from memerase.stores.base import ScopeCollection

StoreKey = tuple[str, str]  # (target, role)


@dataclass(frozen=True)
class PassOutcome:
    """What the current pass found (and erased) per collection, and how many of its work items did not finish."""

    found: dict[StoreKey, int]
    unfinished: int

    @property
    def memories_left(self) -> int:
        return sum(n for (_, role), n in self.found.items() if role == MEMORIES)


@dataclass(frozen=True)
class Verdict:
    clean: bool
    retry: bool
    next_pass: int
    rounds: int


def decide(found: Mapping[StoreKey, int], unfinished: int, pass_no: int, rounds: int, max_passes: int) -> Verdict:
    """Verify's decision. `rounds` is how many decisions were taken before this one.

    A pass whose every work item finished and found nothing of the scope (in any collection) proves the job clean.
    A finished pass that still found something (a memory written while the job ran) asks for one more pass, up to
    `max_passes`. A pass with unfinished work items is run again from its cursors (same pass number), for at most
    `2 * max_passes` decisions in all; it never counts as clean."""
    taken = rounds + 1
    left = sum(found.values())
    if unfinished:
        retry = taken < 2 * max_passes
        return Verdict(clean=False, retry=retry, next_pass=pass_no, rounds=taken)
    retry = left > 0 and pass_no < max_passes
    return Verdict(clean=left == 0, retry=retry, next_pass=pass_no + 1 if retry else pass_no, rounds=taken)


class JobTally:
    def __init__(self, eraser: Eraser, jobs: JobsTable):
        self._eraser = eraser
        self._jobs = jobs

    def pass_outcome(self, job: JobRecord) -> PassOutcome:
        """Matches found per collection in the job's current pass, and how many of its work items did not finish."""
        done = {p.item.key: p for p in self._jobs.list_progress(job.job_id) if p.item.pass_no == job.pass_no}
        found: dict[StoreKey, int] = {}
        unfinished = 0
        for ref, store, note in self.stores(job):
            if note:
                continue
            count = store.partitions()
            for index in range(count):
                item = WorkItem(target=ref.target, role=ref.role, index=index, count=count, **{"pass": job.pass_no})
                progress = done.get(item.key)
                if progress is None or not progress.done:
                    unfinished += 1
                    continue
                key = (ref.target, ref.role)
                found[key] = found.get(key, 0) + progress.matched
        return PassOutcome(found, unfinished)

    def stores(self, job: JobRecord) -> Iterator[tuple[StoreRef, ScopeCollection, str | None]]:
        """Every collection with why it does not apply to the job's selection (None where it does, or without one)."""
        selection = job.selection()
        for ref, store in self._eraser.stores():
            yield ref, store, not_applicable(ref, store, selection) if selection is not None else None

    def progress(self, job: JobRecord, remaining: Mapping[StoreKey, int | None]) -> list[StoreProgress]:
        """Per-collection totals over every pass and run of the job, with the latest pass's item completion; a
        collection the scope does not apply to has no work items and says why."""
        items = self._jobs.list_progress(job.job_id)
        latest = max((p.item.pass_no for p in items), default=0)
        out: dict[StoreKey, StoreProgress] = {}
        for ref, store, note in self.stores(job):
            key = (ref.target, ref.role)
            out[key] = StoreProgress(
                target=ref.target,
                role=ref.role,
                store=store.label,
                remaining=None if note else remaining.get(key),
                items_total=0 if note else store.partitions(),
                note=note,
            )
            for p in items:
                if (p.item.target, p.item.role) == key:
                    out[key].scanned += p.scanned
                    out[key].deleted += p.deleted
                    out[key].skipped += p.skipped
                    if p.item.pass_no == latest:  # kept records are seen again by every pass: the latest counts
                        out[key].items_done += int(p.done)
                        out[key].unreadable_kept += p.unreadable
        return list(out.values())

    def counts(self, job: JobRecord, remaining: Mapping[StoreKey, int | None] | None = None) -> dict[str, Any]:
        """The record's progress fields, recomputed from the work-item rows; `remaining` defaults to what the
        record's last verification found."""
        if remaining is None:
            remaining = {(p.target, p.role): p.remaining for p in job.progress}
        progress = self.progress(job, remaining)
        memories, records = erased_counts(progress)
        return {
            "progress": progress,
            "memories_erased": memories,
            "records_erased": records,
            "unreadable_kept": sum(p.unreadable_kept for p in progress),
        }

    def current(self, job: JobRecord) -> JobRecord:
        """The job with its progress as the work-item rows have it now (workers of a cancelled or failed job may
        still finish an in-flight batch after the transition). Completed and dry-run jobs are as recorded."""
        if job.receipt is not None or job.dry_run or job.scope is None:
            return job
        return job.model_copy(update=self.counts(job))
