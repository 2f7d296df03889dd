"""Request-scoped helpers the routers share: the caller, the engine, the launcher."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.router import Router

from memerase.api.principal import Principal


def caller(router: Router) -> Principal:
    """The principal the authorizer established (API Gateway puts its context in requestContext.authorizer)."""
    raw: dict[str, Any] = router.current_event.raw_event
    return Principal.from_context((raw.get("requestContext") or {}).get("authorizer"))


def base_path(router: Router) -> str:
    """The stage prefix under which the API is reached, for absolute status URLs."""
    raw: dict[str, Any] = router.current_event.raw_event
    stage = (raw.get("requestContext") or {}).get("stage")
    host = (raw.get("headers") or {}).get("Host") or (raw.get("headers") or {}).get("host")
    if host and stage and "execute-api" in host:
        return f"/{stage}"
    return ""
