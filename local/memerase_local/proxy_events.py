"""The events API Gateway (REST, v1) hands to Lambda: a proxy integration's request event and a REQUEST authorizer's
event. One builder for the local gateway (`memerase serve`) and the tests."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Stage:
    """The API and stage a request arrives through, and the caller's address."""

    name: str = "local"
    api_id: str = "local"
    domain: str = "localhost"
    source_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class ProxyRequest:
    """One HTTP request as API Gateway sees it: `path` as requested (without the stage), `resource` the route
    template it matched, `query` multi-valued as parsed, `body` as text."""

    method: str
    path: str
    resource: str
    headers: dict[str, str] = field(default_factory=dict)
    path_parameters: dict[str, str] | None = None
    query: dict[str, list[str]] | None = None
    body: Any = None

    @property
    def body_text(self) -> str | None:
        if self.body is None or isinstance(self.body, str):
            return self.body
        if isinstance(self.body, bytes | bytearray):
            return bytes(self.body).decode("utf-8", errors="replace")
        return json.dumps(self.body)


def _identity(request: ProxyRequest, stage: Stage) -> dict[str, Any]:
    user_agent = next((v for k, v in request.headers.items() if k.lower() == "user-agent"), None)
    return {
        "sourceIp": stage.source_ip,
        "userAgent": user_agent,
        "accountId": None,
        "caller": None,
        "user": None,
        "userArn": None,
        "cognitoIdentityId": None,
    }


def rest_event(request: ProxyRequest, stage: Stage, authorizer: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Lambda proxy integration event; `authorizer` is the authorizer's context (`requestContext.authorizer`)."""
    request_id = str(uuid.uuid4())
    now = time.time()
    query = request.query or None
    return {
        "resource": request.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": request.headers,
        "multiValueHeaders": {k: [v] for k, v in request.headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": query,
        "pathParameters": request.path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "a1b2c3",
            "resourcePath": request.resource,
            "httpMethod": request.method,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{stage.name}{request.path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": stage.name,
            "domainPrefix": stage.api_id,
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "domainName": stage.domain,
            "apiId": stage.api_id,
            "identity": _identity(request, stage),
            **({"authorizer": authorizer} if authorizer is not None else {}),
        },
        "body": request.body_text,
        "isBase64Encoded": False,
    }


def authorizer_event(request: ProxyRequest, stage: Stage) -> dict[str, Any]:
    """What API Gateway sends a REQUEST authorizer before it invokes the route's function."""
    query = request.query or {}
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{stage.api_id}/{stage.name}/{request.method}"
        f"{request.resource}",
        "resource": request.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": request.headers,
        "multiValueHeaders": {k: [v] for k, v in request.headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()},
        "multiValueQueryStringParameters": query,
        "pathParameters": request.path_parameters or {},
        "stageVariables": {},
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": stage.api_id,
            "stage": stage.name,
            "httpMethod": request.method,
            "requestId": str(uuid.uuid4()),
            "resourcePath": request.resource,
            "identity": {"sourceIp": stage.source_ip, "userAgent": _identity(request, stage)["userAgent"]},
        },
    }
