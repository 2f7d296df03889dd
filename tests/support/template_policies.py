"""template.yaml's IAM policies as IAM sees them in one deployment: each function's role (its SAM `Policies`: inline
statements, the managed policies it references, SAM policy templates; and the `AWS::IAM::Policy` /
`AWS::IAM::ManagedPolicy` resources attached to its role), with the template's parameters and resources bound to the
names a test deployment uses (`Deployment.of`: its MEMERASE_CONFIG, as an operator fills the parameters in) and every
intrinsic function evaluated (Ref, Sub, GetAtt, If, Join, Select, Split and the conditions).

`RolePolicies.decide(function, action, resource, context)` decides a call as IAM does: an explicit Deny wins, else an
Allow whose Action and Resource (IAM wildcards) and Condition (the operators used here; an unknown one never matches
an Allow) all match."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from memerase.settings import Settings
from memerase.stores.factory import entity_collection_name, graph_embeddings_collection
from tests.unit import test_template

template = functools.cache(test_template.template)  # template.yaml, read once

ACCOUNT, REGION, PARTITION = "123456789012", "us-east-1", "aws"  # moto's account, the tests' region
NO_VALUE = object()
ROLE = "arn:aws:iam::123456789012:role/erasure-requests"  # the required principal parameters' value


def opensearch_domain_arn(host: str) -> str:
    """The managed domain an OpenSearch host stands for (a stand-in's host:port names it)."""
    return f"arn:{PARTITION}:es:{REGION}:{ACCOUNT}:domain/{re.sub(r'[^a-z0-9-]', '-', host.lower())}"


def neptune_db_cluster(endpoint: str) -> str:
    """The cluster resource id a Neptune Database endpoint stands for."""
    host = urlparse(endpoint.replace("neptune-db://", "wss://")).hostname or endpoint
    return "cluster-" + re.sub(r"[^a-z0-9]", "", host.lower())[:24]


@dataclass(frozen=True)
class Deployment:
    """What one test deployment names: the template's parameters and the stack's resources' physical names."""

    stack: str
    parameters: Mapping[str, Any]
    refs: Mapping[str, str]  # logical id -> what Ref returns
    arns: Mapping[str, str]  # logical id -> GetAtt .Arn
    neptune_db: str | None = None  # the cluster resource id, when a graph store is on Neptune Database

    @classmethod
    def of(cls, settings: Settings) -> Deployment:
        """The parameters an operator gives for `settings` (template.yaml's parameter descriptions)."""
        stores = _StoreNames()
        for target in settings.targets:
            stores.add(target)
        jobs, history, api, requests = settings.jobs, settings.history, settings.api, settings.requests
        machine = (jobs.state_machine_arn if jobs else None) or f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:x"
        stack = machine.rsplit(":", 1)[-1].removesuffix("-erasure")
        tables = {
            "JobsTable": jobs.table_name if jobs else "jobs",
            "HistoryTable": history.table_name if history else "history",
            "ApiKeysTable": api.keys_table_name or "api-keys",
        }
        dlq = _queue_arn(requests.dead_letter_queue_url or f"https://sqs/{ACCOUNT}/dead-letters")
        parameters = {
            **{k: v.get("Default", "") for k, v in template()["Parameters"].items()},
            "S3VectorBucketName": stores.bucket,
            "S3VectorIndexNames": stores.s3_indexes,
            "OpenSearchDomainArn": stores.domain,
            "OpenSearchIndexNames": stores.os_indexes,
            "NeptuneGraphId": stores.graph,
            "NeptuneDbClusterResourceId": stores.neptune_db,
            "AllowReset": "true" if settings.allow_reset else "false",
            "ReplyQueueArns": [_queue_arn(q) for q in requests.reply_queues],
            "StoreSubnetIds": [""],
            "StoreSecurityGroupIds": [""],
            "ErasureRequestPrincipals": [ROLE],
            "ErasureRequestSenders": [ROLE],
            "ServiceApiPrincipals": ROLE,
        }
        secret = settings.scope_hash.secret_arn if settings.scope_hash and settings.scope_hash.secret_arn else ""
        refs = {**tables, "ErasureStateMachine": machine, "ScopeHashSecret": secret or "no-secret"}
        arns = {name: f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}" for name, table in tables.items()}
        arns |= {"ErasureRequestsDeadLetterQueue": dlq, "RetentionDeadLetterQueue": dlq + "-retention"}
        return cls(stack, parameters, refs, arns, stores.neptune_db or None)


@dataclass
class _StoreNames:
    """The store parameters: one bucket, domain, graph and cluster (the template grants one of each), with every
    collection memerase touches there (a second bucket or graph is not granted: its calls are refused)."""

    bucket: str = ""
    domain: str = ""
    graph: str = ""
    neptune_db: str = ""
    s3_indexes: list[str] = field(default_factory=list)
    os_indexes: list[str] = field(default_factory=list)

    def add(self, target: Any) -> None:
        store, config = target.vector_store.provider, target.vector_store.config
        collections = [config.collection_name, entity_collection_name(store, config.collection_name)]
        if target.graph_store is not None:
            if target.graph_store.provider == "neptunedb":
                collections.append(graph_embeddings_collection(target, target.graph_store))
                self.neptune_db = self.neptune_db or neptune_db_cluster(target.graph_store.config.endpoint)
            else:
                self.graph = self.graph or target.graph_store.config.endpoint.removeprefix("neptune-graph://")
        if store == "s3_vectors":
            self.bucket = self.bucket or config.vector_bucket_name
            self.s3_indexes += [c for c in collections if c not in self.s3_indexes]
        elif store == "opensearch":
            self.domain = self.domain or opensearch_domain_arn(f"{config.host}:{config.port}")
            self.os_indexes += [c for c in collections if c not in self.os_indexes]
        else:
            self.graph = self.graph or config.graph_id


def _queue_arn(url_or_arn: str) -> str:
    if url_or_arn.startswith("arn:"):
        return url_or_arn
    account, name = urlparse(url_or_arn).path.strip("/").split("/")[-2:]
    return f"arn:aws:sqs:{REGION}:{account}:{name}"


class _Evaluator:
    """CloudFormation's intrinsic functions over the parsed template, for one deployment."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.pseudo = {
            "AWS::Partition": PARTITION,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": deployment.stack,
            "AWS::URLSuffix": "amazonaws.com",
        }
        conditions = template()["Conditions"]
        self.conditions: dict[str, bool] = {}
        for name in conditions:
            self.conditions[name] = bool(self.value(conditions[name]))

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(n) for n in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            [(name, arg)] = node.items()
            if name in _FUNCTIONS:
                return _FUNCTIONS[name](self, arg)
        return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not NO_VALUE}

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        for source in (self.pseudo, self.deployment.parameters, self.deployment.refs):
            if name in source:
                return source[name]
        raise KeyError(f"template.yaml: Ref {name}: the test deployment does not name it (tests/support)")

    def get_att(self, target: str) -> str:
        name, attribute = target.split(".", 1) if isinstance(target, str) else target
        if attribute != "Arn" or name not in self.deployment.arns:
            raise KeyError(f"template.yaml: GetAtt {name}.{attribute}: the test deployment does not name it")
        return self.deployment.arns[name]

    def sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else arg
        known = {k: self.value(v) for k, v in variables.items()}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in known:
                return str(known[name])
            return self.get_att(name) if "." in name else str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)


def _if(ev: _Evaluator, arg: list[Any]) -> Any:
    condition, then, otherwise = arg
    return ev.value(then if ev.conditions[condition] else otherwise)


_FUNCTIONS: dict[str, Any] = {
    "Ref": lambda ev, a: ev.ref(a),
    "GetAtt": lambda ev, a: ev.get_att(a),
    "Sub": lambda ev, a: ev.sub(a),
    "If": _if,
    "Join": lambda ev, a: a[0].join(str(v) for v in _flat(ev.value(a[1]))),
    "Select": lambda ev, a: ev.value(a[1])[int(ev.value(a[0]))],
    "Split": lambda ev, a: ev.value(a[1]).split(a[0]),
    "Equals": lambda ev, a: _flat_str(ev.value(a[0])) == _flat_str(ev.value(a[1])),
    "Not": lambda ev, a: not ev.value(a[0]),
    "And": lambda ev, a: all(ev.value(c) for c in a),
    "Or": lambda ev, a: any(ev.value(c) for c in a),
    "Condition": lambda ev, a: ev.conditions[a],
}


def _flat(value: Any) -> list[Any]:
    return [x for v in value for x in (v if isinstance(v, list) else [v])]


def _flat_str(value: Any) -> Any:
    return ",".join(value) if isinstance(value, list) else value


# SAM policy templates (samtranslator's policy_templates.json) a function may use: name -> (actions, resources)
SAM_TEMPLATES: dict[str, tuple[list[str], list[str]]] = {
    "DynamoDBCrudPolicy": (
        [f"dynamodb:{a}" for a in ("GetItem", "DeleteItem", "PutItem", "Scan", "Query", "UpdateItem")]
        + [f"dynamodb:{a}" for a in ("BatchWriteItem", "BatchGetItem", "DescribeTable", "ConditionCheckItem")],
        ["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName}", "*/index/*"],
    ),
    "DynamoDBReadPolicy": (
        [f"dynamodb:{a}" for a in ("GetItem", "Scan", "Query", "BatchGetItem", "DescribeTable")],
        ["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName}", "*/index/*"],
    ),
    "SQSSendMessagePolicy": (
        ["sqs:SendMessage*"],
        ["arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${QueueName}"],
    ),
    "EventBridgePutEventsPolicy": (
        ["events:PutEvents"],
        ["arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"],
    ),
    "StepFunctionsExecutionPolicy": (
        ["states:StartExecution"],
        ["arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${StateMachineName}"],
    ),
    "AWSSecretsManagerGetSecretValuePolicy": (["secretsmanager:GetSecretValue"], ["${SecretArn}"]),
}


def _sam_template(ev: _Evaluator, name: str, arguments: Mapping[str, Any]) -> list[dict[str, Any]]:
    if name not in SAM_TEMPLATES:
        raise ValueError(f"SAM policy template {name}: add its expansion to tests/support/template_policies.py")
    actions, resources = SAM_TEMPLATES[name]
    values = {k: ev.value(v) for k, v in arguments.items()}
    table = ev.sub([resources[0], values])
    expanded = [table + "/index/*" if r == "*/index/*" else ev.sub([r, values]) for r in resources]
    return [{"Effect": "Allow", "Action": actions, "Resource": expanded}]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    why: str


class RolePolicies:
    """Every function's statements in one deployment."""

    def __init__(self, deployment: Deployment) -> None:
        self._ev = _Evaluator(deployment)
        resources = template()["Resources"]
        self.functions = sorted(n for n, r in resources.items() if r["Type"] == "AWS::Serverless::Function")
        self.statements = {name: list(self._role(name, resources)) for name in self.functions}

    def _role(self, name: str, resources: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        for entry in resources[name]["Properties"].get("Policies", []):
            while isinstance(entry, dict) and set(entry) == {"If"}:
                condition, then, otherwise = entry["If"]
                entry = then if self._ev.conditions[condition] else otherwise
            if entry == {"Ref": "AWS::NoValue"} or isinstance(entry, str) or set(entry) == {"Sub"}:
                continue  # none, or an AWS managed policy (VPC network interfaces): no call here needs one
            if set(entry) == {"Ref"}:
                yield from self._managed(resources[entry["Ref"]])
            elif "Statement" in entry:
                yield from self._ev.value(entry)["Statement"]
            else:
                [(template_name, arguments)] = entry.items()
                yield from _sam_template(self._ev, template_name, arguments)
        role = {"Ref": f"{name}Role"}
        for resource in resources.values():
            attachable = resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
            if attachable and role in resource["Properties"].get("Roles", []):
                yield from self._managed(resource)

    def _managed(self, resource: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        if resource.get("Condition") and not self._ev.conditions[resource["Condition"]]:
            return
        yield from self._ev.value(resource["Properties"]["PolicyDocument"])["Statement"]

    def decide(self, function: str, action: str, resource: str, context: Mapping[str, str]) -> Decision:
        matching = [s for s in self.statements[function] if _applies(s, action, resource, context)]
        denied = [s for s in matching if s["Effect"] == "Deny"]
        if denied:
            return Decision(False, f"denied by {denied[0].get('Sid', 'a statement')}")
        allowed = [s for s in matching if s["Effect"] == "Allow"]
        if allowed:
            return Decision(True, f"allowed by {allowed[0].get('Sid', 'a statement')}")
        return Decision(False, "no statement of its role allows it")


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@functools.lru_cache(maxsize=4096)
def _pattern(text: str, case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(f"^{regex}$", 0 if case else re.IGNORECASE)


def _applies(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str]) -> bool:
    if "NotAction" in statement or "NotResource" in statement:
        raise ValueError("NotAction / NotResource: add them to tests/support/template_policies.py")
    if not any(_pattern(a, False).match(action) for a in _listed(statement["Action"])):
        return False
    if not any(_pattern(r, True).match(resource) for r in _listed(statement.get("Resource", "*"))):
        return False
    return all(_condition(op, tests, context) for op, tests in statement.get("Condition", {}).items())


def _condition(operator: str, tests: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    """StringEquals/StringLike/ArnEquals/ArnLike (and their Not forms) and Bool; an absent key matches no test."""
    negated = "Not" in operator
    kind = operator.replace("Not", "")
    for key, wanted in tests.items():
        value = context.get(key)
        if value is None:
            return negated and kind != "Bool"
        like = kind in ("StringLike", "ArnLike", "ArnEquals")
        hit = any((_pattern(w, True).match(value) if like else w == value) for w in _listed(wanted))
        if kind not in ("StringEquals", "StringLike", "ArnEquals", "ArnLike", "Bool"):
            return False  # an operator not read here never grants
        if hit == negated:
            return False
    return True
