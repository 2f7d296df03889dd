"""The project's Lambda handlers, called in-process as Lambda would call them, with the one Lambda context that
`memerase serve`, the tests and the benchmarks share."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from memerase_local.shared_metrics import metrics_one_at_a_time

Handler = Callable[[dict[str, Any], Any], Any]
API_TIMEOUT_MS = 29_000  # API Gateway's integration timeout


@dataclass
class LambdaContext:
    """What the handlers read of the Lambda context. `budget_ms` answers `get_remaining_time_in_millis`: the
    function's timeout in template.yaml, or a clock a test or a benchmark sets."""

    function_name: str = "memerase-local"
    budget_ms: Callable[[], int] = lambda: API_TIMEOUT_MS  # noqa: E731
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.budget_ms()


RUNNING: ContextVar[str | None] = ContextVar("memerase_running_function", default=None)
"""The handler folder (`functions/<folder>`) running in this thread of control while it runs, as each Lambda runs one
function: what a call made meanwhile is attributed to (tests/support/aws_calls.py checks it against that function's
IAM policies in template.yaml)."""


def handler_of(folder: str) -> Handler:
    """`functions/<folder>/app.py`'s handler (as the module holds it now), run with `RUNNING` naming the folder.
    Handlers called here may run on several threads at once (serve, the Map's workers), sharing Powertools' one metric
    set: it is added to and flushed one handler at a time."""
    metrics_one_at_a_time()
    handler: Handler = importlib.import_module(f"functions.{folder}.app").handler

    def running(event: dict[str, Any], context: Any) -> Any:
        token = RUNNING.set(folder)
        try:
            return handler(event, context)
        finally:
            RUNNING.reset(token)

    return running


def invoke(folder: str, event: dict[str, Any], timeout_ms: int) -> Any:
    return handler_of(folder)(event, LambdaContext(folder, lambda: timeout_ms))
