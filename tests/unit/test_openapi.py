"""The OpenAPI document kept in the repo is the one the code generates, and it describes every route."""

from __future__ import annotations

import json
from pathlib import Path

from memerase.api.resolver import openapi_document

ROOT = Path(__file__).resolve().parents[2]
KEPT = ROOT / "docs" / "openapi.json"


def test_the_kept_openapi_document_matches_the_code() -> None:
    # Given the document kept in the repository
    kept = json.loads(KEPT.read_text())
    # When the code generates it again
    generated = json.loads(json.dumps(openapi_document()))
    # Then nothing drifted
    assert kept == generated, "docs/openapi.json is stale: run `make openapi`"


def test_every_mem0_compatible_route_is_documented() -> None:
    # Given the generated document's paths
    paths = openapi_document()["paths"]
    expected = {
        ("/v1/ping", "get"),
        ("/v1/memories/{memory_id}", "delete"),
        ("/v1/memories", "delete"),
        ("/v1/batch", "delete"),
        ("/v1/entities", "get"),
        ("/v2/entities/{entity_type}/{entity_id}", "delete"),
        ("/v1/memories/{memory_id}/history", "get"),
        ("/v1/erasures", "post"),
        ("/v1/erasures/{job_id}", "get"),
        ("/v1/erasures/{job_id}/cancel", "post"),
        ("/v1/event/{event_id}", "get"),
        ("/v1/reset", "post"),
    }
    # When its operations are listed
    documented = {(path, method) for path, ops in paths.items() for method in ops}
    # Then every route mem0's client calls is among them
    assert expected <= documented
