"""template.yaml gives every deployment its own scope hash key: a generated Secrets Manager secret, named in the
functions' configuration, readable only by the functions that hash scopes; and the scope-hash route is served."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.unit.test_template import template

HASHING = ("ApiErasuresFunction", "SqsErasureFunction", "ScheduledErasureFunction")


def resources() -> dict[str, Any]:
    return dict(template()["Resources"])


def test_the_scope_hash_key_is_a_secret_generated_per_deployment_and_kept() -> None:
    # Given the template's resources
    secret = resources()["ScopeHashSecret"]
    # When the secret is read
    # Then it is a Secrets Manager secret generated at deployment (never a value in the template), retained
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert "SecretString" not in secret["Properties"]
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == "Retain"


def test_the_functions_configuration_names_the_secret() -> None:
    # Given the configuration every function reads
    sub = template()["Globals"]["Function"]["Environment"]["Variables"]["MEMERASE_CONFIG"]["Sub"]
    document = re.sub(r"\$\{[A-Za-z]+\}", "0", sub[0].replace('"${ScopeHashSecret}"', '"SECRET"'))
    # When its scope_hash section is read
    config = json.loads(document)
    # Then it points at the secret, and holds no key
    assert config["scope_hash"] == {"secret_arn": "SECRET"}


def test_only_the_functions_that_hash_scopes_may_read_the_secret() -> None:
    # Given the template's functions and the read policy
    found = resources()
    policy = found["ScopeHashSecretRead"]["Properties"]["PolicyDocument"]["Statement"]
    # When who may read it is listed
    readers = {
        name
        for name, resource in found.items()
        if resource["Type"] == "AWS::Serverless::Function"
        and {"Ref": "ScopeHashSecretRead"} in resource["Properties"].get("Policies", [])
    }
    # Then exactly those functions, and the policy allows reading that one secret and nothing else
    assert readers == set(HASHING)
    assert policy == [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": {"Ref": "ScopeHashSecret"}}
    ]


def test_the_scope_hash_route_is_served_by_the_erasures_function() -> None:
    # Given the erasures function's API events
    events = resources()["ApiErasuresFunction"]["Properties"]["Events"]
    # When the scope-hash route is looked up
    routes = {(e["Properties"]["Path"], e["Properties"]["Method"]) for e in events.values() if e["Type"] == "Api"}
    # Then it is there
    assert ("/v1/erasures/scope-hash", "POST") in routes
