"""schemathesis against `memerase serve`: every operation of the OpenAPI document the server publishes at
/openapi.json, fuzzed with the admin key, must never answer 5xx, and every response must be one the document
describes (status code documented, content type, body schema, headers).

The document is generated from the routes at collection time (so each operation is its own test item) and a test
proves it is the one served. Fuzzing cannot reach existing memories and jobs (their ids are random), so requests on
real data are checked the same way. Known defects are strict xfails with their reason: once fixed they XPASS (red),
so their marks can go.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from memerase.api.resolver import openapi_document
from memerase.api.schemas import MAX_BATCH
from tests.e2e.conftest import LocalServer

DOCUMENT = openapi_document()
# undeclared methods the coverage phase probes: those the local gateway serves (OPTIONS/TRACE: see the xfail below)
GATEWAY_METHODS = ["get", "put", "post", "delete", "patch"]
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {"unexpected-methods": GATEWAY_METHODS}}})
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
BODY_OPERATIONS = [o for o in OPERATIONS if o.body]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=15,  # per operation, on top of the coverage phase's boundary cases
    deadline=None,
    derandomize=True,  # the same cases every run
    database=None,
    suppress_health_check=list(HealthCheck),
)


def call(case: Case, server: LocalServer, headers: dict[str, str] | None = None) -> Any:
    return case.call_and_validate(
        base_url=server.url, headers=headers or server.admin_headers, checks=CHECKS, timeout=60
    )


# ---- the document ----------------------------------------------------------------------------------------------------


def test_the_served_openapi_document_is_the_one_under_test(memerase_server: LocalServer) -> None:
    # Given `memerase serve` running
    # When the running server's /openapi.json is fetched, and loaded by schemathesis
    served = requests.get(f"{memerase_server.url}/openapi.json", timeout=30)
    loaded = schemathesis.openapi.from_url(f"{memerase_server.url}/openapi.json")
    # Then it is the document these tests were generated from, with the same operations
    assert served.status_code == 200 and served.headers["Content-Type"].startswith("application/json")
    assert served.json() == DOCUMENT
    assert sorted(r.ok().label for r in loaded.get_all_operations()) == sorted(o.label for o in OPERATIONS)


def test_every_operation_documents_a_success_response() -> None:
    # Given the OpenAPI document
    # When its operations' responses are read
    missing = sorted(
        o.label for o in OPERATIONS if not any(str(c).startswith("2") for c in o.definition.raw["responses"])
    )
    # Then every operation lists at least one 2xx response
    assert missing == [], f"operations without a documented 2xx: {missing}"


# ---- fuzzing ---------------------------------------------------------------------------------------------------------


@SCHEMA.parametrize()
@FUZZ
def test_fuzzed_requests_get_no_5xx_and_only_documented_responses(case: Case, memerase_server: LocalServer) -> None:
    # Given any request schemathesis derives from the document (valid and invalid data), sent with the admin key;
    # destructive ones included: they name random ids, and reset is disabled (allow_reset is false)
    # When it is sent
    # Then the answer is not a 5xx and status, content type, headers and body match the document (`call` checks)
    call(case, memerase_server)


# ---- real data (what fuzzing cannot reach: existing memories and jobs) -----------------------------------------------


def op(path: str, method: str) -> Any:
    return SCHEMA[path][method]


def seeded(server: LocalServer, count: int, user: str) -> list[str]:
    ids = sorted(i for i, p in server.s3_memories().items() if p.get("user_id") == user)
    assert len(ids) >= count, f"test data: fewer than {count} memories of {user} left"
    return ids[:count]


def deleted(server: LocalServer, user: str) -> str:
    [memory_id] = seeded(server, 1, user)
    response = requests.delete(f"{server.url}/v1/memories/{memory_id}/", headers=server.admin_headers, timeout=30)
    assert response.status_code == 200, response.text
    return memory_id


def finished_job(server: LocalServer) -> str:
    accepted = requests.post(
        f"{server.url}/v1/erasures",
        json={"user_id": "nobody", "dry_run": True},
        headers=server.admin_headers,
        timeout=30,
    ).json()
    server.wait_for_job(accepted["job_id"])
    return str(accepted["job_id"])


REAL_CASES: dict[str, Callable[[LocalServer], Case]] = {
    "ping (200)": lambda s: op("/v1/ping", "GET").Case(),
    "entities (200)": lambda s: op("/v1/entities", "GET").Case(),
    "delete one seeded memory (200)": lambda s: op("/v1/memories/{memory_id}", "DELETE").Case(
        path_parameters={"memory_id": seeded(s, 1, "user-0")[0]}
    ),
    "history of a deleted memory (200)": lambda s: op("/v1/memories/{memory_id}/history", "GET").Case(
        path_parameters={"memory_id": deleted(s, "user-0")}
    ),
    "batch-delete seeded memories (200)": lambda s: op("/v1/batch", "DELETE").Case(
        body={"memories": [{"memory_id": m} for m in seeded(s, 2, "user-0")]}
    ),
    "status of a finished job (200)": lambda s: op("/v1/erasures/{job_id}", "GET").Case(
        path_parameters={"job_id": finished_job(s)}
    ),
    "event of a finished job (200)": lambda s: op("/v1/event/{event_id}", "GET").Case(
        path_parameters={"event_id": finished_job(s)}
    ),
    "cancel a finished job (409)": lambda s: op("/v1/erasures/{job_id}/cancel", "POST").Case(
        path_parameters={"job_id": finished_job(s)}
    ),
    "start a dry-run erasure job (202)": lambda s: op("/v1/erasures", "POST").Case(
        body={"user_id": "user-1", "dry_run": True, "reason": "cleanup"}
    ),
    "delete all memories of a user (202)": lambda s: op("/v1/memories", "DELETE").Case(query={"user_id": "user-3"}),
    "delete an entity (202)": lambda s: op("/v2/entities/{entity_type}/{entity_id}", "DELETE").Case(
        path_parameters={"entity_type": "user", "entity_id": "user-2"}
    ),
    "batch over the limit (413)": lambda s: op("/v1/batch", "DELETE").Case(
        body={"memories": [{"memory_id": f"m-{i}"} for i in range(MAX_BATCH + 1)]}
    ),
    "reset while it is disabled (403)": lambda s: op("/v1/reset", "POST").Case(body={"target": "s3", "confirm": "s3"}),
}


@pytest.mark.parametrize("name", list(REAL_CASES))
def test_requests_on_real_memories_and_jobs_get_documented_responses(name: str, memerase_server: LocalServer) -> None:
    # Given a request on memories or jobs that exist (or a refusal fuzzing cannot trigger)
    case = REAL_CASES[name](memerase_server)
    # When it is sent with the admin key
    response = call(case, memerase_server)
    # Then the answer is not a 5xx and is the one the document describes for it (`call` checks the document)
    assert name.endswith(f"({response.status_code})"), response.text
    memerase_server.wait_for_all_jobs()


@pytest.mark.parametrize("operation", OPERATIONS, ids=[o.label for o in OPERATIONS])
def test_every_operation_answers_a_wrong_key_with_its_documented_401(
    operation: Any, memerase_server: LocalServer
) -> None:
    # Given a request to the operation with a key memerase never issued
    case = operation.Case(path_parameters={p.name: "x" for p in operation.path_parameters})
    # When it is sent
    response = call(case, memerase_server, headers={"Authorization": "Token mek_never-issued"})
    # Then the authorizer's 401 is documented for the operation and its body matches
    assert response.status_code == 401


# ---- known defects ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data"])
@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=[o.label for o in BODY_OPERATIONS])
def test_body_with_a_non_json_content_type_gets_a_documented_4xx(
    operation: Any, content_type: str, memerase_server: LocalServer
) -> None:
    # Given a JSON body sent under another Content-Type (the probes schemathesis's coverage phase makes)
    case = operation.Case(body={})
    # When it is sent
    response = requests.request(
        operation.method.upper(),
        f"{memerase_server.url}{operation.path}",
        data=json.dumps({"user_id": "nobody", "memories": [{"memory_id": "x"}], "target": "s3", "confirm": "s3"}),
        headers={**memerase_server.admin_headers, "Content-Type": content_type},
        timeout=30,
    )
    # Then the answer is a documented client error, not a 5xx
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE"])
def test_an_undeclared_method_gets_a_4xx(method: str, memerase_server: LocalServer) -> None:
    # Given `memerase serve` running and an admin key
    # When an HTTP method no operation declares is sent to a documented path
    response = requests.request(
        method, f"{memerase_server.url}/v1/ping/", headers=memerase_server.admin_headers, timeout=30
    )
    # Then the answer is a client error, not a server error
    assert 400 <= response.status_code < 500, response.status_code
