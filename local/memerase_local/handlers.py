"""The project's Lambda handlers, called in-process as Lambda would call them."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]


class LambdaContext:
    """What the handlers read of the Lambda context. `timeout_ms` is the function's timeout in template.yaml."""

    def __init__(self, name: str, timeout_ms: int):
        self.function_name = name
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = str(uuid.uuid4())
        self._timeout_ms = timeout_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms


def handler_of(folder: str) -> Handler:
    """`functions/<folder>/app.py`'s handler."""
    handler: Handler = importlib.import_module(f"functions.{folder}.app").handler
    return handler


def invoke(folder: str, event: dict[str, Any], timeout_ms: int) -> Any:
    return handler_of(folder)(event, LambdaContext(folder, timeout_ms))
