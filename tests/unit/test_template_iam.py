"""template.yaml's least privilege, per function: each function's role is read the way IAM will see it (its SAM
policies, with the managed policies they reference resolved and every `Fn::If` taken as true, i.e. every store
configured and reset allowed), then its allowed actions are compared with what its handler calls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit.test_template import template

RESOURCES = template()["Resources"]
NO_VALUE = {"Ref": "AWS::NoValue"}

PROBE = {"s3vectors:GetIndex", "es:ESHttpHead", "aoss:APIAccessAll"}
READ = {
    "s3vectors:ListVectors",
    "s3vectors:GetVectors",
    "es:ESHttpPost",  # searches and points in time
    "es:ESHttpDelete",  # closing a point in time
    "es:ESHttpGet",  # the date fields' mapping (queries by age or expiry)
    "neptune-graph:ReadDataViaQuery",
    "neptune-db:connect",
    "neptune-db:ReadDataViaQuery",
}
DELETE = {
    "s3vectors:DeleteVectors",
    "neptune-graph:DeleteDataViaQuery",
    "neptune-db:DeleteDataViaQuery",
    "elasticfilesystem:ClientMount",
    "elasticfilesystem:ClientWrite",
}
REWRITE = {"s3vectors:PutVectors", "neptune-graph:WriteDataViaQuery"}
RESET = {"s3vectors:DeleteIndex", "s3vectors:CreateIndex", "es:ESHttpPut"}
# the jobs table: records and their scope, work-item rows, locks and keys; a status changes by UpdateItem guarded by
# the status (transitions and bookkeeping); a worker claims a delete batch with a ConditionCheck on the job's status
# in the same transaction as its row's Put, and changes no status
JOBS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"}
WORKER_JOBS = JOBS - {"dynamodb:UpdateItem"} | {"dynamodb:ConditionCheckItem"}
EVENTS = {"events:PutEvents"}

SCOPE_KEY = {"secretsmanager:GetSecretValue"}  # the scope hash key (functions that hash scopes)
EXPECTED = {
    "AuthorizerFunction": {"dynamodb:GetItem"},
    "JobPlanFunction": PROBE | JOBS,
    "JobVerifyFunction": PROBE | JOBS,
    "JobFinalizeFunction": PROBE | JOBS | EVENTS,
    "JobFailFunction": PROBE | JOBS | EVENTS,
    # erases and, in jobs by age, expiry or retention, unlinks erased ids from entity records (replace_payload)
    "JobEraseFunction": PROBE | READ | DELETE | REWRITE | WORKER_JOBS | {"dynamodb:PutItem"},
    "ApiMemoriesFunction": PROBE | READ | DELETE | REWRITE | {"dynamodb:PutItem", "dynamodb:Query"},
    "ApiErasuresFunction": PROBE
    | SCOPE_KEY
    | READ
    | DELETE
    | REWRITE
    | JOBS
    | EVENTS
    | {"dynamodb:PutItem", "states:StartExecution", "states:StopExecution"},
    "ApiResetFunction": PROBE
    | READ
    | RESET
    | {"neptune-graph:DeleteDataViaQuery", "neptune-db:DeleteDataViaQuery"}
    | {"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"},
    "SqsErasureFunction": PROBE | SCOPE_KEY | JOBS | EVENTS | {"states:StartExecution", "states:StopExecution"},
    # a dry-run retention policy counts its matches in the function itself
    "ScheduledErasureFunction": PROBE
    | SCOPE_KEY
    | READ
    | JOBS
    | EVENTS
    | {"states:StartExecution", "states:StopExecution"},
}


def _taken(value: Any) -> Iterator[Any]:
    """A value with every `Fn::If` taken as true (a NoValue branch yields nothing)."""
    if isinstance(value, dict) and "If" in value:
        if value["If"][1] != NO_VALUE:
            yield from _taken(value["If"][1])
    else:
        yield value


def _policy_statements(name: str) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """Each statement of a function's role with the conditions it depends on (managed policy and `Fn::If`s)."""
    for entry in RESOURCES[name]["Properties"].get("Policies", []):
        conditions = [entry["If"][0]] if isinstance(entry, dict) and "If" in entry else []
        for policy in _taken(entry):
            if isinstance(policy, dict) and "Ref" in policy:
                managed = RESOURCES[policy["Ref"]]
                if managed.get("Condition"):
                    conditions = [*conditions, managed["Condition"]]
                statements = managed["Properties"]["PolicyDocument"]["Statement"]
            elif isinstance(policy, dict) and "Statement" in policy:
                statements = policy["Statement"]
            else:
                continue  # an AWS managed policy (basic execution, VPC network interfaces)
            for statement in statements:
                for taken in _taken(statement):
                    yield taken, conditions


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def allowed(name: str) -> set[str]:
    return {a for s, _ in _policy_statements(name) if s["Effect"] == "Allow" for a in _actions(s)}


