"""The job state machine's transition table and verify's decision, as pure functions."""

from __future__ import annotations

import pytest

from memerase.jobs.lifecycle import TRANSITIONS, allowed
from memerase.jobs.models import JobStatus
from memerase.jobs.tally import PassOutcome, Verdict, decide

QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED = (
    JobStatus.QUEUED,
    JobStatus.RUNNING,
    JobStatus.COMPLETED,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
)
MEMORIES, ENTITIES = ("s3", "memories"), ("s3", "entities")

# found per collection, unfinished work items, pass, rounds taken before, max_passes -> clean, retry, next pass, rounds
DECISIONS = [
    ("a clean first pass is clean", {MEMORIES: 0}, 0, 1, 0, 3, Verdict(True, False, 1, 1)),
    ("a pass that erased something asks for the next", {MEMORIES: 5}, 0, 1, 0, 3, Verdict(False, True, 2, 1)),
    ("an entity record left is not clean either", {MEMORIES: 0, ENTITIES: 1}, 0, 1, 0, 3, Verdict(False, True, 2, 1)),
    ("the last allowed pass finding something fails", {MEMORIES: 1}, 0, 3, 2, 3, Verdict(False, False, 3, 3)),
    ("unfinished items rerun the same pass", {MEMORIES: 0}, 2, 1, 0, 3, Verdict(False, True, 1, 1)),
    ("unfinished items are never clean, even finding none", {}, 6, 2, 1, 3, Verdict(False, True, 2, 2)),
    ("reruns of unfinished items stop at 2 x max_passes", {MEMORIES: 0}, 1, 2, 5, 3, Verdict(False, False, 2, 6)),
    ("a second pass that finds nothing is clean", {MEMORIES: 0, ENTITIES: 0}, 0, 2, 1, 3, Verdict(True, False, 2, 2)),
]


@pytest.mark.parametrize(
    ("found", "unfinished", "pass_no", "rounds", "max_passes", "expected"),
    [d[1:] for d in DECISIONS],
    ids=[d[0] for d in DECISIONS],
)
def test_verify_decides_from_what_the_pass_found_and_its_unfinished_items(
    found: dict[tuple[str, str], int], unfinished: int, pass_no: int, rounds: int, max_passes: int, expected: Verdict
) -> None:
    # Given what a pass found per collection, its unfinished work items, the pass, the rounds taken and the bound
    # When verify decides
    verdict = decide(PassOutcome(found, unfinished), pass_no, rounds, max_passes)
    # Then it is clean, retries, or stops as the table says, and names the pass to run next
    assert (verdict.clean, verdict.retry, verdict.next_pass, verdict.rounds) == (
        expected.clean,
        expected.retry,
        expected.next_pass,
        expected.rounds,
    )
    assert (verdict.memories_left, verdict.unfinished_items) == (found.get(MEMORIES, 0), unfinished)


def test_a_finished_job_never_changes_status_and_only_a_stopped_job_is_resumed() -> None:
    # Given the transition table
    # When it is asked about every pair of statuses
    pairs = {(old, new) for old in JobStatus for new in JobStatus if allowed(old, new)}
    # Then COMPLETED is final, FAILED and CANCELLED lead only back to QUEUED (resume), an active job may be
    # cancelled or failed, a RUNNING job completes (a QUEUED one only as a counted dry run), a RUNNING job goes
    # back to QUEUED only when resumed (stalled: `JobLifecycle.resume` checks), and no status loops to itself:
    # bookkeeping is no transition
    assert not TRANSITIONS[COMPLETED]
    assert {new for old, new in pairs if old in (FAILED, CANCELLED)} == {QUEUED}
    assert {old for old, new in pairs if new == COMPLETED} == {RUNNING, QUEUED}
    assert {old for old, new in pairs if new == CANCELLED} == {QUEUED, RUNNING}
    assert {old for old, new in pairs if new == QUEUED} == {RUNNING, FAILED, CANCELLED}
    assert not [old for old, new in pairs if old == new] and (CANCELLED, RUNNING) not in pairs
