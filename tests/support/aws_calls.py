"""Every AWS call a function makes while the harness runs its handler (`memerase_local.handlers.RUNNING` names it), as
IAM authorises it: the action(s) and the resource, for botocore's clients (DynamoDB, Step Functions, EventBridge, SQS,
Secrets Manager, S3 Vectors, Neptune Analytics' ExecuteQuery, neptunedata), opensearch-py's HTTP requests
(`es:ESHttp<Verb>` on `<domain ARN>/<path>`) and gremlinpython's traversals (Neptune Database: `neptune-db:connect`
and the query actions its steps need). `CallChecker` decides each distinct call against that function's own policies
in template.yaml (`template_policies`), for the deployment in use when the call was made (its MEMERASE_CONFIG).

A call whose resource this module cannot name is refused, naming the operation: add a rule below rather than let a
new kind of call pass unchecked."""

from __future__ import annotations

import json
import os
import re
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlparse

from memerase_local.handlers import RUNNING
from tests.support.template_policies import ACCOUNT, REGION, Deployment, RolePolicies, opensearch_domain_arn, template


@dataclass(frozen=True)
class Call:
    function: str  # the template's logical id, e.g. JobEraseFunction
    action: str  # service:Action, as IAM names it
    resource: str  # the ARN IAM authorises; "" when no rule names it
    config: str  # the settings in use when the call was made (`settings_key`): the deployment it is checked against
    context: tuple[tuple[str, str], ...] = ()  # condition keys of the request

    def __str__(self) -> str:
        return f"{self.function}: {self.action} on {self.resource or '<no rule names its resource>'}"


def functions_by_folder() -> dict[str, str]:
    """functions/<folder>/ -> the template's function (its CodeUri)."""
    resources = template()["Resources"]
    return {
        Path(r["Properties"]["CodeUri"]).name: name
        for name, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function"
    }


# ---- what IAM authorises, per call ---------------------------------------------------------------------------------


def _table(name: str, index: str | None = None) -> str:
    arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


