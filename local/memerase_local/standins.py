"""Embedded stand-ins that speak the real wire protocols: moto server (AWS) and osmem-server (OpenSearch)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Standins:
    aws_url: str
    opensearch_url: str


@contextmanager
def running_standins() -> Iterator[Standins]:
    """Start moto server and osmem-server on free local ports; point boto3 at moto through AWS_ENDPOINT_URL."""
    import logging

    from moto.server import ThreadedMotoServer
    from osmem_server import OsmemServer

    for key, value in {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MEM0_TELEMETRY": "False",
    }.items():
        os.environ.setdefault(key, value)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
    os.environ["MOTO_PORT"] = str(port)  # where moto's Step Functions interpreter sends its own service calls
    opensearch = OsmemServer.start(japanese=False)
    try:
        yield Standins(aws_url=f"http://{host}:{port}", opensearch_url=opensearch.url)
    finally:
        opensearch.process.kill()
        moto.stop()
