"""`memerase jobs list|show|cancel|resume`, run as a real process against moto server and osmem-server."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from memerase.fingerprint import ScopeHasher
from memerase.jobs.models import JobRecord, JobStatus
from memerase.jobs.repository import JobsTable, now, table_schema
from memerase.models import Scope
from tests.integration.test_cli import memerase
from tests.support import mem0_data as m0
from tests.support.targets import memerase_config

JOBS = "memerase-jobs"


@pytest.fixture
def cancelled_job(aws: str, osmem_url: str) -> tuple[dict[str, Any], list[m0.Memory], str]:
    """mem0 data in both stores, and a job for user-1 that was cancelled before it erased anything."""
    data = m0.dataset(users=3, per_user=10)
    m0.write(m0.s3_store(), data)
    m0.write(m0.opensearch_store(osmem_url), data)
    boto3.client("dynamodb").create_table(**table_schema(JOBS))
    scope = Scope.of(user_id="user-1")
    stamp = now()
    job = JobRecord(
        job_id="job-cli-1",
        status=JobStatus.CANCELLED,
        scope_hash=ScopeHasher.from_env().scope(scope),
        scope=scope,
        created_at=stamp,
        updated_at=stamp,
    )
    JobsTable(JOBS).create(job)
    return memerase_config(osmem_url, history=None, jobs={"table_name": JOBS}), data, job.job_id


def test_jobs_list_and_show_name_the_job_and_never_its_scope(
    cancelled_job: tuple[dict[str, Any], list[m0.Memory], str],
) -> None:
    # Given a cancelled job of user-1
    conf, _, job_id = cancelled_job
    # When the jobs are listed and the job is shown
    listed = memerase("jobs", "list", conf=conf)
    shown = memerase("jobs", "show", job_id, conf=conf)
    # Then both name it as CANCELLED, and neither prints the user id
    assert listed.returncode == 0 and shown.returncode == 0, listed.stderr + shown.stderr
    assert job_id in listed.stdout and "CANCELLED" in listed.stdout
    assert json.loads(shown.stdout)["status"] == "CANCELLED"
    assert "user-1" not in listed.stdout + shown.stdout


def test_jobs_resume_runs_a_cancelled_job_to_completion(
    cancelled_job: tuple[dict[str, Any], list[m0.Memory], str], osmem_url: str
) -> None:
    # Given a cancelled job of user-1 and a configuration without a state machine
    conf, data, job_id = cancelled_job
    # When it is resumed from the command line
    done = memerase("jobs", "resume", job_id, conf=conf)
    # Then it completes in this process, and exactly user-1's memories are gone from both stores
    assert done.returncode == 0, done.stderr
    assert "COMPLETED" in done.stdout
    expected = {m.id: m.payload for m in data if m.payload["user_id"] != "user-1"}
    assert m0.s3_contents(m0.s3_store()) == expected
    assert m0.opensearch_contents(m0.opensearch_store(osmem_url, fast_create=False)) == expected


def test_jobs_cancel_of_a_finished_job_is_refused_in_one_line(
    cancelled_job: tuple[dict[str, Any], list[m0.Memory], str],
) -> None:
    # Given a job that is already cancelled
    conf, _, job_id = cancelled_job
    # When it is cancelled again
    done = memerase("jobs", "cancel", job_id, conf=conf)
    # Then the command refuses with one line and exit status 1
    assert done.returncode == 1 and done.stderr.startswith("memerase: ") and "Traceback" not in done.stderr
