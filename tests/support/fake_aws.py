"""Fake AWS credentials for the tests and the benchmarks, so nothing can reach a real AWS account. Imports nothing
heavy: it is applied before boto3, mem0 or powertools are imported."""

from __future__ import annotations

import os
from collections.abc import MutableMapping

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
TEST_SCOPE_HASH_KEY = {"MEMERASE_SCOPE_HASH_KEY": "memerase-tests-scope-hash-key-not-a-secret-0123456789"}
UNSET = ("AWS_PROFILE", "MEMERASE_CONFIG")  # a real profile, a configuration left over from elsewhere


def apply(environ: MutableMapping[str, str] = os.environ, *also_unset: str) -> None:
    environ.update(CREDENTIALS)
    environ.update(TEST_SCOPE_HASH_KEY)  # tests and benchmarks key their scope hashes with a key of their own
    for name in (*UNSET, *also_unset):
        environ.pop(name, None)
