"""Shared fixtures: real wire protocols against local stand-ins (moto server, osmem-server)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
import requests
from moto.server import ThreadedMotoServer

from memerase_local.moto_dynamodb_requests import serve_dynamodb_one_request_at_a_time
from memerase_local.moto_transactions import snapshot_each_table_once
from tests.support import fake_aws
from tests.support.s3vectors_limits import S3VectorsLimits

snapshot_each_table_once()  # every moto of the suite (server or in-process): a table copied once per transaction
serve_dynamodb_one_request_at_a_time()  # and no Query walking a table while another thread adds an item

pytest_plugins = ["tests.support.neptune_fixtures"]

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "memerase-tests")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("MEM0_TELEMETRY", "False")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "memerase-tests")


@pytest.fixture(autouse=True)
def _aws_env() -> Iterator[None]:
    """Fake credentials everywhere, so nothing can reach a real AWS account; the whole environment is restored when
    the test ends, after its monkeypatch and any context that restores the environment itself (the Step Functions
    harness), whatever order those unwind in."""
    with mock.patch.dict(os.environ):
        fake_aws.apply()
        yield


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A clean moto server, reached over HTTP through boto3's standard AWS_ENDPOINT_URL."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    yield moto_url


@pytest.fixture
def s3_limits(aws: str) -> Iterator[S3VectorsLimits]:
    """moto's S3 Vectors with AWS's documented pagination, segment and batch limits enforced."""
    with S3VectorsLimits() as limits:
        yield limits


@pytest.fixture
def deploy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dict[str, Any]], None]]:
    """`deploy(config)`: make `config` this process's MEMERASE_CONFIG, with memerase's cached services rebuilt (as a
    new Lambda container would); they are dropped again when the test ends. (`tests.support.targets.Deploy` is its
    type; memerase and mem0 are imported here only when a test uses it, after the environment above is set.)"""
    from memerase import runtime

    def apply(config: dict[str, Any]) -> None:
        monkeypatch.setenv("MEMERASE_CONFIG", json.dumps(config))
        runtime.reset()

    yield apply
    runtime.reset()


# ---- the IAM coverage of the e2e suite (issue 18, item 7): its summary, also from xdist's workers -----------------


def pytest_sessionfinish(session: pytest.Session) -> None:
    checker = getattr(session.config, "_iam_checker", None)
    if checker is not None and hasattr(session.config, "workeroutput"):  # an xdist worker: hand it to the controller
        session.config.workeroutput["iam_coverage"] = json.dumps(checker.summary())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    from tests.support.aws_calls import merge

    summary = getattr(node, "workeroutput", {}).get("iam_coverage")
    if summary:
        merged = node.config.__dict__.setdefault("_iam_checked", {})
        merge(merged, summary)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    _iam_summary(terminalreporter, config)
    _cancel_summary(terminalreporter)


def _iam_summary(terminalreporter: Any, config: pytest.Config) -> None:
    checker = getattr(config, "_iam_checker", None)
    checked = {f: [list(c) for c in calls] for f, calls in config.__dict__.get("_iam_checked", {}).items()}
    if checker is not None:
        checked = checker.summary()
    if checked:
        from tests.support.aws_calls import report

        for line in report(checked):
            terminalreporter.write_line(line)


# ---- figures the suite prints: random cancel points (tests/e2e/test_cancel_stops_deleting.py) ----------------------
# Here, in the root conftest: under xdist the controller loads only the conftests of the paths it was given.

_CANCELS: list[dict[str, int]] = []
_PASSED: set[str] = set()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A test's tally is recorded by its fixture's teardown: counted when the test body passed."""
    if report.when == "call" and report.passed:
        _PASSED.add(report.nodeid)
    if report.when == "teardown" and report.nodeid in _PASSED:
        _CANCELS.extend(value for name, value in report.user_properties if name == "cancel_points")


def _cancel_summary(terminalreporter: Any) -> None:
    if not _CANCELS:
        return
    total = {key: sum(c[key] for c in _CANCELS) for key in _CANCELS[0]}
    terminalreporter.section("cancel means stop")
    terminalreporter.write_line(
        f"random cancel points tried: {total['tried']} in {len(_CANCELS)} runner(s); cancelled while running: "
        f"{total['cancelled']} (completed before the cancel: {total['completed_first']}); delete requests sent "
        f"after a cancel was answered: {total['deletes_after_answer']}"
    )
