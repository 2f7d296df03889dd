"""A handler imports only what it uses: no store client library its configuration does not name, no X-Ray SDK when
tracing is off, never the local tools. Each case runs in a fresh interpreter and reads its `sys.modules`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
WATCHED = ("opensearchpy", "gremlin_python", "aws_xray_sdk", "rich", "mem0", "memerase_local", "httpx", "sqlalchemy")
LAMBDA_ENV = ("LAMBDA_TASK_ROOT", "AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE", "POWERTOOLS_TRACE_DISABLED")
S3_ONLY = {
    "targets": [{"name": "s3", "vector_store": {"provider": "s3_vectors", "config": {"vector_bucket_name": "mem0"}}}],
    "history": {"table_name": "memerase-history"},
}
OPENSEARCH_ONLY = {
    "targets": [{"name": "os", "vector_store": {"provider": "opensearch", "config": {"host": "localhost"}}}],
}
LIBRARY = (  # memerase's own heavy parts: the runtime loads each when it builds the service that needs it
    "memerase.settings",
    "memerase.neptune_settings",
    "memerase.engine",
    "memerase.stores",
    "memerase.history",
    "memerase.keys",
    "memerase.mem0_history",
    "memerase.jobs.intake",
    "memerase.jobs.runners",
    "memerase.jobs.steps",
    "memerase.jobs.repository",
    "memerase.jobs.lifecycle",
)
LIBRARY_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if any(m == p or m.startswith(p + ".") for p in sys.argv[2:]))))
"""
PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
imported = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[3:]))
if sys.argv[2] == "build":
    from memerase import runtime
    runtime.eraser()
built = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[3:]))
from memerase.observability import tracer
print(json.dumps({"imported": imported, "built": built, "tracer": type(tracer).__name__}))
"""


def handler_environ(config: dict[str, object], **env: str) -> dict[str, str]:
    """This process's environment outside Lambda, with fake credentials, `config` as MEMERASE_CONFIG, and `env`."""
    environ = {k: v for k, v in os.environ.items() if k not in LAMBDA_ENV}
    environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        MEMERASE_CONFIG=json.dumps(config),
        **env,
    )
    return environ


def probe(handler: str, config: dict[str, object], *, build: bool = False, **env: str) -> dict[str, object]:
    """Imports `functions.<handler>.app` in a fresh interpreter (then, with `build`, the engine for `config`)."""
    environ = handler_environ(config, **env)
    command = [sys.executable, "-c", PROBE, f"functions.{handler}.app", "build" if build else "import", *WATCHED]
    done = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("handler", HANDLERS)
def test_a_handler_loads_no_store_client_xray_or_local_tool_at_import(handler: str) -> None:
    # Given an S3 Vectors configuration, outside Lambda (tracing off)
    # When the handler module is imported in a fresh interpreter
    result = probe(handler, S3_ONLY)
    # Then none of opensearch-py, gremlinpython, the X-Ray SDK, rich, mem0 or the local tools is loaded
    assert result["imported"] == []
    assert result["tracer"] == "Untraced"


def test_an_s3_vectors_engine_is_built_without_opensearch_or_gremlin() -> None:
    # Given an S3 Vectors target with the history table
    # When the API function builds its engine for that configuration
    result = probe("api_memories", S3_ONLY, build=True)
    # Then neither opensearch-py nor gremlinpython (nor anything else watched) was loaded
    assert result["built"] == []


def test_an_opensearch_target_loads_opensearch_py_when_its_engine_is_built() -> None:
    # Given an OpenSearch target
    # When a job function is imported, then builds its engine
    result = probe("job_erase", OPENSEARCH_ONLY, build=True)
    # Then opensearch-py is loaded by the build, not by the import, and gremlinpython never
    assert result["imported"] == []
    assert result["built"] == ["opensearchpy"]


def test_in_lambda_the_handler_is_traced_by_powertools_with_the_xray_sdk() -> None:
    # Given the Lambda environment (LAMBDA_TASK_ROOT set; the template's `Tracing: Active`)
    # When the handler module is imported
    result = probe("api_erasures", S3_ONLY, LAMBDA_TASK_ROOT=str(ROOT))
    # Then Powertools' Tracer (never recording handler responses) traces it, with the X-Ray SDK, and still no store
    # client library is loaded; nor any other library the SDK could patch (its patch_all would import httpx,
    # SQLAlchemy and rich, installed in this venv by mem0 and the tests): only botocore is patched at import
    assert result["tracer"] == "ResponselessTracer"
    assert result["imported"] == ["aws_xray_sdk"]


@pytest.mark.parametrize(
    "env", [{"POWERTOOLS_TRACE_DISABLED": "true"}, {"AWS_SAM_LOCAL": "true"}], ids=["trace-disabled", "sam-local"]
)
def test_in_lambda_with_tracing_turned_off_the_xray_sdk_is_not_loaded(env: dict[str, str]) -> None:
    # Given the Lambda environment with tracing turned off as Powertools reads it
    # When the handler module is imported
    result = probe("job_plan", S3_ONLY, LAMBDA_TASK_ROOT=str(ROOT), **env)
    # Then the handler is left untraced and the X-Ray SDK is not loaded
    assert result["tracer"] == "Untraced"
    assert result["imported"] == []


@pytest.mark.parametrize("handler", HANDLERS)
def test_handlers_load_no_engine_store_or_job_machinery_at_import(handler: str) -> None:
    # Given an S3 Vectors configuration with the history table
    environ = {k: v for k, v in os.environ.items() if k not in LAMBDA_ENV}
    environ.update(AWS_DEFAULT_REGION="us-east-1", MEMERASE_CONFIG=json.dumps(S3_ONLY))
    # When the handler module is imported in a fresh interpreter
    command = [sys.executable, "-c", LIBRARY_PROBE, f"functions.{handler}.app", *LIBRARY]
    done = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    # Then none of the settings models, the engine, the store adapters, the job machinery, the history or the keys
    # table was loaded: type-only imports and the runtime's builders load them on the first call that needs them
    assert json.loads(done.stdout) == []