def grants(name: str, action: str) -> list[tuple[dict[str, Any], list[str]]]:
    return [(s, c) for s, c in _policy_statements(name) if s["Effect"] == "Allow" and action in _actions(s)]


def functions() -> list[str]:
    return sorted(n for n, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function")


def resources_text(statement: dict[str, Any]) -> str:
    return repr(statement.get("Resource"))


def test_every_function_is_listed_with_what_it_uses() -> None:
    # Given the template's functions
    # When they are compared with the table of what each handler calls
    # Then none is missing from the table, so none escapes the checks below
    assert set(functions()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_function_is_allowed_exactly_the_actions_its_handler_uses(name: str) -> None:
    # Given a function of the template
    # When its role's allowed actions are collected (every store configured, reset allowed)
    actions = allowed(name)
    # Then they are exactly what its handler calls, no wildcard among them
    assert actions == EXPECTED[name]
    assert not [a for a in actions if "*" in a]


def test_only_the_authorizer_touches_the_api_keys_table_and_only_to_read() -> None:
    # Given every function's allowed statements
    # When those naming the API keys table are listed
    on_keys = {
        (name, action)
        for name in functions()
        for s, _ in _policy_statements(name)
        if s["Effect"] == "Allow" and "ApiKeysTable" in resources_text(s)
        for action in _actions(s)
    }
    # Then only the authorizer appears, with GetItem
    assert on_keys == {("AuthorizerFunction", "dynamodb:GetItem")}


def test_every_store_policy_denies_writes_to_the_api_keys_table() -> None:
    # Given the managed store policies
    policies = {
        n: r
        for n, r in RESOURCES.items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and n != "ScopeHashSecretRead"  # the key's read, no store access
    }
    assert policies
    # When their Deny statements are read
    # Then each denies PutItem, UpdateItem and DeleteItem on the keys table
    for name, policy in policies.items():
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Effect") == "Deny"]
        denied = {a for s in denies if "ApiKeysTable" in resources_text(s) for a in _actions(s)}
        assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= denied, name


@pytest.mark.parametrize("action", ["s3vectors:DeleteIndex", "s3vectors:CreateIndex", "es:ESHttpPut"])
def test_only_the_reset_function_may_drop_or_create_an_index_and_only_when_reset_is_allowed(action: str) -> None:
    # Given every function's role
    # When the functions granted the index-level action are listed, with the conditions of the grant
    granted = {name: [c for _, c in grants(name, action)] for name in functions() if grants(name, action)}
    # Then only the reset function has it, and only under the ResetAllowed condition
    assert list(granted) == ["ApiResetFunction"]
    assert all("ResetAllowed" in conditions for conditions in granted["ApiResetFunction"])


def test_only_the_reset_function_may_send_delete_to_an_index_root() -> None:
    # Given every function's es:ESHttpDelete grants
    # When their resources are read
    roots = {
        name: resources_text(s)
        for name in functions()
        for s, _ in grants(name, "es:ESHttpDelete")
        if "${OpenSearchDomainArn}/${Name}" in resources_text(s)
    }
    # Then only the reset function may DELETE /<index>; others only close a point in time
    assert set(roots) == {"ApiResetFunction"}
    for name in set(functions()) - {"ApiResetFunction"}:
        for s, _ in grants(name, "es:ESHttpDelete"):
            assert resources_text(s) == repr([{"Sub": "${OpenSearchDomainArn}/_search/point_in_time"}]), name


def test_opensearch_paths_name_the_configured_indexes_never_the_whole_domain() -> None:
    # Given every es: grant of every function
    paths = {resources_text(s) for name in functions() for a in allowed(name) for s, _ in grants(name, a)}
    es = [p for p in paths if "OpenSearchDomainArn" in p]
    assert es
    # When their resources are read
    # Then none is the domain's "/*": each is an index of OpenSearchIndexNames or a point-in-time endpoint
    assert not [p for p in es if "${OpenSearchDomainArn}/*" in p]
    for p in es:
        assert "OpenSearchIndexNames" in p or "/_search" in p, p


@pytest.mark.parametrize("name", ["JobPlanFunction", "JobVerifyFunction", "JobFinalizeFunction", "JobFailFunction"])
def test_job_bookkeeping_functions_can_delete_no_store_record(name: str) -> None:
    # Given a job step that only keeps the books
    actions = allowed(name)
    # When its actions are read
    # Then none erases, rewrites or reads store records
    assert not actions & (DELETE | REWRITE | RESET | (READ - PROBE))


def test_no_function_may_reset_a_whole_graph_or_database() -> None:
    # Given every function's allowed actions
    everything = set().union(*(allowed(n) for n in functions()))
    # When the whole-store resets are looked for
    # Then none is granted (reset deletes mem0's labels only)
    assert not everything & {"neptune-graph:ResetGraph", "neptune-db:ResetDatabase", "s3vectors:DeleteVectorBucket"}


def test_the_reset_policy_exists_only_when_reset_is_allowed() -> None:
    # Given the reset policy
    policy = RESOURCES["StoreResetPolicy"]
    # When its condition is read
    # Then it is ResetAllowed, i.e. AllowReset = "true"
    assert policy["Condition"] == "ResetAllowed"
    assert template()["Conditions"]["ResetAllowed"] == {"Equals": [{"Ref": "AllowReset"}, "true"]}


def test_job_functions_that_only_keep_the_books_mount_no_history_database() -> None:
    # Given the template's functions
    # When those mounting mem0's history database are listed
    mounted = {n for n in functions() if "FileSystemConfigs" in RESOURCES[n]["Properties"]}
    # Then only the erasing functions (and reset, when allowed) mount it
    assert mounted == {"JobEraseFunction", "ApiMemoriesFunction", "ApiErasuresFunction", "ApiResetFunction"}
    assert RESOURCES["ApiResetFunction"]["Properties"]["FileSystemConfigs"]["If"][0] == "ResetsMem0History"


@pytest.mark.parametrize(
    ("path", "senders"),
    [
        ("/_bulk", {"JobEraseFunction", "ApiMemoriesFunction", "ApiErasuresFunction"}),
        ("/_update/*", {"ApiMemoriesFunction", "ApiErasuresFunction", "JobEraseFunction"}),
        ("/_count", {"ApiResetFunction"}),
    ],
)
def test_only_the_functions_that_send_an_opensearch_write_may_post_it(path: str, senders: set[str]) -> None:
    # Given every function's es:ESHttpPost grants
    # When those on the path are listed
    granted = {n for n in functions() for s, _ in grants(n, "es:ESHttpPost") if f"${{Name}}{path}" in resources_text(s)}
    # Then they are exactly the functions that send it
    assert granted == senders


def test_the_erase_worker_may_rewrite_the_entity_records_its_jobs_unlink() -> None:
    """Issue 18, item 5. Before the fix JobEraseFunction had probe, read and delete only, so this failed with
    `s3vectors:PutVectors`, `neptune-graph:WriteDataViaQuery` and `es:ESHttpPost` on `/<index>/_update/*` missing:
    in AWS a job by age, expiry or retention deleted the memories, then failed on AccessDenied while unlinking them
    from their entity records (`replace_payload`)."""
    # Given the erase worker's role (every store configured)
    actions = allowed("JobEraseFunction")
    # When its grants are read
    updates = [s for s, _ in grants("JobEraseFunction", "es:ESHttpPost") if "${Name}/_update/*" in resources_text(s)]
    # Then it may rewrite an entity record in each store: S3 Vectors, Neptune Analytics and OpenSearch
    assert {"s3vectors:PutVectors", "neptune-graph:WriteDataViaQuery"} <= actions
    assert updates


def test_the_scheduled_trigger_may_read_the_stores_a_dry_run_policy_counts() -> None:
    """Issue 18, item 6. Before the fix ScheduledErasureFunction could only probe indexes, so this failed with
    `s3vectors:ListVectors`, `s3vectors:GetVectors`, `neptune-graph:ReadDataViaQuery` (...) missing: a dry-run
    retention policy, counted in that function, failed on AccessDenied in AWS."""
    # Given the scheduled trigger's role
    actions = allowed("ScheduledErasureFunction")
    # When its actions are read
    # Then it may read every store (the count of a dry run), and neither delete nor rewrite
    assert actions >= READ
    assert not actions & (DELETE | REWRITE | RESET)


@pytest.mark.parametrize("name", ["JobEraseFunction", "ScheduledErasureFunction", "ApiErasuresFunction"])
def test_functions_that_query_by_age_or_expiry_may_read_the_date_fields_mapping(name: str) -> None:
    """Found by the e2e IAM coverage check (issue 18, item 7): the OpenSearch adapter asks whether mem0's dynamic
    mapping made `created_at` / `expiration_date` dates (`GET /<index>/_mapping/field/...`) before a query by age or
    expiry, and no policy allowed it (`assert []`): every such job failed on AccessDenied in AWS."""
    # Given a function that reads the stores by criteria
    # When its es:ESHttpGet grants are read
    paths = [resources_text(s) for s, _ in grants(name, "es:ESHttpGet")]
    # Then it may read the field mapping of the configured indexes, and nothing else by GET
    assert paths and all("${Name}/_mapping/field/*" in p and "OpenSearchIndexNames" in p for p in paths)
