"""mem0's OpenSearch options that change nothing (`api_key`, `connection_class`, `auto_refresh`) are accepted at
their defaults and refused otherwise, naming the key; the client is built from the target's configuration."""

from __future__ import annotations

from typing import Any

import pytest

from memerase.errors import ConfigError
from memerase.settings import OpenSearchStore as OpenSearchTarget
from memerase.settings import parse_settings
from memerase.stores.factory import build_target
from memerase.stores.opensearch import OpenSearchStore

OPENSEARCH = {"host": "localhost", "port": 9200, "collection_name": "mem0"}


def config(**opensearch: Any) -> dict[str, Any]:
    return {
        "targets": [{"name": "os", "vector_store": {"provider": "opensearch", "config": {**OPENSEARCH, **opensearch}}}]
    }


@pytest.mark.parametrize(
    ("key", "value"),
    [("api_key", "secret-key"), ("connection_class", "Urllib3HttpConnection"), ("auto_refresh", True)],
)
def test_an_option_that_would_be_silently_ignored_is_refused_naming_the_key(key: str, value: Any) -> None:
    # Given an OpenSearch target setting an option that memerase (and mem0's own client) would not act on
    raw = config(**{key: value})

    # When it is read
    with pytest.raises(ConfigError) as refused:
        parse_settings(raw)

    # Then it is refused, naming the key, and the value is not echoed
    message = str(refused.value)
    assert key in message and ("not supported" in message or "only RequestsHttpConnection" in message)
    assert "secret-key" not in message


def test_the_defaults_mem0_writes_for_those_options_are_accepted() -> None:
    # Given a pasted mem0 OpenSearch configuration with those options at mem0's defaults
    raw = config(api_key=None, connection_class="RequestsHttpConnection", auto_refresh=False)

    # When it is read
    settings = parse_settings(raw)

    # Then it is accepted
    assert isinstance(settings.targets[0].vector_store, OpenSearchTarget)


def test_user_and_password_become_the_clients_basic_auth() -> None:
    # Given an OpenSearch target with a user and password
    target = parse_settings(config(user="admin", password="pw", pool_maxsize=7)).targets[0]

    # When its stores are built
    store = build_target(target).memories

    # Then every connection authenticates with them
    assert isinstance(store, OpenSearchStore)
    connections = store._client.transport.connection_pool.connections  # noqa: SLF001
    assert connections and all(c.session.auth == ("admin", "pw") for c in connections)
