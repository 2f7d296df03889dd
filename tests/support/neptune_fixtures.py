"""pytest fixtures for the Neptune stand-ins (loaded by tests/conftest.py through `pytest_plugins`).

- `neptune_graph`: the `neptune-graph` ExecuteQuery stand-in on FalkorDB (memerase_local.neptune_standin.server),
  emptied for each test, with boto3's standard endpoint settings pointing at it (`AWS_ENDPOINT_URL_NEPTUNE_GRAPH`,
  `AWS_DISABLE_HOST_PREFIX_INJECTION=true`).
- `gremlin_graph`: a gremlinpython `GraphTraversalSource` evaluated by gremlite over a temporary SQLite file.
- `websocket_handshakes`: a local WebSocket server on /gremlin recording each upgrade request's headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from memerase_local.neptune_standin.server import NeptuneGraphServer, NeptuneGraphStandIn
from tests.support.gremlin_standin import GremlinGraph, HandshakeRecorder, open_gremlin_graph


@pytest.fixture(scope="session")
def neptune_graph_server() -> Iterator[NeptuneGraphServer]:
    server = NeptuneGraphServer.start()
    yield server
    server.stop()


@pytest.fixture
def neptune_graph(
    neptune_graph_server: NeptuneGraphServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[NeptuneGraphStandIn]:
    standin = neptune_graph_server.standin
    standin.reset()
    for name, value in standin.env().items():
        monkeypatch.setenv(name, value)
    yield standin
    standin.reset()


@pytest.fixture
def gremlin_graph(tmp_path: Path) -> Iterator[GremlinGraph]:
    with open_gremlin_graph(tmp_path / "gremlin.sqlite") as graph:
        yield graph


@pytest.fixture
def websocket_handshakes() -> Iterator[HandshakeRecorder]:
    with HandshakeRecorder() as recorder:
        yield recorder
