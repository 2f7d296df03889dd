"""A job's counts, read from the jobs table alone: the collections Plan recorded in the job record, summed with the
work-item rows (the only record of what its workers erased); and verify's decision from the pass that just ran, as
a pure function. No store is asked, so a job's status stays readable while a store is down."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from memerase.engine import MEMORIES
from memerase.jobs.models import ItemProgress, JobRecord, StoreProgress, erased_counts
from memerase.jobs.repository import JobsTable

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
    """Verify's decision, and what the pass found: memory records of the scope, store records in all, work items
    that did not finish."""

    clean: bool
    retry: bool
    next_pass: int
    rounds: int
    memories_left: int = 0
    records_left: int = 0
    unfinished_items: int = 0

    def unverified(self) -> str:
        """Why a job that ran out of passes is not verified."""
        if self.unfinished_items:
            return f"{self.unfinished_items} work item(s) of the last pass did not finish"
        return (
            f"the last allowed pass still found {self.memories_left} memory record(s) of the scope "
            f"({self.records_left} store record(s) in all)"
        )


def decide(outcome: PassOutcome, pass_no: int, rounds: int, max_passes: int) -> Verdict:
    """Verify's decision. `rounds` is how many decisions were taken before this one.

    A pass whose every work item finished and found nothing of the scope (in any collection) proves the job clean.
    A finished pass that still found something (a memory written while the job ran) asks for one more pass, up to
    `max_passes`. A pass with unfinished work items is run again from its cursors (same pass number), for at most
    `2 * max_passes` decisions in all; it never counts as clean."""
    taken = rounds + 1
    left = sum(outcome.found.values())
    found = {"memories_left": outcome.memories_left, "records_left": left, "unfinished_items": outcome.unfinished}
    if outcome.unfinished:
        retry = taken < 2 * max_passes
        return Verdict(clean=False, retry=retry, next_pass=pass_no, rounds=taken, **found)
    retry = left > 0 and pass_no < max_passes
    next_pass = pass_no + 1 if retry else pass_no
    return Verdict(clean=left == 0, retry=retry, next_pass=next_pass, rounds=taken, **found)


def pass_outcome(job: JobRecord, rows: Sequence[ItemProgress]) -> PassOutcome:
    """Matches found per collection in the job's current pass, over the work items its Plan recorded, and how many
    of those did not finish (`rows`: the job's work-item rows, of any pass)."""
    done = {p.item.key: p for p in rows if p.item.pass_no == job.pass_no}
    found: dict[StoreKey, int] = {}
    unfinished = 0
    for item in job.plan:
        progress = done.get(item.key)
        if progress is None or not progress.done:
            unfinished += 1
            continue
        key = (item.target, item.role)
        found[key] = found.get(key, 0) + progress.matched
    return PassOutcome(found, unfinished)


def progress(
    job: JobRecord, rows: Sequence[ItemProgress], remaining: Mapping[StoreKey, int | None]
) -> list[StoreProgress]:
    """Per-collection totals over every pass and run of the job (the collections as Plan recorded them), with the
    latest pass's item completion."""
    latest = max((p.item.pass_no for p in rows), default=0)
    out: dict[StoreKey, StoreProgress] = {}
    for planned in job.progress:
        key = (planned.target, planned.role)
        out[key] = StoreProgress(
            target=planned.target,
            role=planned.role,
            store=planned.store,
            remaining=None if planned.note else remaining.get(key),
            items_total=planned.items_total,
            note=planned.note,
        )
    for p in rows:
        store = out.get((p.item.target, p.item.role))
        if store is None:
            continue
        store.scanned += p.scanned
        store.deleted += p.deleted
        store.skipped += p.skipped
        if p.item.pass_no == latest:  # kept records are seen again by every pass: the latest counts
            store.items_done += int(p.done)
            store.unreadable_kept += p.unreadable
    return list(out.values())


def counts(
    job: JobRecord, rows: Sequence[ItemProgress], remaining: Mapping[StoreKey, int | None] | None = None
) -> dict[str, Any]:
    """The record's progress fields, recomputed from the work-item rows; `remaining` defaults to what the record's
    last verification found. Only deletes a store confirmed are counted (see `engine.partition_run`)."""
    if remaining is None:
        remaining = {(p.target, p.role): p.remaining for p in job.progress}
    found = progress(job, rows, remaining)
    memories, records = erased_counts(found)
    return {
        "progress": found,
        "memories_erased": memories,
        "records_erased": records,
        "unreadable_kept": sum(p.unreadable_kept for p in found),
    }


class JobTally:
    def __init__(self, jobs: JobsTable, stall_seconds: int):
        self._jobs = jobs
        self._stall_seconds = stall_seconds

    def rows(self, job: JobRecord) -> list[ItemProgress]:
        return self._jobs.list_progress(job.job_id)

    def current_pass(self, job: JobRecord) -> PassOutcome:
        return pass_outcome(job, self.rows(job))

    def counts(self, job: JobRecord, remaining: Mapping[StoreKey, int | None] | None = None) -> dict[str, Any]:
        return counts(job, self.rows(job), remaining)

    def current(self, job: JobRecord) -> JobRecord:
        """The job with its progress as the work-item rows have it now, and whether it stalled (active with no
        progress recorded for `stall_seconds`: its runner may have died). A job that ended is as its end recorded it
        (after its batches in flight settled)."""
        if not job.status.active or job.dry_run or job.scope is None:
            return job
        rows = self.rows(job)
        last = max([job.updated_at, *(p.at for p in rows if p.at)])
        idle = datetime.now(UTC) - datetime.fromisoformat(last)
        stalled = job.status.active and idle.total_seconds() > self._stall_seconds
        return job.model_copy(update={**counts(job, rows), "last_activity": last, "stalled": stalled})
