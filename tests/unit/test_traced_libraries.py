"""What the X-Ray SDK patches, and when: botocore as a traced handler loads, requests only once an OpenSearch client
is built (its HTTP calls go through requests), so a function whose stores never use requests does not import it.
Each case runs in a fresh interpreter and reads the SDK's record of patched modules and `sys.modules`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_ENV = ("LAMBDA_TASK_ROOT", "AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE", "POWERTOOLS_TRACE_DISABLED")
S3_ONLY = {
    "targets": [{"name": "s3", "vector_store": {"provider": "s3_vectors", "config": {"vector_bucket_name": "mem0"}}}],
    "history": {"table_name": "memerase-history"},
}
OPENSEARCH_ONLY = {
    "targets": [{"name": "os", "vector_store": {"provider": "opensearch", "config": {"host": "localhost"}}}],
}
PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
from aws_xray_sdk.core import patcher
loaded = {"patched": sorted(patcher._PATCHED_MODULES), "requests": "requests" in sys.modules}
from memerase import runtime
runtime.eraser()
built = {"patched": sorted(patcher._PATCHED_MODULES), "requests": "requests" in sys.modules}
print(json.dumps({"loaded": loaded, "built": built}))
"""


def traced(handler: str, config: dict[str, object]) -> dict[str, dict[str, object]]:
    """Imports `functions.<handler>.app` as in Lambda with tracing on, then builds the engine for `config`."""
    environ = {k: v for k, v in os.environ.items() if k not in LAMBDA_ENV}
    environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        LAMBDA_TASK_ROOT=str(ROOT),
        MEMERASE_CONFIG=json.dumps(config),
    )
    command = [sys.executable, "-c", PROBE, f"functions.{handler}.app"]
    done = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, dict[str, object]] = json.loads(done.stdout)
    return result


def test_a_traced_handler_patches_botocore_only_and_never_imports_requests_for_s3_vectors() -> None:
    # Given the Lambda environment with tracing on and an S3 Vectors target
    # When the handler module is imported, then its engine is built
    result = traced("api_memories", S3_ONLY)
    # Then botocore alone is patched, and requests is never imported
    assert result["loaded"] == {"patched": ["botocore"], "requests": False}
    assert result["built"] == {"patched": ["botocore"], "requests": False}


def test_an_opensearch_client_is_traced_once_the_engine_builds_it() -> None:
    # Given the Lambda environment with tracing on and an OpenSearch target
    # When a job function is imported, then builds its engine (and with it the OpenSearch client)
    result = traced("job_erase", OPENSEARCH_ONLY)
    # Then requests is neither imported nor patched at import; the build patches it, beside botocore
    assert result["loaded"] == {"patched": ["botocore"], "requests": False}
    assert result["built"] == {"patched": ["botocore", "requests"], "requests": True}
