"""`memerase delete-all --older-than AGE` and `--expired`, run as a real process against moto server and
osmem-server: bad ages are refused before anything is deleted, and the summary reports what was kept unread."""

from __future__ import annotations

import random
from typing import Any

import pytest

from memerase_local.cli import BAD_AGE
from tests.integration.test_cli import memerase
from tests.support import mem0_data as m0
from tests.support.targets import create_tables, memerase_config

OLD = "2019-07-01T10:00:00Z"


@pytest.fixture
def dated(aws: str, osmem_url: str, s3_limits: Any) -> tuple[Any, Any, dict[str, list[m0.Memory]]]:
    """Per user (user-0, user-1): one fresh memory, one from 2019, one without created_at and one expired."""
    rng = random.Random(3)
    groups: dict[str, list[m0.Memory]] = {"fresh": [], "old": [], "undated": [], "expired": []}
    for user in ("user-0", "user-1"):
        for kind in groups:
            memory = m0.memory(f"{kind} of {user}", rng, user_id=user)
            if kind == "old":
                memory.payload["created_at"] = OLD
            if kind == "undated":
                del memory.payload["created_at"]
            if kind == "expired":
                memory.payload["expiration_date"] = "2020-01-01"
            groups[kind].append(memory)
    everything = [m for group in groups.values() for m in group]
    everything.sort(key=lambda m: "created_at" not in m.payload)  # OpenSearch maps created_at from the first one
    s3, os_ = m0.seed(osmem_url, everything)
    create_tables(jobs=None)
    return s3, os_, groups


def _ids(s3: Any, os_: Any) -> tuple[set[str], set[str]]:
    return set(m0.s3_contents(s3)), set(m0.opensearch_contents(os_))


@pytest.mark.parametrize("age", ["30", "0d", "-3d", "30m", "1.5d", "d", "30 d", "30D", "9999999d", "P30D", "３０d"])
def test_a_bad_age_is_refused_clearly_without_echo_and_deletes_nothing(dated: Any, osmem_url: str, age: str) -> None:
    # Given dated memories in both stores
    s3, os_, _ = dated
    before = _ids(s3, os_)
    # When delete-all is given an age that is not N followed by d or h
    done = memerase("delete-all", f"--older-than={age}", "--user-id", "user-0", conf=memerase_config(osmem_url))
    # Then it fails with a clear message that does not quote the value, and nothing is deleted
    assert done.returncode == 1, done.stderr
    assert "invalid --older-than" in done.stderr and "30d or 12h" in done.stderr
    if age not in BAD_AGE:
        assert age not in done.stderr
    assert "Traceback" not in done.stderr
    assert _ids(s3, os_) == before


def test_older_than_erases_one_users_old_memories_and_reports_the_undated_ones_kept(dated: Any, osmem_url: str) -> None:
    # Given dated memories of user-0 and user-1
    s3, os_, groups = dated
    before = _ids(s3, os_)
    # When user-0's memories older than 30 days are erased
    done = memerase("delete-all", "--older-than", "30d", "--user-id", "user-0", conf=memerase_config(osmem_url))
    # Then exactly user-0's old memory is gone from both stores
    assert done.returncode == 0, done.stderr
    gone = {groups["old"][0].id}
    assert _ids(s3, os_) == (before[0] - gone, before[1] - gone)
    # And the summary has the unreadable column, the cutoff line and the count of undated memories kept
    assert "unreadable kept" in done.stdout and "selected: memories created before" in done.stdout
    assert "unreadable created_at/expiration_date: 2 kept" in done.stdout


def test_an_hour_age_alone_erases_old_memories_of_every_user(dated: Any, osmem_url: str) -> None:
    # Given dated memories of user-0 and user-1
    s3, os_, groups = dated
    before = _ids(s3, os_)
    # When every memory older than 12 hours is erased, whatever its user
    done = memerase("delete-all", "--older-than", "12h", conf=memerase_config(osmem_url))
    # Then both users' old memories are gone, the fresh, undated and (fresh) expired ones stay
    assert done.returncode == 0, done.stderr
    gone = {m.id for m in groups["old"]}
    assert _ids(s3, os_) == (before[0] - gone, before[1] - gone)


def test_expired_dry_run_counts_and_deletes_nothing_then_the_real_run_erases(dated: Any, osmem_url: str) -> None:
    # Given memories of which one per user is past its expiration_date
    s3, os_, groups = dated
    before = _ids(s3, os_)
    # When the expired ones are counted in a dry run
    dry = memerase("delete-all", "--expired", "--dry-run", conf=memerase_config(osmem_url))
    # Then nothing is deleted
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stdout and _ids(s3, os_) == before
    # When they are erased for real
    done = memerase("delete-all", "--expired", conf=memerase_config(osmem_url))
    # Then exactly the expired ones are gone
    assert done.returncode == 0, done.stderr
    gone = {m.id for m in groups["expired"]}
    assert _ids(s3, os_) == (before[0] - gone, before[1] - gone)


def test_no_filter_and_no_criterion_is_still_refused(dated: Any, osmem_url: str) -> None:
    # Given dated memories
    s3, os_, _ = dated
    before = _ids(s3, os_)
    # When delete-all has neither a filter nor a criterion
    done = memerase("delete-all", conf=memerase_config(osmem_url))
    # Then mem0's refusal, with the CLI's ways out, and nothing deleted
    assert done.returncode == 1 and "At least one filter is required" in done.stderr
    assert "--older-than" in done.stderr
    assert _ids(s3, os_) == before
