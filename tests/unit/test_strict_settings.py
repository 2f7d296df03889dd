"""Booleans that guard a deletion or a check take only a JSON boolean: in the configuration, the API's requests and
stored job records. Other values accept what mem0's own configuration accepts (a user pastes their mem0 config)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mem0.configs.vector_stores.opensearch import OpenSearchConfig as Mem0OpenSearchConfig
from pydantic import ValidationError

from memerase.api.resolver import make_resolver
from memerase.api.routes import erasures
from memerase.errors import ConfigError
from memerase.jobs.models import JobRecord
from memerase.settings import OpenSearchStore, Settings, parse_settings
from memerase_local.handlers import LambdaContext

OPENSEARCH = {"host": "search-x.eu-west-1.es.amazonaws.com", "port": 443, "collection_name": "mem0"}


def config(opensearch: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    target = {"name": "os", "vector_store": {"provider": "opensearch", "config": {**OPENSEARCH, **(opensearch or {})}}}
    return {"targets": [target], **top}


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "1", None], ids=repr)
def test_allow_reset_that_is_not_a_json_boolean_is_refused_naming_the_key(value: Any) -> None:
    # Given a configuration whose allow_reset is not a JSON boolean
    raw = config(allow_reset=value)

    # When it is read
    with pytest.raises(ConfigError) as refused:
        parse_settings(raw)

    # Then it is refused, naming the key, and saying what it takes
    assert "allow_reset" in str(refused.value) and "true or false" in str(refused.value)


@pytest.mark.parametrize("key", ["verify_certs", "use_ssl"])
@pytest.mark.parametrize("value", ["yes", 1, "false"], ids=repr)
def test_opensearch_tls_switches_that_are_not_json_booleans_are_refused_naming_the_key(key: str, value: Any) -> None:
    # Given an OpenSearch target whose TLS switch is not a JSON boolean
    raw = config({key: value})

    # When it is read
    with pytest.raises(ConfigError) as refused:
        parse_settings(raw)

    # Then it is refused, naming the key
    assert key in str(refused.value)


def test_json_booleans_are_taken_as_they_are() -> None:
    # Given every guarding boolean as a JSON boolean
    raw = config({"verify_certs": True, "use_ssl": True}, allow_reset=True)

    # When it is read
    settings = parse_settings(raw)

    # Then each is set
    store = settings.targets[0].vector_store
    assert settings.allow_reset is True
    assert isinstance(store, OpenSearchStore) and store.config.verify_certs is True and store.config.use_ssl is True


def test_other_values_accept_what_mem0s_own_configuration_accepts() -> None:
    # Given values mem0's OpenSearchConfig accepts although they are strings (as pasted from an environment)
    lax = {"port": "9200", "embedding_model_dims": "768", "pool_maxsize": "10"}
    Mem0OpenSearchConfig(**{**OPENSEARCH, **lax})

    # When memerase reads them
    settings = parse_settings(config(lax))

    # Then they are accepted as mem0 takes them
    store = settings.targets[0].vector_store
    assert isinstance(store, OpenSearchStore)
    assert (store.config.port, store.config.embedding_model_dims, store.config.pool_maxsize) == (9200, 768, 10)


def test_the_settings_model_itself_refuses_a_string_allow_reset() -> None:
    # When the settings model is given a string allow_reset directly
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate(config(allow_reset="yes"))

    # Then pydantic refuses it at that key
    assert refused.value.errors()[0]["loc"] == ("allow_reset",)


def erasure_request(body: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/erasures as API Gateway hands it over, with an admin caller from the authorizer."""
    return {
        "resource": "/v1/erasures",
        "path": "/v1/erasures",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "pathParameters": None,
        "requestContext": {
            "resourcePath": "/v1/erasures",
            "httpMethod": "POST",
            "stage": "v1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e812345678",
            "authorizer": {"key_id": "key_test", "admin": "true", "scopes": "[]"},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize("value", ["yes", 1, "true"], ids=repr)
def test_an_erasure_request_whose_dry_run_is_not_a_json_boolean_is_refused(value: Any) -> None:
    # Given the erasures API
    app = make_resolver(erasures.router)

    # When an erasure request's dry_run is not a JSON boolean
    reply = app.resolve(erasure_request({"user_id": "user-1", "dry_run": value}), LambdaContext())

    # Then it is refused with a 400 naming dry_run, before any store or job is touched
    assert reply["statusCode"] == 400
    assert "dry_run" in json.loads(reply["body"])["detail"]


@pytest.mark.parametrize("value", ["yes", "false", 1], ids=repr)
def test_a_stored_job_record_whose_dry_run_is_not_a_boolean_is_refused(value: Any) -> None:
    # Given a stored job record whose dry_run is not a boolean
    stored = {"job_id": "j1", "scope_hash": "h", "created_at": "t", "updated_at": "t", "dry_run": value}

    # When it is read
    with pytest.raises(ValidationError) as refused:
        JobRecord.model_validate(stored)

    # Then it is refused at dry_run
    assert [e["loc"] for e in refused.value.errors()] == [("dry_run",)]
