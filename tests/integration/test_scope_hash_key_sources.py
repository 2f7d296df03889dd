"""Where the scope hash key comes from: deployed, the Secrets Manager secret the template creates, read once per
process (moto server over HTTP); locally, one key per state directory, created on first use, or a key for the process
on the embedded stand-ins. There is never a built-in key."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import boto3
import pytest

from memerase import runtime
from memerase.errors import ConfigError
from memerase.fingerprint import KEY_ENV, ScopeHasher
from memerase.models import Scope
from memerase_local.scope_key import KEY_FILE, STATE_ENV, ensure_scope_key
from tests.support.targets import Deploy

SCOPE = Scope.of(user_id="zoe@example.com")
TARGETS = [{"name": "s3", "vector_store": {"provider": "s3_vectors", "config": {"vector_bucket_name": "bucket"}}}]


def test_a_deployed_function_reads_the_secret_once_and_hashes_with_it(
    aws: str, deploy: Deploy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the deployment's secret (as GenerateSecretString makes it) named by the configuration, and no key in the
    # environment
    monkeypatch.delenv(KEY_ENV)
    secrets = boto3.client("secretsmanager")
    value = "A" * 32 + "b" * 32
    arn = secrets.create_secret(Name="memerase-scope-hash", SecretString=value)["ARN"]
    deploy({"targets": TARGETS, "scope_hash": {"secret_arn": arn}})
    # When the function hashes a scope, the secret is deleted, and it hashes again (a warm container)
    first = runtime.hasher().scope(SCOPE)
    secrets.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    again = runtime.hasher().scope(SCOPE)
    # Then it hashed with the secret's key, which it read once
    assert first == again == ScopeHasher(value).scope(SCOPE)


def test_a_deployment_whose_secret_cannot_be_read_hashes_nothing(
    aws: str, deploy: Deploy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a configuration naming a secret that does not exist, and no key in the environment
    monkeypatch.delenv(KEY_ENV)
    deploy(
        {"targets": TARGETS, "scope_hash": {"secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone"}}
    )
    # When a scope is to be hashed
    # Then it fails with a configuration error naming the AWS error code, not with a built-in key
    with pytest.raises(ConfigError, match="could not read the scope hash secret \\(ResourceNotFoundException\\)"):
        runtime.hasher()


def test_the_local_tools_keep_one_key_per_state_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a configuration without a scope_hash section, no key in the environment, and an empty state directory
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.setenv(STATE_ENV, str(tmp_path / "state"))
    monkeypatch.setenv("MEMERASE_CONFIG", json.dumps({"targets": TARGETS}))
    # When the local tools start twice (the second time as a new process would)
    ensure_scope_key()
    first = ScopeHasher.from_env().scope(SCOPE)
    monkeypatch.delenv(KEY_ENV)
    ensure_scope_key()
    # Then the key was created in the state directory, readable by its owner only, and used both times
    key_file = tmp_path / "state" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert ScopeHasher.from_env().scope(SCOPE) == first == ScopeHasher(key_file.read_text().strip()).scope(SCOPE)


def test_the_embedded_stand_ins_get_a_key_of_their_own_and_a_configured_key_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no configuration (the embedded stand-ins), no key in the environment, and an empty state directory
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.delenv("MEMERASE_CONFIG", raising=False)
    monkeypatch.setenv(STATE_ENV, str(tmp_path))
    # When the local tools start
    ensure_scope_key()
    # Then the process has a key, and nothing was written to the state directory
    assert len(ScopeHasher.from_env().scope(SCOPE)) == 64 and not list(tmp_path.iterdir())
    # And with a configuration that has its own key, no key file is made either
    monkeypatch.delenv(KEY_ENV)
    configured = {"targets": TARGETS, "scope_hash": {"key": "k" * 40}}
    monkeypatch.setenv("MEMERASE_CONFIG", json.dumps(configured))
    ensure_scope_key()
    assert not list(tmp_path.iterdir())
