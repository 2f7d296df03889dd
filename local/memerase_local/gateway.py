"""A local stand-in for API Gateway: each HTTP request becomes a REST proxy event for the very Lambda handler that
template.yaml maps its route to, after the same Lambda authorizer has run. Routes are read from template.yaml."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from memerase_local.handlers import API_TIMEOUT_MS, invoke
from memerase_local.proxy_events import ProxyRequest, Stage, authorizer_event, rest_event

# template.yaml as the package ships it (in the checkout, a link to the one at the root)
TEMPLATE = Path(__file__).resolve().parent / "template.yaml"
STAGE = Stage()
UNAUTHORIZED = {"code": "unauthorized", "detail": "Missing or invalid API key"}


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    function: str  # folder under functions/
    public: bool


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags as {"Ref": value}-style mappings."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node)
    else:
        value = loader.construct_mapping(node)  # type: ignore[arg-type]
    return {suffix: value}


_Loader.add_multi_constructor("!", _tag)


def load_routes(template: Path = TEMPLATE, api: str = "MemeraseApi") -> list[Route]:
    """The routes of one API in template.yaml: (method, path) -> the function folder that owns it."""
    resources = yaml.load(template.read_text(), Loader=_Loader)["Resources"]  # noqa: S506
    routes = []
    for resource in resources.values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        folder = Path(resource["Properties"]["CodeUri"]).name
        for event in (resource["Properties"].get("Events") or {}).values():
            props = event["Properties"]
            if event["Type"] != "Api" or props.get("RestApiId") != {"Ref": api}:
                continue
            path = props["Path"]
            regex = (
                "^"
                + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", re.escape(path).replace("\\{", "{").replace("\\}", "}"))
                + "/?$"
            )
            public = (props.get("Auth") or {}).get("Authorizer") == "NONE"
            routes.append(Route(props["Method"].upper(), path, re.compile(regex), folder, public))
    return routes


class Gateway:
    def __init__(self, routes: list[Route] | None = None):
        self.routes = routes if routes is not None else load_routes()

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(raw_path)
        path = unquote(split.path)
        for route in self.routes:
            match = route.pattern.match(split.path)
            if route.method == method and match:
                break
        else:
            return _no_route(self.routes, method, split.path, path)
        request = ProxyRequest(
            method,
            split.path,
            route.template,
            headers,
            path_parameters={k: unquote(v) for k, v in match.groupdict().items()},
            query=parse_qs(split.query, keep_blank_values=True),
            body=body or None,
        )
        context: dict[str, Any] | None = None
        if not route.public:
            context = self._authorize(request)
            if context is None:
                return _json(401, UNAUTHORIZED)
        response = invoke(route.function, rest_event(request, STAGE, context), API_TIMEOUT_MS)
        out_headers = {k: ", ".join(v) for k, v in (response.get("multiValueHeaders") or {}).items()}
        out_headers.update(response.get("headers") or {})
        return int(response["statusCode"]), out_headers, (response.get("body") or "").encode()

    def _authorize(self, request: ProxyRequest) -> dict[str, Any] | None:
        try:
            policy = invoke("authorizer", authorizer_event(request, STAGE), API_TIMEOUT_MS)
        except Exception:  # the authorizer's "Unauthorized"
            return None
        return {**(policy.get("context") or {}), "principalId": policy.get("principalId")}


def _json(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()


def _no_route(routes: list[Route], method: str, raw_path: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """405 with `Allow` when other methods serve this path, else 404."""
    allowed = sorted({route.method for route in routes if route.pattern.match(raw_path)})
    if allowed:
        detail = f"{method} is not allowed here; this path takes {', '.join(allowed)}"
        return _json(405, {"code": "method_not_allowed", "detail": detail}, {"Allow": ", ".join(allowed)})
    return _json(404, {"code": "no_route", "detail": f"no route for {method} {path}"})


def serve_http(gateway: Gateway, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            try:
                status, headers, payload = gateway.handle(self.command, self.path, dict(self.headers.items()), body)
            except Exception:  # never a stack trace to the caller
                status, headers, payload = _json(502, {"code": "bad_gateway", "detail": "the handler failed"})
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in ("content-length", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = do_TRACE = _any  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return ThreadingHTTPServer((host, port), Handler)
