"""What the routers read from the current request: the caller (the principal the authorizer established), the
stage's base path, and path parameters decoded."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.router import Router

from memerase.models import MAX_ID_LENGTH
from memerase.observability import fingerprint, logger
from memerase.principal import Principal


def caller(router: Router) -> Principal:
    """The principal API Gateway established: the API key authorizer's context (requestContext.authorizer), or, on
    the IAM-authenticated service API, the SigV4 caller (IAM policy already decided it may call: full scope)."""
    raw: dict[str, Any] = router.current_event.raw_event
    request_context = raw.get("requestContext") or {}
    authorizer = request_context.get("authorizer")
    user_arn = (request_context.get("identity") or {}).get("userArn")
    if not (authorizer and "key_id" in authorizer) and user_arn:
        return Principal(key_id=f"iam:{fingerprint(user_arn)}", admin=True)
    return Principal.from_context(authorizer)


def base_path(router: Router) -> str:
    """The stage prefix under which the API is reached, for absolute status URLs."""
    raw: dict[str, Any] = router.current_event.raw_event
    stage = (raw.get("requestContext") or {}).get("stage")
    host = (raw.get("headers") or {}).get("Host") or (raw.get("headers") or {}).get("host")
    if host and stage and "execute-api" in host:
        return f"/{stage}"
    return ""


def absolute_url(router: Router, path: str) -> str:
    """`path` (under the stage) as an absolute URL, as the caller reached the API: mem0's client follows a `next`
    link as given, and a relative one would be joined to its own base URL, stage and all."""
    raw: dict[str, Any] = router.current_event.raw_event
    headers = {str(k).lower(): str(v) for k, v in (raw.get("headers") or {}).items()}
    host = headers.get("host")
    if not host:
        return f"{base_path(router)}{path}"
    scheme = headers.get("x-forwarded-proto", "http").split(",")[0].strip()  # API Gateway always sets it: https
    return f"{scheme}://{host}{base_path(router)}{path}"


ENCODED_ID_LENGTH = 3 * MAX_ID_LENGTH  # a path parameter arrives percent-encoded: the decoded id is checked after


def path_value(value: str) -> str:
    """A path parameter's real value. API Gateway REST APIs hand the path over still percent-encoded (mem0's client
    quotes every segment: `carol@example.com` arrives as `carol%40example.com`), and the resolver takes route
    parameters from that path."""
    return unquote(value)


def request_id(router: Router) -> str | None:
    """API Gateway's id of the current request (the one its access log and the caller's response carry)."""
    raw: dict[str, Any] = router.current_event.raw_event
    value = (raw.get("requestContext") or {}).get("requestId")
    return str(value) if value else None


def audit(router: Router, principal: Principal, action: str, **counts: object) -> None:
    """Who erased what: one log line per erasure request with the API key's id (never the key) and the request id;
    `counts` are counts and job ids only, never memory ids, user ids or text."""
    logger.info(
        "erasure request",
        extra={"action": action, "key_id": principal.key_id, "request_id": request_id(router), **counts},
    )
