"""template.yaml's Neptune access: data actions on the configured graph / cluster only, and the VPC that Neptune
Database needs, only on the functions that reach the stores."""

from __future__ import annotations

from typing import Any

from tests.unit.test_template import template

STORE_FUNCTIONS = {
    "JobPlanFunction",
    "JobEraseFunction",
    "JobVerifyFunction",
    "JobFinalizeFunction",  # both probe the stores (whether an entity collection exists) for the job's counts
    "JobFailFunction",
    "ApiMemoriesFunction",
    "ApiErasuresFunction",
    "ApiResetFunction",
    "SqsErasureFunction",
    "ScheduledErasureFunction",
}


def _functions_with(prop: str) -> dict[str, Any]:
    """The template's functions that declare `prop`, with its value (a `Fn::If` read as {"If": [...]})."""
    resources = template()["Resources"]
    return {
        name: r["Properties"][prop]
        for name, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function" and prop in r["Properties"]
    }


def _statements(policy_name: str = "StoreReadPolicy") -> dict[str, dict[str, Any]]:
    """A store policy's conditional statements, by condition name."""
    policy = template()["Resources"][policy_name]["Properties"]["PolicyDocument"]
    return {s["If"][0]: s["If"][1] for s in policy["Statement"] if isinstance(s, dict) and "If" in s}


def test_neptune_data_actions_name_the_configured_graph_and_cluster_only() -> None:
    # Given the store policies (read, delete, entity rewrite)
    policies = [_statements(p) for p in ("StoreReadPolicy", "StoreDeletePolicy", "EntityRewritePolicy")]
    # When their Neptune statements are read
    graph = [s["HasNeptuneGraph"] for s in policies]
    db = [s["HasNeptuneDb"] for s in policies if "HasNeptuneDb" in s]
    # Then they grant only data actions, on the graph / cluster given as parameters, never on "*"
    assert {a for s in graph for a in s["Action"]} == {
        "neptune-graph:ReadDataViaQuery",
        "neptune-graph:DeleteDataViaQuery",
        "neptune-graph:WriteDataViaQuery",
    }
    assert all("graph/${NeptuneGraphId}" in s["Resource"]["Sub"] for s in graph)
    assert {a for s in db for a in s["Action"]} == {
        "neptune-db:connect",
        "neptune-db:ReadDataViaQuery",
        "neptune-db:DeleteDataViaQuery",
    }
    assert all("${NeptuneDbClusterResourceId}/*" in s["Resource"]["Sub"] for s in db)


def test_only_the_functions_that_reach_the_stores_join_the_neptune_vpc_and_only_when_subnets_are_given() -> None:
    # Given the template's functions
    # When their VpcConfig is read
    in_vpc = _functions_with("VpcConfig")
    # Then exactly the store-touching functions have one, conditional on InStoreVpc
    assert set(in_vpc) == STORE_FUNCTIONS
    for vpc in in_vpc.values():
        condition, config, otherwise = vpc["If"]
        assert condition == "InStoreVpc" and otherwise == {"Ref": "AWS::NoValue"}
        assert config == {
            "SubnetIds": {"Ref": "StoreSubnetIds"},
            "SecurityGroupIds": {"Ref": "StoreSecurityGroupIds"},
        }
    vpc_role = "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    for name in in_vpc:
        policies = template()["Resources"][name]["Properties"]["Policies"]
        assert {"If": ["InStoreVpc", {"Sub": vpc_role}, {"Ref": "AWS::NoValue"}]} in policies, name


def test_mem0s_history_database_is_mounted_from_efs_on_the_store_functions_only_when_given() -> None:
    # Given the template's functions
    # When their file system configurations are read
    mounted = _functions_with("FileSystemConfigs")
    # Then exactly the functions that erase from it mount the access point at /mnt/mem0, conditionally (reset only
    # when it is allowed), with the mount permission
    assert set(mounted) == {"JobEraseFunction", "ApiMemoriesFunction", "ApiErasuresFunction", "ApiResetFunction"}
    for mount in mounted.values():
        condition, configs, _ = mount["If"]
        assert condition in ("HasMem0History", "ResetsMem0History") and configs[0]["LocalMountPath"] == "/mnt/mem0"
    for policy in ("StoreDeletePolicy", "StoreResetPolicy"):
        efs = _statements(policy)["HasMem0History"]
        assert set(efs["Action"]) == {"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"}
