"""The HTTP API's edge, before any route runs: request bodies a strict JSON reader refuses, and a method a known path
does not take (issue #18, items 14-16). No store is reached: each request is answered by the resolver itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

from memerase.api.resolver import full_api
from memerase_local.gateway import Gateway
from memerase_local.handlers import LambdaContext
from memerase_local.proxy_events import ProxyRequest, Stage, rest_event

ADMIN = {"key_id": "key_admin", "admin": "true", "scopes": "[]"}


def call(method: str, path: str, body: str | None = None) -> dict[str, Any]:
    """The full API (every route) answering one API Gateway REST proxy event from an admin key."""
    headers = {"Content-Type": "application/json", "Host": "localhost"}
    event = rest_event(ProxyRequest(method, path, path, headers, body=body), Stage(), ADMIN)
    return full_api().resolve(event, LambdaContext())


def headers_of(response: dict[str, Any]) -> dict[str, str]:
    """API Gateway's REST response headers: single-valued and multi-valued, merged."""
    multi = {k: ", ".join(v) for k, v in (response.get("multiValueHeaders") or {}).items()}
    return {**(response.get("headers") or {}), **multi}


def refusal(response: dict[str, Any], status: int = 400) -> str:
    assert response["statusCode"] == status, response
    body = json.loads(response["body"])
    assert set(body) == {"code", "detail"}
    return str(body["detail"])


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (json.dumps([{"user_id": "user-1"}, {"user_id": "user-2"}]), "one JSON object, not an array"),
        ('"user-1"', "one JSON object, not a string"),
        ("null", "one JSON object, not null"),
        ('{"user_id": "user-1", "user_id": "user-2"}', "the same key twice"),
        ('{"user_id": "user-1", "older_than_days": NaN}', "NaN or Infinity"),
        ('{"user_id": "\\ud800"}', "lone surrogate"),
        ('{"user_id": "user-1", "older_than_days": ' + "9" * 5000 + "}", "number in the request body is too long"),
        ('{"user_id": "user-1"} {"user_id": "user-2"}', "not valid JSON"),
    ],
    ids=["array", "string", "null", "duplicate-key", "nan", "lone-surrogate", "huge-number", "two-documents"],
)
def test_an_erasure_body_a_strict_reader_refuses_is_a_400_naming_the_problem(body: str, named: str) -> None:
    """Before the fix: the array was answered 202 with its first scope erased (Powertools' form-data rule takes a list's
    first element for a model), the duplicate key was last-wins, and the huge number was a 500 (ValueError)."""
    # Given a body that is not one well-formed JSON object
    # When it is posted to start an erasure
    response = call("POST", "/v1/erasures", body)
    # Then it is refused with a 400 that names the problem and never quotes the body
    detail = refusal(response)
    assert named in detail and "user-1" not in detail


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/v1/erasures"), ("DELETE", "/v1/batch/"), ("POST", "/v1/reset")]
)
def test_deeply_nested_json_is_a_400_before_any_parser_recurses(method: str, path: str) -> None:
    """Before the fix: a 500 internal_error, and a RecursionError in the log."""
    # Given a body of 100,000 nested arrays
    body = "[" * 100_000
    # When it is sent to a route that takes a body
    response = call(method, path, body)
    # Then it is a 400 naming the nesting
    assert "nests JSON deeper than" in refusal(response)


def test_nesting_within_the_limit_still_reaches_the_route() -> None:
    # Given a batch body three levels deep (the deepest a route takes)
    body = json.dumps({"memories": []})
    # When it is sent
    response = call("DELETE", "/v1/batch/", body)
    # Then the route's own validation answers it (the edge did not refuse it)
    assert "memories" in refusal(response)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/memories/", "DELETE"),
        ("PUT", "/v1/erasures", "POST"),
        ("DELETE", "/v1/erasures/job-1", "GET"),
        ("GET", "/v1/reset", "POST"),
    ],
)
def test_a_wrong_method_on_a_known_path_is_405_with_allow(method: str, path: str, allowed: str) -> None:
    """Before the fix: 404 no_route."""
    # Given a path the API serves with another method
    # When it is requested with a method it does not take
    response = call(method, path)
    # Then 405 method_not_allowed with the methods it does take in `Allow`
    assert allowed in refusal(response, 405)
    assert headers_of(response)["Allow"] == allowed
    assert json.loads(response["body"])["code"] == "method_not_allowed"


def test_an_unknown_path_is_still_404() -> None:
    # Given a path no route serves
    # When it is requested
    response = call("GET", "/v1/nothing-here/")
    # Then 404 no_route
    assert "no route" in refusal(response, 404)


def test_the_local_gateway_answers_a_wrong_method_with_405_and_allow() -> None:
    """Before the fix: `memerase serve` answered 404 no_route for a method a known path does not take."""
    # Given the local API Gateway with template.yaml's routes
    gateway = Gateway()
    # When a known path is requested with a method it does not take
    status, headers, body = gateway.handle("GET", "/v1/memories/", {}, None)
    # Then 405 with `Allow`, before any authorizer or function runs
    assert (status, headers["Allow"]) == (405, "DELETE")
    assert json.loads(body)["code"] == "method_not_allowed"
    assert gateway.handle("GET", "/v1/nothing-here/", {}, None)[0] == 404
