"""Shared fixtures: real wire protocols against local stand-ins (moto server, osmem-server)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
from moto.server import ThreadedMotoServer

from tests.support.s3vectors_limits import S3VectorsLimits

pytest_plugins = ["tests.support.neptune_fixtures"]

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "memerase-tests")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("MEM0_TELEMETRY", "False")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "memerase-tests")


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials everywhere, so nothing can reach a real AWS account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("MEMERASE_CONFIG", raising=False)


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
