"""The Neptune Database connection: SigV4-signed WebSocket handshakes (checked on a local WebSocket server), one
connection reused and signed afresh when replaced, and mem0's `neptune-db://` endpoints."""

from __future__ import annotations

import re
import threading
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from gremlin_python.process.anonymous_traversal import traversal
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from memerase.errors import ConfigError, RetryableStoreError, StoreError
from memerase.stores.gremlin_connection import (
    GremlinEndpoint,
    GremlinSession,
    close_all,
    parse_endpoint,
    signed_connector,
)
from memerase.stores.neptune_db import build_graph
from tests.support.gremlin_standin import HandshakeRecorder

AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=testing/(?P<day>\d{8})/(?P<region>[a-z0-9-]+)/(?P<service>[a-z-]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


def recorder_endpoint(recorder: HandshakeRecorder, region: str = "eu-west-3") -> GremlinEndpoint:
    parts = urlsplit(recorder.url)
    assert parts.hostname and parts.port
    return GremlinEndpoint(host=parts.hostname, port=parts.port, region=region, secure=False)


def expected_signature(endpoint: GremlinEndpoint, amz_date: str) -> str:
    """SigV4 of a GET to https://host:port/gremlin at `amz_date`, computed independently of the adapter."""
    request = AWSRequest(method="GET", url=endpoint.signed_url)
    request.context["timestamp"] = amz_date
    auth = SigV4Auth(Credentials("testing", "testing", "testing"), "neptune-db", endpoint.region)
    auth._modify_request_before_signing(request)
    return auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)


def test_the_handshake_is_signed_with_sigv4_for_neptune_db_in_the_region_and_host(
    websocket_handshakes: HandshakeRecorder,
) -> None:
    # Given an endpoint in eu-west-3 (the test's credentials are testing/testing with a session token)
    endpoint = recorder_endpoint(websocket_handshakes)

    # When a connection is made and sends a traversal (the silent server never answers it)
    connection = signed_connector(endpoint, read_timeout_s=0.2)()
    with pytest.raises(TimeoutError):
        traversal().with_remote(connection).V().count().next()
    connection.close()

    # Then its one handshake carries a SigV4 Authorization for neptune-db in eu-west-3, its date and token,
    # and the signature is the one for a GET to https://<host>:<port>/gremlin at that date
    [handshake] = websocket_handshakes.handshakes
    signed = AUTHORIZATION.match(handshake["Authorization"])
    assert signed is not None
    assert (signed["region"], signed["service"]) == ("eu-west-3", "neptune-db")
    assert "host" in signed["signed"].split(";") and "x-amz-date" in signed["signed"].split(";")
    assert handshake["X-Amz-Date"].startswith(signed["day"])
    assert handshake["X-Amz-Security-Token"] == "testing"
    assert handshake["Host"] == f"{endpoint.host}:{endpoint.port}"
    assert signed["signature"] == expected_signature(endpoint, handshake["X-Amz-Date"])


def test_a_session_signs_its_replacement_connection_afresh(websocket_handshakes: HandshakeRecorder) -> None:
    # Given a session whose traversals time out after 1.1 s (longer than SigV4's one-second date resolution)
    endpoint = recorder_endpoint(websocket_handshakes)
    session = GremlinSession(signed_connector(endpoint, read_timeout_s=1.1))

    # When a traversal is run: it times out, the session drops the connection, reconnects once, times out again
    with pytest.raises(RetryableStoreError, match="unreachable: TimeoutError"):
        session.run(lambda g: g.V().count().next())

    # Then there were two handshakes, each with its own date and a valid signature for that date
    first, second = websocket_handshakes.handshakes
    assert first["X-Amz-Date"] != second["X-Amz-Date"]
    assert first["Authorization"] != second["Authorization"]
    for handshake in (first, second):
        signed = AUTHORIZATION.match(handshake["Authorization"])
        assert signed is not None
        assert signed["signature"] == expected_signature(endpoint, handshake["X-Amz-Date"])


