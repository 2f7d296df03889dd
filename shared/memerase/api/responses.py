"""The documented error responses of the API's routes (for the OpenAPI document)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from memerase.api.schemas import ErrorBody

DESCRIPTIONS = {
    400: "bad input",
    401: "no or wrong API key",
    403: "outside the key's scope",
    404: "unknown memory",
    409: "conflicting job",
    413: "too large",
    429: "throttled",
    502: "a store refused the request",
    503: "a store is unavailable or throttling; retry after the Retry-After delay",
    500: "internal error",
}


def errors(*codes: int, **overrides: str) -> dict[int, OpenAPIResponse]:
    """`errors(400, 404, s404="unknown job")`: error responses with the ErrorBody schema."""
    schema = ErrorBody.model_json_schema()
    documented: dict[int, OpenAPIResponse] = {
        code: {
            "description": overrides.get(f"s{code}", DESCRIPTIONS[code]),
            "content": {"application/json": {"schema": schema}},
        }
        for code in codes
    }
    return documented


def ok(*codes: int, **overrides: str) -> dict[int, OpenAPIResponse]:
    """A 200 whose body is the route's return type (Powertools fills the schema in), plus `errors(*codes)`."""
    return {200: {"description": "success"}, **errors(*codes, 500, **overrides)}


COMMON = (400, 401, 403, 404, 429, 500, 502, 503)


def accepted(description: str) -> dict[int, OpenAPIResponse]:
    """A 202 carrying the job that was started or reused."""
    from memerase.api.schemas import JobAccepted

    return {
        202: {"description": description, "content": {"application/json": {"schema": JobAccepted.model_json_schema()}}}
    }
