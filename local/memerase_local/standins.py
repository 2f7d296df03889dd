"""Embedded stand-ins that speak the real wire protocols: moto server (AWS), osmem-server (OpenSearch) and the
Neptune Analytics stand-in (boto3's `neptune-graph` ExecuteQuery, openCypher on FalkorDB)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from memerase_local.neptune_standin.server import NeptuneGraphStandIn


@dataclass(frozen=True)
class Standins:
    aws_url: str
    opensearch_url: str
    neptune: NeptuneGraphStandIn

    @property
    def neptune_graph_id(self) -> str:
        return self.neptune.graph_id


@contextmanager
def running_standins() -> Iterator[Standins]:
    """Start moto server, osmem-server and the Neptune Analytics stand-in on free local ports; point boto3 at moto
    through AWS_ENDPOINT_URL and its `neptune-graph` client at the stand-in (AWS_ENDPOINT_URL_NEPTUNE_GRAPH, no host
    prefix injection)."""
    import logging

    from moto.server import ThreadedMotoServer
    from osmem_server import OsmemServer

    from memerase_local.moto_dynamodb_requests import serve_dynamodb_one_request_at_a_time
    from memerase_local.moto_transactions import snapshot_each_table_once
    from memerase_local.neptune_standin.server import NeptuneGraphServer

    for key, value in {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MEM0_TELEMETRY": "False",
    }.items():
        os.environ.setdefault(key, value)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    snapshot_each_table_once()  # the audit table's transactions, at the speed of the real service's
    serve_dynamodb_one_request_at_a_time()  # serve's threads and job workers never see a table change mid-Query
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
    os.environ["MOTO_PORT"] = str(port)  # where moto's Step Functions interpreter sends its own service calls
    opensearch = OsmemServer.start(japanese=False)
    neptune = NeptuneGraphServer.start()
    os.environ.update(neptune.standin.env())
    try:
        yield Standins(aws_url=f"http://{host}:{port}", opensearch_url=opensearch.url, neptune=neptune.standin)
    finally:
        neptune.stop()
        opensearch.process.kill()
        moto.stop()
