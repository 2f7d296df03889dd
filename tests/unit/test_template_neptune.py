"""template.yaml's Neptune access: data actions on the configured graph / cluster only, and the VPC that Neptune
Database needs, only on the functions that reach the stores."""

from __future__ import annotations

from typing import Any

from tests.unit.test_template import template

STORE_FUNCTIONS = {
    "JobPlanFunction",
    "JobEraseFunction",
    "JobVerifyFunction",
    "ApiMemoriesFunction",
    "ApiErasuresFunction",
    "ApiResetFunction",
    "SqsErasureFunction",
    "ScheduledErasureFunction",
}


def _statements() -> dict[str, dict[str, Any]]:
    """The store access policy's conditional statements, by condition name."""
    policy = template()["Resources"]["StoreAccessPolicy"]["Properties"]["PolicyDocument"]
    return {s["If"][0]: s["If"][1] for s in policy["Statement"] if isinstance(s, dict) and "If" in s}


def test_neptune_data_actions_name_the_configured_graph_and_cluster_only() -> None:
    # Given the store access policy
    statements = _statements()
    # When its Neptune statements are read
    graph, db = statements["HasNeptuneGraph"], statements["HasNeptuneDb"]
    # Then they grant only data actions, on the graph / cluster given as parameters, never on "*"
    assert set(graph["Action"]) == {
        "neptune-graph:ReadDataViaQuery",
        "neptune-graph:DeleteDataViaQuery",
        "neptune-graph:WriteDataViaQuery",
    }
    assert "graph/${NeptuneGraphId}" in graph["Resource"]["Sub"]
    assert set(db["Action"]) == {"neptune-db:connect", "neptune-db:ReadDataViaQuery", "neptune-db:DeleteDataViaQuery"}
    assert "${NeptuneDbClusterResourceId}/*" in db["Resource"]["Sub"]


def test_only_the_functions_that_reach_the_stores_join_the_neptune_vpc_and_only_when_subnets_are_given() -> None:
    # Given the template's functions
    resources = template()["Resources"]
    functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    # When their VpcConfig is read
    in_vpc = {name for name, f in functions.items() if "VpcConfig" in f["Properties"]}
    # Then exactly the store-touching functions have one, conditional on InNeptuneVpc
    assert in_vpc == STORE_FUNCTIONS
    for name in in_vpc:
        condition, config, otherwise = functions[name]["Properties"]["VpcConfig"]["If"]
        assert condition == "InNeptuneVpc" and otherwise == {"Ref": "AWS::NoValue"}
        assert config == {
            "SubnetIds": {"Ref": "NeptuneSubnetIds"},
            "SecurityGroupIds": {"Ref": "NeptuneSecurityGroupIds"},
        }
    assert "LambdaInNeptuneVpc" in {s.get("Sid") for s in _statements().values()}
