"""`memerase retention run` names its erasures in memerase's audit rows as the command line does (`actor_id` cli)."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from rich.console import Console

from memerase import runtime
from memerase.models import ErasureResult
from memerase.retention import RetentionPolicy
from memerase_local import cli_retention


class RecordingEraser:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def delete_matching(self, scope: Any, **kwargs: Any) -> ErasureResult:
        self.calls.append(kwargs)
        return ErasureResult(operation="delete_matching", dry_run=True)


class FakeSettings:
    retention = [RetentionPolicy.model_validate({"name": "month", "max_age_days": 30})]


def test_a_retention_run_from_the_cli_names_the_cli_as_the_erasures_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given one configured policy and an eraser that records how it is called
    eraser = RecordingEraser()
    monkeypatch.setattr(runtime, "settings", FakeSettings)
    monkeypatch.setattr(runtime, "eraser", lambda: eraser)
    args = argparse.Namespace(retention_command="run", policy=None, dry_run=True)
    # When `memerase retention run --dry-run` runs
    code = cli_retention.run(args, Console(file=None, quiet=True), Console(file=None, quiet=True))
    # Then the policy's erasure is made with the CLI as its actor (what the audit rows' actor_id carry)
    assert code == 0
    assert [call["actor"] for call in eraser.calls] == [cli_retention.CLI_ACTOR] == ["cli"]