def _dynamodb(op: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    if op in ("BatchWriteItem", "BatchGetItem"):
        return [(op, _table(t)) for t in params.get("RequestItems", {})]
    if op == "TransactWriteItems":
        return [(_TRANSACT[k], _table(v["TableName"])) for item in params["TransactItems"] for k, v in item.items()]
    if op == "TransactGetItems":
        return [("GetItem", _table(item["Get"]["TableName"])) for item in params["TransactItems"]]
    return [(op, _table(params["TableName"], params.get("IndexName")))] if "TableName" in params else []


def _states(op: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    arn = params.get("executionArn") or params.get("stateMachineArn")
    return [(op, arn)] if arn else []


def _events(op: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    buses = {e.get("EventBusName") or "default" for e in params.get("Entries", [])} or {"default"}
    return [(op, b if b.startswith("arn:") else f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{b}") for b in buses]


def _sqs(op: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    if "QueueUrl" not in params:
        return []
    account, name = urlparse(params["QueueUrl"]).path.strip("/").split("/")[-2:]
    return [(op.removesuffix("Batch"), f"arn:aws:sqs:{REGION}:{account}:{name}")]


def _secrets(op: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    secret = params.get("SecretId", "")
    return [(op, secret if secret.startswith("arn:") else f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}")]


def _s3vectors(op: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    if "indexArn" in params:
        return [(op, params["indexArn"])]
    bucket = params.get("vectorBucketName")
    if not bucket:
        return [(op, params["vectorBucketArn"])] if "vectorBucketArn" in params else []
    arn = f"arn:aws:s3vectors:{REGION}:{ACCOUNT}:bucket/{bucket}"
    return [(op, f"{arn}/index/{params['indexName']}" if "indexName" in params else arn)]


_DELETES = re.compile(r"\b(DETACH\s+)?DELETE\b", re.IGNORECASE)
_WRITES = re.compile(r"\b(CREATE|MERGE|SET|REMOVE)\b|neptune\.algo\.vectors\.upsert", re.IGNORECASE)


def query_actions(query: str) -> list[str]:
    """The query actions Neptune needs for an openCypher query: every query reads; a write or delete clause adds
    its action (Neptune requires every action a query could perform)."""
    actions = ["ReadDataViaQuery"]
    if _WRITES.search(query):
        actions.append("WriteDataViaQuery")
    if _DELETES.search(query):
        actions.append("DeleteDataViaQuery")
    return actions


def _neptune_graph(op: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    graph = f"arn:aws:neptune-graph:{REGION}:{ACCOUNT}:graph/{params.get('graphIdentifier', '')}"
    if op == "ExecuteQuery":
        return [(a, graph) for a in query_actions(params.get("queryString", ""))]
    return [(op, graph)]


RULES = {
    "dynamodb": _dynamodb,
    "states": _states,
    "events": _events,
    "sqs": _sqs,
    "secretsmanager": _secrets,
    "s3vectors": _s3vectors,
    "neptune-graph": _neptune_graph,
}

_GREMLIN_WRITES = {"addV", "addE", "property", "mergeV", "mergeE"}


def gremlin_actions(step_names: set[str]) -> list[str]:
    """neptune-db actions of a Gremlin traversal: connect, read, and write / delete when a step does."""
    actions = ["connect", "ReadDataViaQuery"]
    if step_names & _GREMLIN_WRITES:
        actions.append("WriteDataViaQuery")
    if "drop" in step_names:
        actions.append("DeleteDataViaQuery")
    return actions


# ---- recording -----------------------------------------------------------------------------------------------------


class CallRecorder:
    """Collects the calls made while a handler runs (on any thread), until `drain`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Call] = []
        self._folders = functions_by_folder()

    def _add(self, actions: list[tuple[str, str]], prefix: str, context: tuple[tuple[str, str], ...] = ()) -> None:
        folder = RUNNING.get()
        if folder is None:
            return  # the test's own setup and reads, the stand-ins' internals: no function made it
        function = self._folders.get(folder, folder)
        config = settings_key()
        calls = [Call(function, f"{prefix}:{action}", resource, config, context) for action, resource in actions]
        with self._lock:
            self._pending.extend(calls)

    def aws(self, client: Any, operation: str, params: Mapping[str, Any]) -> None:
        prefix = client.meta.service_model.signing_name
        rule = RULES.get(prefix)
        found = rule(operation, params) if rule else []
        self._add(found or [(operation, "")], prefix)

    def opensearch(self, hosts: list[dict[str, Any]], method: str, url: str) -> None:
        host = hosts[0] if hosts else {}
        domain = opensearch_domain_arn(f"{host.get('host', '')}:{host.get('port', '')}")
        path = "/" + url.split("?", 1)[0].lstrip("/")
        self._add([(f"ESHttp{method.title()}", domain + path.rstrip("/"))], "es")

    def gremlin(self, step_names: set[str]) -> None:
        config = settings_key()
        cluster = deployment(config).neptune_db if config else None
        resource = f"arn:aws:neptune-db:{REGION}:{ACCOUNT}:{cluster}/database" if cluster else ""
        self._add([(a, resource) for a in gremlin_actions(step_names)], "neptune-db")

    def drain(self) -> list[Call]:
        with self._lock:
            calls, self._pending = self._pending, []
        return calls

    @contextmanager
    def installed(self) -> Iterator[CallRecorder]:
        """Record while the block runs: wraps botocore's one entry of every API call, opensearch-py's transport and
        gremlinpython's remote strategy; each wrapper calls through unchanged."""
        from botocore.client import BaseClient
        from gremlin_python.driver.remote_connection import RemoteStrategy
        from opensearchpy.transport import Transport

        api_call, perform, apply = BaseClient._make_api_call, Transport.perform_request, RemoteStrategy.apply  # type: ignore[attr-defined]
        recorder = self

        def make_api_call(client: Any, operation: str, params: Any) -> Any:
            recorder.aws(client, operation, params)
            return api_call(client, operation, params)

        def perform_request(transport: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            recorder.opensearch(transport.hosts or [], method, url)
            return perform(transport, method, url, *args, **kwargs)

        def apply_remote(strategy: Any, traversal: Any) -> Any:
            if traversal.traversers is None:
                recorder.gremlin({step[0] for step in traversal.bytecode.step_instructions})
            return apply(strategy, traversal)

        with ExitStack() as stack:
            stack.enter_context(mock.patch.object(BaseClient, "_make_api_call", make_api_call))
            stack.enter_context(mock.patch.object(Transport, "perform_request", perform_request))
            stack.enter_context(mock.patch.object(RemoteStrategy, "apply", apply_remote))
            yield self


# ---- checking ------------------------------------------------------------------------------------------------------

_SETTINGS: dict[str, Any] = {}  # key -> the Settings object it names (kept, so its id is never reused)
_DEPLOYMENTS: dict[str, Deployment] = {}
_POLICIES: dict[str, RolePolicies] = {}


def settings_key() -> str:
    """The settings the running handler uses: memerase's cached ones (the environment may have been restored since
    they were read, e.g. a module's `memerase serve`), else MEMERASE_CONFIG; "" when there are none."""
    from memerase import runtime

    if runtime.settings.cache_info().currsize:
        settings = runtime.settings()
        key = f"settings:{id(settings)}"
        _SETTINGS.setdefault(key, settings)
        return key
    return os.environ.get("MEMERASE_CONFIG", "")


def deployment(config: str) -> Deployment:
    """The deployment of a settings key, or of a configuration's text."""
    if config not in _DEPLOYMENTS:
        from memerase.settings import load_settings

        settings = _SETTINGS[config] if config in _SETTINGS else load_settings(config)
        _DEPLOYMENTS[config] = Deployment.of(settings)
    return _DEPLOYMENTS[config]


def policies(config: str) -> RolePolicies:
    if config not in _POLICIES:
        _POLICIES[config] = RolePolicies(deployment(config))
    return _POLICIES[config]


class CallChecker:
    """Decides each distinct call once; keeps what it checked, per function."""

    def __init__(self) -> None:
        self.checked: dict[str, set[tuple[str, str]]] = defaultdict(set)  # function -> {(action, resource)}
        self._decided: dict[Call, str | None] = {}

    def refusals(self, calls: list[Call]) -> list[str]:
        """Why each call its function's policies do not allow was refused (none: all allowed)."""
        refused = []
        for call in calls:
            if call not in self._decided:
                self._decided[call] = self._refusal(call)
                self.checked[call.function].add((call.action, call.resource))
            if (why := self._decided[call]) is not None:
                refused.append(f"{call}: {why}")
        return sorted(set(refused))

    @staticmethod
    def _refusal(call: Call) -> str | None:
        if not call.resource:
            return "no rule names this call's resource (tests/support/aws_calls.py RULES)"
        if not call.config:
            return "made without a configuration: no deployment to check it against"
        decision = policies(call.config).decide(call.function, call.action, call.resource, dict(call.context))
        return None if decision.allowed else decision.why

    def summary(self) -> dict[str, list[list[str]]]:
        return {f: sorted([a, r] for a, r in calls) for f, calls in self.checked.items()}


def report(checked: Mapping[str, list[list[str]]]) -> list[str]:
    """The lines the suite prints: distinct calls checked, per function, and the functions no e2e test exercised."""
    functions = sorted(functions_by_folder().values())
    total = sum(len(c) for c in checked.values())
    lines = [f"IAM coverage: {total} distinct calls (function, action, resource) checked against template.yaml"]
    for name in functions:
        calls = checked.get(name, [])
        if calls:
            actions = sorted({a for a, _ in calls})
            lines.append(f"  {name}: {len(calls)} distinct calls, {len(actions)} actions: {', '.join(actions)}")
    missing = [n for n in functions if not checked.get(n)]
    if missing:
        lines.append(f"  not exercised by the e2e suite (no call checked): {', '.join(missing)}")
    return lines


def merge(into: dict[str, set[tuple[str, str]]], summary: str) -> None:
    """Adds one xdist worker's summary (JSON of `CallChecker.summary`)."""
    for function, calls in json.loads(summary).items():
        into.setdefault(function, set()).update((a, r) for a, r in calls)
