"""The IAM coverage check of the e2e suite (issue 18, item 7; tests/support/aws_calls.py, template_policies.py): a
call is decided against its own function's policies as template.yaml renders them, so a function that gains a call
without a grant fails the suite."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.support import aws_calls, template_policies
from tests.support.aws_calls import Call, CallChecker, gremlin_actions, query_actions

CONFIG = json.dumps(
    {
        "targets": [
            {
                "name": "s3",
                "vector_store": {
                    "provider": "s3_vectors",
                    "config": {"vector_bucket_name": "mem0-demo", "collection_name": "mem0"},
                },
            },
            {
                "name": "os",
                "vector_store": {
                    "provider": "opensearch",
                    "config": {"host": "127.0.0.1", "port": 9200, "collection_name": "mem0"},
                },
            },
        ],
        "jobs": {
            "table_name": "memerase-jobs",
            "state_machine_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:memerase-erasure",
        },
        "history": {"table_name": "memerase-history"},
    }
)
ENTITY_INDEX = "arn:aws:s3vectors:us-east-1:123456789012:bucket/mem0-demo/index/mem0-entities"
DOMAIN = template_policies.opensearch_domain_arn("127.0.0.1:9200")


def call(function: str, action: str, resource: str) -> Call:
    return Call(function, action, resource, CONFIG)


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """No deployment decided before this test (a test below changes the template)."""
    monkeypatch.setattr(aws_calls, "_DEPLOYMENTS", {})
    monkeypatch.setattr(aws_calls, "_POLICIES", {})


def test_the_erase_workers_entity_rewrites_are_allowed_and_were_not_before_issue_18(
    fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 5 as the e2e check sees it: before the fix the erase worker's PutVectors and `_update` were refused
    (`no statement of its role allows it`)."""
    # Given the erase worker's rewrite of an entity record in S3 Vectors and OpenSearch
    calls = [
        call("JobEraseFunction", "s3vectors:PutVectors", ENTITY_INDEX),
        call("JobEraseFunction", "es:ESHttpPost", f"{DOMAIN}/mem0_entities/_update/abc"),
    ]
    # When they are decided against template.yaml
    # Then both are allowed
    assert CallChecker().refusals(calls) == []
    # And against the template without the rewrite policy on that function (as it was), both are refused
    old = copy.deepcopy(template_policies.template())
    policies: list[Any] = old["Resources"]["JobEraseFunction"]["Properties"]["Policies"]
    policies.remove({"Ref": "EntityRewritePolicy"})
    monkeypatch.setattr(template_policies, "template", lambda: old)
    monkeypatch.setattr(aws_calls, "_POLICIES", {})  # rendered again, from that template
    refused = CallChecker().refusals(calls)
    assert len(refused) == 2 and all("no statement of its role allows it" in r for r in refused)


def test_a_call_is_decided_by_its_own_functions_policies_and_an_explicit_deny_wins(fresh: None) -> None:
    # Given the same calls made by different functions
    plan_put = call("JobPlanFunction", "s3vectors:PutVectors", ENTITY_INDEX)
    keys = "arn:aws:dynamodb:us-east-1:123456789012:table/api-keys"
    # When they are decided
    refused = CallChecker().refusals([plan_put, call("JobEraseFunction", "dynamodb:PutItem", keys)])
    # Then the plan step may not rewrite, and no store policy may write the keys table (its Deny)
    assert refused == [
        f"JobEraseFunction: dynamodb:PutItem on {keys}: denied by NeverTheApiKeysTable",
        f"JobPlanFunction: s3vectors:PutVectors on {ENTITY_INDEX}: no statement of its role allows it",
    ]


def test_a_call_no_rule_can_name_is_refused_rather_than_passed(fresh: None) -> None:
    # Given a call of an operation the recorder has no resource rule for
    unknown = call("JobEraseFunction", "kms:Decrypt", "")
    # When it is decided
    # Then it is refused, pointing at the rules
    assert CallChecker().refusals([unknown]) == [
        "JobEraseFunction: kms:Decrypt on <no rule names its resource>: no rule names this call's resource "
        "(tests/support/aws_calls.py RULES)"
    ]


@pytest.mark.parametrize(
    ("query", "actions"),
    [
        ("MATCH (n:L) WHERE id(n) > $after RETURN n ORDER BY id(n) LIMIT 100", ["ReadDataViaQuery"]),
        ("MATCH (n:L) WHERE id(n) = $id SET n = $properties", ["ReadDataViaQuery", "WriteDataViaQuery"]),
        ("MATCH (n:L) WHERE id(n) IN $ids DETACH DELETE n", ["ReadDataViaQuery", "DeleteDataViaQuery"]),
    ],
    ids=["read", "rewrite", "delete"],
)
def test_a_neptune_query_needs_every_action_it_could_perform(query: str, actions: list[str]) -> None:
    # Given an openCypher query; When its actions are named; Then reading always, writing or deleting when it does
    assert query_actions(query) == actions


def test_a_gremlin_drop_needs_connect_read_and_delete() -> None:
    # Given a traversal's steps; When its actions are named; Then connect, read and delete
    assert gremlin_actions({"V", "has", "drop"}) == ["connect", "ReadDataViaQuery", "DeleteDataViaQuery"]


def test_the_report_names_the_functions_no_e2e_test_exercised() -> None:
    # Given calls checked for one function only
    checked = {"JobPlanFunction": [["dynamodb:Query", "arn:aws:dynamodb:us-east-1:123456789012:table/jobs"]]}
    # When the report is printed
    lines = aws_calls.report(checked)
    # Then it counts them and says which functions no test exercised
    assert lines[0].startswith("IAM coverage: 1 distinct calls")
    assert "AuthorizerFunction" in lines[-1] and "not exercised" in lines[-1]
