"""What a handler's cold import leaves out (issue #9): the X-Ray SDK patches botocore as a traced handler loads and
requests only once an OpenSearch client is built (its HTTP calls go through requests), so a function whose stores
never use requests does not import it; and Powertools' parser loads only the event models a handler names, not its
catalogue of every AWS event. Each case runs in a fresh interpreter and reads `sys.modules` (and the SDK's record of
patched modules)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.unit.test_handler_imports import OPENSEARCH_ONLY, ROOT, S3_ONLY, handler_environ

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


PARSER_MODELS = "aws_lambda_powertools.utilities.parser.models."
PARSER_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m.removeprefix(sys.argv[2]) for m in sys.modules if m.startswith(sys.argv[2]))))
"""


def traced(handler: str, config: dict[str, object]) -> dict[str, dict[str, object]]:
    """Imports `functions.<handler>.app` as in Lambda with tracing on, then builds the engine for `config`."""
    command = [sys.executable, "-c", PROBE, f"functions.{handler}.app"]
    environ = handler_environ(config, LAMBDA_TASK_ROOT=str(ROOT))
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


@pytest.mark.parametrize(
    ("handler", "models"),
    [("scheduled_erasure", ["event_bridge"]), ("sqs_erasure", ["sqs"]), ("job_erase", []), ("api_memories", [])],
)
def test_a_handler_loads_only_the_parser_event_models_it_names(handler: str, models: list[str]) -> None:
    # Given an S3 Vectors configuration, outside Lambda
    # When the handler module is imported in a fresh interpreter
    command = [sys.executable, "-c", PARSER_PROBE, f"functions.{handler}.app", PARSER_MODELS]
    done = subprocess.run(command, cwd=ROOT, env=handler_environ(S3_ONLY), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    # Then of Powertools' parser models (about 30 modules of AWS event models) only the one its trigger's model
    # extends is loaded: EventBridge for the scheduled trigger, SQS for the queue trigger, none for the others
    assert json.loads(done.stdout) == models
