"""Builds the Powertools resolver each API function uses: validation on, domain errors mapped to typed bodies."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import Router

from memerase import __version__
from memerase.api.body import body_problem
from memerase.api.schemas import ErrorBody
from memerase.errors import MemeraseError
from memerase.observability import logger

TITLE = "memerase"
DESCRIPTION = (
    "Erases mem0 memories from S3 Vectors and OpenSearch. The /v1 deletion routes are compatible with "
    "mem0's MemoryClient; /v1/erasures are memerase's own jobs."
)


def _error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Response[Any]:
    body: Any = ErrorBody(code=code, detail=detail).model_dump_json()
    return Response(status_code=status, content_type="application/json", headers=headers, body=body)


class _JsonOnlyResolver(APIGatewayRestResolver):
    """Refuses a request body that is not one strict JSON object before any parsing (Powertools would try form and
    multipart parsers, whose failures are not validation errors, take an array body's first element, and recurse
    into any depth of nesting)."""

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        content_type = str(headers.get("content-type") or "application/json").split(";")[0].strip().lower()
        if event.get("body") and content_type != "application/json" and not content_type.endswith("+json"):
            return _refusal("the request body must be JSON (Content-Type: application/json)")
        problem = body_problem(event)
        if problem:
            return _refusal(problem)
        return super().resolve(event, context)

    def allowed_methods(self, path: str) -> list[str]:
        """The methods of the routes serving `path` (for a 405's `Allow`)."""
        routes = self._static_routes + self._dynamic_routes
        return sorted({route.method for route in routes if route.rule.match(path)})


def _refusal(detail: str) -> dict[str, Any]:
    return {
        "statusCode": 400,
        "headers": {"Content-Type": "application/json"},
        "body": ErrorBody(code="invalid_request", detail=detail).model_dump_json(),
        "isBase64Encoded": False,
    }


def make_resolver(*routers: Router) -> _JsonOnlyResolver:
    app = _JsonOnlyResolver(enable_validation=True, response_validation_error_http_code=500)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(MemeraseError)
    def domain_error(exc: MemeraseError) -> Response[Any]:
        headers = {"Retry-After": "2"} if exc.status in (429, 503) else None
        if exc.status >= 500:
            logger.warning("store failure", extra={"code": exc.code})
        return _error(exc.status, exc.code, str(exc), headers)

    @app.exception_handler(RequestValidationError)
    def invalid(exc: RequestValidationError) -> Response[Any]:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(400, "invalid_request", f"{where}: {first.get('msg', first.get('type', 'invalid'))}")

    @app.not_found
    def not_found(_exc: NotFoundError) -> Response[Any]:
        method = app.current_event.http_method.upper()
        allowed = app.allowed_methods(app.context.get("_path") or app.current_event.path)
        if allowed:
            detail = f"{method} is not allowed here; this path takes {', '.join(allowed)}"
            return _error(405, "method_not_allowed", detail, {"Allow": ", ".join(allowed)})
        return _error(404, "no_route", f"no route for {method} {app.current_event.path}")

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response[Any]:
        # Where it failed, not what it said: an exception's message may quote input (ids, text).
        logger.error(
            "unhandled error", extra={"error": type(exc).__name__, "at": traceback.format_tb(exc.__traceback__)}
        )
        return _error(500, "internal_error", "internal error; the request may be retried")

    return app


def full_api() -> APIGatewayRestResolver:
    """Every route of every function, for the OpenAPI document and the local server."""
    from memerase.api.routes import admin, erasures, memories

    return make_resolver(memories.router, erasures.router, admin.router, docs_router())


def openapi_document() -> dict[str, Any]:
    # OpenAPI's own models (about 0.2 s of pydantic model building) only when the document is asked for.
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    schema: dict[str, Any] = (
        full_api()
        .get_openapi_schema(
            title=TITLE,
            version=__version__,
            description=DESCRIPTION,
            security_schemes={
                "ApiKey": APIKey(
                    name="Authorization",
                    in_=APIKeyIn.header,
                    description="`Token <key>`, as mem0's MemoryClient sends it",
                )
            },
            security=[{"ApiKey": []}],
        )
        .model_dump(mode="json", by_alias=True, exclude_none=True)
    )
    return schema


def docs_router() -> Router:
    router = Router()

    @router.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return openapi_document()

    return router