@pytest.mark.parametrize(
    ("endpoint", "region", "expected"),
    [
        (
            "neptune-db://db.cluster-x.eu-west-1.neptune.amazonaws.com",
            "eu-west-1",
            ("db.cluster-x.eu-west-1.neptune.amazonaws.com", 8182, "eu-west-1"),
        ),
        ("neptune-db://db.example:9000", None, ("db.example", 9000, "us-east-1")),
        ("neptune-db://db.example/", "ap-south-1", ("db.example", 8182, "ap-south-1")),
    ],
)
def test_mem0_endpoints_name_the_host_port_and_region(
    endpoint: str, region: str | None, expected: tuple[str, int, str]
) -> None:
    # Given mem0's endpoint (the region falls back to boto3's, us-east-1 in tests)
    # When it is parsed
    parsed = parse_endpoint(endpoint, region)

    # Then the connection goes to wss://host:port/gremlin and is signed for that host and region
    assert (parsed.host, parsed.port, parsed.region) == expected
    assert parsed.url == f"wss://{expected[0]}:{expected[1]}/gremlin"
    assert parsed.signed_url == f"https://{expected[0]}:{expected[1]}/gremlin"


@pytest.mark.parametrize(
    "endpoint",
    ["neptune-graph://g-123", "wss://db.example:8182/gremlin", "neptune-db://", "neptune-db://h:99999", "h.example"],
)
def test_other_endpoints_are_refused_as_configuration_errors(endpoint: str) -> None:
    # Given an endpoint that is not mem0's neptune-db://<host>[:<port>]
    # When the graph is built
    with pytest.raises(ConfigError) as refused:
        build_graph(endpoint, "eu-west-1", base_label=False)

    # Then the configuration error names the setting
    assert "graph_store.config.endpoint" in str(refused.value)
    assert refused.value.status == 400


def test_a_region_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no region anywhere
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)

    # When the graph is built without a region
    with pytest.raises(ConfigError, match="region"):
        build_graph("neptune-db://db.example", None, base_label=False)

    # Then (nothing connected) the error said what to set


def test_graphs_of_one_endpoint_share_one_lazy_connection() -> None:
    # Given two graphs built for the same endpoint (as warm invocations do), and one for another port
    first = build_graph("neptune-db://db.example", "eu-west-1", base_label=True)
    second = build_graph("neptune-db://db.example:8182", "eu-west-1", base_label=False)
    other = build_graph("neptune-db://db.example:9000", "eu-west-1", base_label=False)

    # When their sessions are compared
    # Then the same endpoint shares one session (nothing is opened before the first traversal); another does not
    assert first._session is second._session
    assert other._session is not first._session
    assert first.label == "neptune_db:db.example" and other.label == "neptune_db:db.example:9000"
    assert first.partitions() == 1 and first.batch_size == 500


def test_a_refused_handshake_says_what_to_check() -> None:
    # Given a server that refuses every WebSocket upgrade with 403, as Neptune does for a bad signature
    def refuse(connection: ServerConnection, request: Request) -> Response:
        return connection.respond(403, "Forbidden\n")

    with serve(lambda connection: None, "127.0.0.1", 0, process_request=refuse) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.socket.getsockname()[1]
        session = GremlinSession(signed_connector(GremlinEndpoint("127.0.0.1", port, "eu-west-3", secure=False)))

        # When a traversal is run
        with pytest.raises(StoreError) as refused:
            session.run(lambda g: g.V().count().next())
        server.shutdown()

    # Then a non-retryable store error names the permission, the region and IAM authentication
    assert type(refused.value) is StoreError
    assert "HTTP 403" in str(refused.value) and "neptune-db:connect" in str(refused.value)


def test_closing_at_exit_forgets_every_shared_session() -> None:
    # Given a graph built on a shared session
    before = build_graph("neptune-db://exit.example", "eu-west-1", base_label=False)

    # When the interpreter-exit hook runs, and the graph is built again
    close_all()
    after = build_graph("neptune-db://exit.example", "eu-west-1", base_label=False)

    # Then the old session was let go and a new one (with a new signed connection to come) took its place
    assert after._session is not before._session
