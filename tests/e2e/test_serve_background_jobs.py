"""`memerase serve` with the user's own configuration (no state machine): an erasure job runs in the background, so
`POST /v1/erasures` answers 202 at once and the status route shows the job as it runs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from memerase import runtime
from memerase.jobs.steps import JobSteps
from tests.support import mem0_data as m0
from tests.support.targets import memerase_config


@pytest.fixture
def configured_server(
    aws: str, osmem_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str, list[m0.Memory]]]:
    """mem0 data in both stores, and `memerase serve` on a MEMERASE_CONFIG naming them (tables created by serve)."""
    from memerase_local.serve import run_serve

    data = m0.dataset(users=3, per_user=20)
    m0.write(m0.s3_store(), data)
    m0.write(m0.opensearch_store(osmem_url), data)
    monkeypatch.setenv("MEMERASE_CONFIG", json.dumps(memerase_config(osmem_url, history=None)))
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=run_serve, kwargs={"port": 0, "ready": ready, "stop": stop}, daemon=True)
    thread.start()
    try:
        assert ready.wait(60), "memerase serve did not come up"
        yield ready.url, ready.admin_key, data  # type: ignore[attr-defined]
    finally:
        stop.set()
        thread.join(60)
        runtime.reset()


def test_an_erasure_answers_202_before_its_job_runs_and_the_status_route_follows_it(
    configured_server: tuple[str, str, list[m0.Memory]], osmem_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a served configuration whose job is held at its first step until the test lets it go
    url, key, data = configured_server
    go = threading.Event()
    plan = JobSteps.plan

    def held_plan(self: JobSteps, job_id: str, execution: str | None = None) -> list[dict[str, Any]]:
        assert go.wait(60)
        return plan(self, job_id, execution)

    monkeypatch.setattr(JobSteps, "plan", held_plan)
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
    # When an erasure of user-1 is requested
    answer = requests.post(f"{url}/v1/erasures", json={"user_id": "user-1"}, headers=headers, timeout=30)
    # Then it is accepted at once, while its job has not run yet
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "QUEUED"
    status_url = f"{url}/v1/erasures/{answer.json()['job_id']}"
    assert requests.get(status_url, headers=headers, timeout=30).json()["status"] == "QUEUED"
    # And once the job may run, the status route shows it COMPLETED with exactly user-1's memories erased
    go.set()
    deadline = time.monotonic() + 120
    while (job := requests.get(status_url, headers=headers, timeout=30).json())["status"] in ("QUEUED", "RUNNING"):
        assert time.monotonic() < deadline, "the background job did not finish"
        time.sleep(0.2)
    assert job["status"] == "COMPLETED" and job["memories_erased"] == 40  # 20 memory records in each of 2 targets
    expected = {m.id: m.payload for m in data if m.payload["user_id"] != "user-1"}
    assert m0.s3_contents(m0.s3_store()) == expected
