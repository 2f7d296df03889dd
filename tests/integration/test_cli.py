"""The `memerase` command, run as a real process against moto server and osmem-server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import boto3
import pytest

from memerase.history import table_schema
from tests.support import mem0_data as m0
from tests.support.targets import memerase_config


def config(osmem_url: str, history: bool = True, allow_reset: bool = False) -> dict[str, Any]:
    return memerase_config(osmem_url, history="memerase-history" if history else None, allow_reset=allow_reset)


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
    s3, os_ = m0.s3_store(), m0.opensearch_store(osmem_url)
    m0.write(s3, data)
    m0.write(os_, data)
    boto3.client("dynamodb").create_table(**table_schema("memerase-history"))
    return s3, os_, data


def test_delete_all_erases_one_user_and_prints_a_summary(seeded: Any, osmem_url: str) -> None:
    s3, os_, data = seeded
    done = memerase("delete-all", "--user-id", "user-1", conf=config(osmem_url))
    assert done.returncode == 0, done.stderr
    assert "delete_matching" in done.stdout and "remaining" in done.stdout
    expected = {m.id: m.payload for m in data if m.payload["user_id"] != "user-1"}
    assert m0.s3_contents(s3) == expected and m0.opensearch_contents(os_) == expected


def test_delete_all_dry_run_deletes_nothing(seeded: Any, osmem_url: str) -> None:
    s3, os_, data = seeded
    done = memerase("delete-all", "--user-id", "user-1", "--dry-run", conf=config(osmem_url))
    assert done.returncode == 0, done.stderr
    assert "dry run" in done.stdout
    assert len(m0.s3_contents(s3)) == len(data) and len(m0.opensearch_contents(os_)) == len(data)


def test_delete_all_without_filter_is_refused_with_mem0s_message(seeded: Any, osmem_url: str) -> None:
    s3, _, data = seeded
    done = memerase("delete-all", conf=config(osmem_url))
    assert done.returncode == 1
    assert "At least one filter is required to delete all memories" in done.stderr
    assert "Traceback" not in done.stderr and len(m0.s3_contents(s3)) == len(data)


def test_delete_unknown_id_says_not_found(seeded: Any, osmem_url: str) -> None:
    done = memerase("delete", "no-such-memory", conf=config(osmem_url))
    assert done.returncode == 1 and "not found" in done.stderr and "Traceback" not in done.stderr


def test_delete_one_memory_by_id(seeded: Any, osmem_url: str) -> None:
    s3, os_, data = seeded
    done = memerase("delete", data[0].id, conf=config(osmem_url))
    assert done.returncode == 0, done.stderr
    assert data[0].id not in m0.s3_contents(s3) and data[0].id not in m0.opensearch_contents(os_)
    assert len(m0.s3_contents(s3)) == len(data) - 1


def test_missing_history_is_announced_once(seeded: Any, osmem_url: str) -> None:
    done = memerase("delete-all", "--agent-id", "agent-a", conf=config(osmem_url, history=False))
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("no history table configured") == 1


def test_reset_needs_enabling_and_the_targets_name(seeded: Any, osmem_url: str) -> None:
    s3, _, data = seeded
    refused = memerase("reset", "--confirm", "s3", conf=config(osmem_url))
    assert refused.returncode == 1 and "allow_reset" in refused.stderr
    unknown = memerase("reset", "--confirm", "nope", conf=config(osmem_url, allow_reset=True))
    assert unknown.returncode == 1 and "unknown target" in unknown.stderr
    assert len(m0.s3_contents(s3)) == len(data)
    done = memerase("reset", "--confirm", "s3", conf=config(osmem_url, allow_reset=True))
    assert done.returncode == 0, done.stderr
    assert m0.s3_contents(s3) == {}


def test_bad_config_and_bad_filters_get_one_line_reasons(aws: str) -> None:
    no_config = memerase("delete-all", "--user-id", "u", conf=None)
    assert no_config.returncode == 1 and "MEMERASE_CONFIG" in no_config.stderr
    bad = memerase("delete-all", "--user-id", "u", conf={"targets": [], "oops": 1})
    assert bad.returncode == 1 and "oops" in bad.stderr
    wild = memerase("delete-all", "--user-id", "*", conf=config("http://127.0.0.1:1"))
    assert wild.returncode == 1 and "wildcard" in wild.stderr
    for done in (no_config, bad, wild):
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
