"""The OpenSearch client signs with SigV4 through opensearch-py's own signer when configured for AWS."""

from __future__ import annotations

import pytest
from opensearchpy import RequestsAWSV4SignerAuth

from memerase.settings import Target
from memerase.stores import opensearch
from memerase.stores.factory import build_target
from memerase.stores.opensearch import OpenSearchStore


@pytest.mark.parametrize("service", ["es", "aoss"])
def test_aws_auth_uses_opensearch_pys_sigv4_signer_for_the_service(service: str) -> None:
    # Given an OpenSearch target with aws_auth
    target = Target.model_validate(
        {
            "name": "os",
            "vector_store": {
                "provider": "opensearch",
                "config": {
                    "host": "search-x.eu-west-1.es.amazonaws.com",
                    "port": 443,
                    "use_ssl": True,
                    "aws_auth": {"region": "eu-west-1", "service": service},
                },
            },
        }
    )
    # When its stores are built
    store = build_target(target).memories
    # Then every connection signs with RequestsAWSV4SignerAuth for that region and service
    assert isinstance(store, OpenSearchStore)
    for connection in store._client.transport.connection_pool.connections:  # noqa: SLF001
        auth = connection.session.auth
        assert isinstance(auth, RequestsAWSV4SignerAuth)
        assert (auth.signer.region, auth.service) == ("eu-west-1", service)


def test_without_aws_auth_there_is_no_signer() -> None:
    # Given an OpenSearch target without AWS authentication
    target = Target.model_validate(
        {"name": "os", "vector_store": {"provider": "opensearch", "config": {"host": "localhost", "port": 9200}}}
    )
    # When its store is built
    store = build_target(target).memories
    # Then no connection signs its requests
    assert isinstance(store, OpenSearchStore)
    for connection in store._client.transport.connection_pool.connections:  # noqa: SLF001
        assert connection.session.auth is None


def tls_target(**extra: object) -> Target:
    config = {"host": "search-x.eu-west-1.es.amazonaws.com", "port": 443, "use_ssl": True, **extra}
    return Target.model_validate({"name": "os", "vector_store": {"provider": "opensearch", "config": config}})


def connections_verify(target: Target) -> set[bool]:
    store = build_target(target).memories
    assert isinstance(store, OpenSearchStore)
    # requests verifies with a CA bundle (a path) or True, and not at all with False
    return {c.session.verify is not False for c in store._client.transport.connection_pool.connections}  # noqa: SLF001


def test_tls_verifies_certificates_unless_the_configuration_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a TLS target as the README shows it (no verify_certs), and one that turns verification off explicitly
    default, explicit_off = tls_target(), tls_target(verify_certs=False)
    warnings: list[str] = []
    monkeypatch.setattr(opensearch.logger, "warning", lambda message, *args, **kwargs: warnings.append(message))
    # When their clients are built
    # Then the first verifies certificates; the second does not, and says so in a warning
    assert connections_verify(default) == {True}
    assert connections_verify(explicit_off) == {False}
    assert len(warnings) == 1 and "trusts any certificate" in warnings[0]
