"""`memerase retention list|run`, run as a real process against moto server and osmem-server, on memories written by
mem0ai 2.2.1's own classes with dates relative to the clock the command reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.integration.test_cli import memerase
from tests.support import mem0_data as m0
from tests.support.targets import create_tables, memerase_config

SECRET_USER = "zoe@example.com"
POLICIES = [
    {"name": "zoe-month", "max_age_days": 30, "user_id": SECRET_USER},
    {"name": "expired-sweep", "expired": True},
    {"name": "agent-week", "max_age_days": 7, "agent_id": "helper-bot", "run_id": "r-1", "dry_run": True},
]


@dataclass
class World:
    s3: Any
    os_: Any
    memories: dict[str, m0.Memory]
    conf: dict[str, Any]

    def contents(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return m0.s3_contents(self.s3), m0.opensearch_contents(self.os_)

    def without(self, *names: str) -> dict[str, Any]:
        gone = {self.memories[n].id for n in names}
        return {m.id: m.payload for m in self.memories.values() if m.id not in gone}


def dated(text: str, created: str | None, expires: str | None = None, **scope: str) -> m0.Memory:
    memory = m0.memory(text, **scope)
    payload = {k: v for k, v in memory.payload.items() if k != "created_at"}
    if created is not None:
        payload["created_at"] = created
    if expires is not None:
        payload["expiration_date"] = expires
    return m0.Memory(memory.id, payload, memory.vector)


def table_rows(printed: str) -> dict[str, list[str]]:
    """target -> (matched, deleted, remaining, unreadable kept), from the summary table's rows."""
    rows = {}
    for line in printed.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 7 and cells[0] in ("s3", "os"):
            rows[cells[0]] = cells[2:6]
    return rows


@pytest.fixture
def world(aws: str, osmem_url: str) -> World:
    now = datetime.now(UTC)
    zoe = {"user_id": SECRET_USER}
    memories = {
        "zoe-old-utc": dated("old utc", (now - timedelta(days=40)).isoformat(), **zoe),
        "zoe-old-z": dated("old z", (now - timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ"), **zoe),
        "zoe-young": dated("young", (now - timedelta(days=5)).isoformat(), **zoe),
        "zoe-no-date": dated("no date", None, **zoe),
        "zoe-expired-young": dated("expired", now.isoformat(), str(date.today() - timedelta(days=1)), **zoe),
        "other-old": dated("other old", (now - timedelta(days=90)).isoformat(), user_id="amir"),
        "other-expires-later": dated("later", now.isoformat(), str(date.today() + timedelta(days=3)), user_id="amir"),
    }
    s3, os_ = m0.seed(osmem_url, list(memories.values()))
    create_tables(jobs=None)
    conf = {**memerase_config(osmem_url), "retention": POLICIES}
    return World(s3, os_, memories, conf)


def test_retention_list_shows_each_policy_and_which_scope_fields_it_sets_never_their_values(world: World) -> None:
    # Given three policies, one scoped to an e-mail address
    # When `memerase retention list` runs
    done = memerase("retention", "list", conf=world.conf)
    # Then it lists each policy's name, criterion, scope fields and dry-run switch, and no scope value
    assert done.returncode == 0, done.stderr
    for text in ("zoe-month", "older than 30 days", "expired-sweep", "expired", "agent-week", "older than 7 days"):
        assert text in done.stdout
    assert "user_id" in done.stdout and "agent_id, run_id" in done.stdout and "(every scope)" in done.stdout
    assert SECRET_USER not in done.stdout + done.stderr and "helper-bot" not in done.stdout


def test_retention_list_without_policies_says_so(world: World) -> None:
    # Given a configuration without a retention list
    conf = {k: v for k, v in world.conf.items() if k != "retention"}
    # When `memerase retention list` runs
    done = memerase("retention", "list", conf=conf)
    # Then it says there are none
    assert done.returncode == 0 and "no retention policies configured" in done.stdout


def test_retention_run_of_one_policy_erases_exactly_its_older_memories_and_counts_the_unreadable(world: World) -> None:
    # Given zoe's memories older and younger than 30 days, one without created_at, and another user's old one
    # When `memerase retention run --policy zoe-month` runs
    done = memerase("retention", "run", "--policy", "zoe-month", conf=world.conf)
    # Then exactly zoe's memories older than 30 days are gone from both stores
    assert done.returncode == 0, done.stderr
    expected = world.without("zoe-old-utc", "zoe-old-z")
    assert world.contents() == (expected, expected)
    # And the summary names the policy and its cutoff and shows, per store, 2 deleted and 1 unreadable kept
    assert "retention policy zoe-month" in done.stdout and "created_before" in done.stdout
    assert "unreadable" in done.stdout
    assert table_rows(done.stdout) == {"s3": ["2", "2", "0", "1"], "os": ["2", "2", "0", "1"]}, done.stdout
    assert SECRET_USER not in done.stdout + done.stderr


def test_retention_run_of_every_policy_erases_each_policys_memories_and_skips_the_dry_run_one(world: World) -> None:
    # Given three policies, the third a dry run
    # When `memerase retention run` runs every policy
    done = memerase("retention", "run", conf=world.conf)
    # Then zoe's older memories and every expired memory are gone, nothing else, and the dry-run policy counted
    assert done.returncode == 0, done.stderr
    expected = world.without("zoe-old-utc", "zoe-old-z", "zoe-expired-young")
    assert world.contents() == (expected, expected)
    assert "retention policy agent-week (dry run)" in done.stdout


def test_retention_run_dry_run_deletes_nothing_and_reports_the_counts(world: World) -> None:
    # Given the stores as written
    before = world.contents()
    # When `memerase retention run --dry-run` runs every policy
    done = memerase("retention", "run", "--dry-run", conf=world.conf)
    # Then every policy is reported as a dry run and nothing is deleted
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("(dry run)") == len(POLICIES)
    assert world.contents() == before


def test_retention_run_of_an_unknown_policy_is_refused_without_echoing_the_name(world: World) -> None:
    # Given the stores as written
    before = world.contents()
    # When `memerase retention run --policy` names no configured policy
    done = memerase("retention", "run", "--policy", "weekly-secret", conf=world.conf)
    # Then it fails with a clear message, no stack trace, without repeating the name, and nothing is deleted
    assert done.returncode == 1
    assert "no configured retention policy has that name" in done.stderr
    assert "weekly-secret" not in done.stderr and "Traceback" not in done.stderr
    assert world.contents() == before


def test_retention_run_without_policies_is_refused_and_deletes_nothing(world: World) -> None:
    # Given a configuration without a retention list
    before = world.contents()
    conf = {k: v for k, v in world.conf.items() if k != "retention"}
    # When `memerase retention run` runs
    done = memerase("retention", "run", conf=conf)
    # Then it fails saying there are no policies, and nothing is deleted
    assert done.returncode == 1 and "no retention policies" in done.stderr and "Traceback" not in done.stderr
    assert world.contents() == before
