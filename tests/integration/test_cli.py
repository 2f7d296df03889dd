"""The `memerase` command, run as a real process against moto server and osmem-server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from memerase.keys import ApiKeyStore
from tests.support import mem0_data as m0
from tests.support.targets import KEYS_TABLE, create_tables, memerase_config


def memerase(*args: str, conf: dict[str, Any] | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    if conf is not None:
        env["MEMERASE_CONFIG"] = json.dumps(conf)
    return subprocess.run(
        [sys.executable, "-m", "memerase_local.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def seeded(aws: str, osmem_url: str) -> tuple[Any, Any, list[m0.Memory]]:
    data = m0.dataset(users=3, per_user=10)
    s3, os_ = m0.seed(osmem_url, data)
    create_tables(jobs=None)
    return s3, os_, data


def test_delete_all_erases_one_user_and_prints_a_summary(seeded: Any, osmem_url: str) -> None:
    # Given 3 users' memories in both stores
    s3, os_, data = seeded
    # When `memerase delete-all --user-id user-1` runs
    done = memerase("delete-all", "--user-id", "user-1", conf=memerase_config(osmem_url))
    # Then it succeeds, prints what it erased and what remains, and only user-1 is gone from both stores
    assert done.returncode == 0, done.stderr
    assert "delete_matching" in done.stdout and "remaining" in done.stdout
    expected = {m.id: m.payload for m in data if m.payload["user_id"] != "user-1"}
    assert m0.s3_contents(s3) == expected and m0.opensearch_contents(os_) == expected


def test_delete_all_dry_run_deletes_nothing(seeded: Any, osmem_url: str) -> None:
    # Given 3 users' memories in both stores
    s3, os_, data = seeded
    # When `memerase delete-all --dry-run` runs
    done = memerase("delete-all", "--user-id", "user-1", "--dry-run", conf=memerase_config(osmem_url))
    # Then it says it was a dry run and every memory is still there
    assert done.returncode == 0, done.stderr
    assert "dry run" in done.stdout
    assert len(m0.s3_contents(s3)) == len(data) and len(m0.opensearch_contents(os_)) == len(data)


def test_delete_all_without_filter_is_refused_with_mem0s_message(seeded: Any, osmem_url: str) -> None:
    # Given 3 users' memories in both stores
    s3, _, data = seeded
    # When `memerase delete-all` runs without a filter
    done = memerase("delete-all", conf=memerase_config(osmem_url))
    # Then it fails with mem0's message, no stack trace, and nothing is deleted
    assert done.returncode == 1
    assert "At least one filter is required to delete all memories" in done.stderr
    assert "Traceback" not in done.stderr and len(m0.s3_contents(s3)) == len(data)


def test_delete_unknown_id_says_not_found(seeded: Any, osmem_url: str) -> None:
    # Given stores that hold no memory "no-such-memory"
    # When `memerase delete` is asked for it
    done = memerase("delete", "no-such-memory", conf=memerase_config(osmem_url))
    # Then it fails saying "not found", without a stack trace
    assert done.returncode == 1 and "not found" in done.stderr and "Traceback" not in done.stderr


def test_delete_one_memory_by_id(seeded: Any, osmem_url: str) -> None:
    # Given 3 users' memories in both stores
    s3, os_, data = seeded
    # When `memerase delete <id>` runs for one of them
    done = memerase("delete", data[0].id, conf=memerase_config(osmem_url))
    # Then that memory is gone from both stores and the others are not
    assert done.returncode == 0, done.stderr
    assert data[0].id not in m0.s3_contents(s3) and data[0].id not in m0.opensearch_contents(os_)
    assert len(m0.s3_contents(s3)) == len(data) - 1


def test_missing_history_is_announced_once(seeded: Any, osmem_url: str) -> None:
    # Given a configuration without a history table
    # When `memerase delete-all` runs
    done = memerase("delete-all", "--agent-id", "agent-a", conf=memerase_config(osmem_url, history=None))
    # Then it succeeds and says once that there is no history table
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("no history table configured") == 1


def test_reset_needs_enabling_and_the_targets_name(seeded: Any, osmem_url: str) -> None:
    # Given 3 users' memories in both stores
    s3, _, data = seeded
    # When `memerase reset` runs without allow_reset, then for an unknown target, then enabled and confirmed
    refused = memerase("reset", "--confirm", "s3", conf=memerase_config(osmem_url))
    # Then the first two are refused naming why and delete nothing, and the third empties the s3 target
    assert refused.returncode == 1 and "allow_reset" in refused.stderr
    unknown = memerase("reset", "--confirm", "nope", conf=memerase_config(osmem_url, allow_reset=True))
    assert unknown.returncode == 1 and "unknown target" in unknown.stderr
    assert len(m0.s3_contents(s3)) == len(data)
    done = memerase("reset", "--confirm", "s3", conf=memerase_config(osmem_url, allow_reset=True))
    assert done.returncode == 0, done.stderr
    assert m0.s3_contents(s3) == {}


def test_bad_config_and_bad_filters_get_one_line_reasons(aws: str) -> None:
    # Given no configuration, a configuration with an unknown key, and a wildcard filter
    # When `memerase delete-all` runs with each
    no_config = memerase("delete-all", "--user-id", "u", conf=None)
    # Then each fails with one line naming the problem and no stack trace
    assert no_config.returncode == 1 and "MEMERASE_CONFIG" in no_config.stderr
    bad = memerase("delete-all", "--user-id", "u", conf={"targets": [], "oops": 1})
    assert bad.returncode == 1 and "oops" in bad.stderr
    wild = memerase("delete-all", "--user-id", "*", conf=memerase_config("http://127.0.0.1:1"))
    assert wild.returncode == 1 and "wildcard" in wild.stderr
    for done in (no_config, bad, wild):
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_keys_create_refuses_admin_with_a_scope_and_stores_nothing(aws: str) -> None:
    """Before the fix: the key was created (exit 0) and `keys list` showed it as admin with a meaningless scope."""
    # Given a keys table
    create_tables(history=None, jobs=None, keys=KEYS_TABLE)
    conf = memerase_config("http://127.0.0.1:1", api={})
    # When `memerase keys create` is asked for an admin key bound to a user
    done = memerase("keys", "create", "--name", "ops", "--admin", "--user-id", "u", conf=conf)
    # Then it is refused in one line naming both options, and no key was stored
    assert done.returncode == 1, done.stdout
    assert "--admin" in done.stderr and "--user-id" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert ApiKeyStore(KEYS_TABLE).list() == []


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("demo", "--users", "0"), "argument --users: give a whole number from 2 to 100"),
        (("demo", "--per-user", "0"), "argument --per-user: give a whole number from 1 to 100"),
        (("serve", "--port", "99999"), "argument --port: give a whole number from 0 to 65535"),
        (("serve", "--port", "-1"), "argument --port: give a whole number from 0 to 65535"),
        (("jobs", "list", "--limit", "0"), "argument --limit: give a whole number from 1 to 1000"),
    ],
    ids=["demo-no-users", "demo-no-memories", "port-too-high", "port-negative", "limit-0"],
)
def test_out_of_range_numbers_are_refused_at_the_edge_in_one_line(args: tuple[str, ...], named: str) -> None:
    """Before the fix: `demo --users 0` and `--per-user 0` failed (exit 3) inside the demo, after starting the
    stand-ins, with `ParamValidationError` (PutVectors takes at least one vector); `serve --port 99999` and `--port -1`
    with `OverflowError`; `jobs list --limit 0` went on to read the configuration (and, given one, listed one job)."""
    # Given no configuration at all (the check comes before anything is read or started)
    # When the command runs with a number outside what it takes
    done = memerase(*args, conf=None)
    # Then it exits 2 with one line naming the argument and the range, and no Python exception name
    assert done.returncode == 2, done.stderr
    assert named in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Error" not in done.stderr and "Traceback" not in done.stderr


def test_keys_help_says_how_long_a_revoked_key_keeps_working() -> None:
    """Before the fix nothing said that a revoked key keeps working while API Gateway caches the authorizer's
    answer (template.yaml's ReauthorizeEvery): the help only said "revoke a key by its key_id"."""
    # Given the authorizer cache time the template deploys
    template = (Path(__file__).parents[2] / "template.yaml").read_text()
    [seconds] = re.findall(r"ReauthorizeEvery: (\d+)", template)
    # When the keys command's help is printed
    done = memerase("keys", "--help", conf=None)
    # Then next to `revoke` it says a revoked key can keep working that many seconds
    assert done.returncode == 0, done.stderr
    revoke = " ".join(done.stdout.split()).split("revoke", 1)[1]
    assert f"up to {seconds} s" in revoke and "revoked key can keep working" in revoke
