"""One set of observability objects for the whole library (Logger, Tracer, Metrics), and the one way ids reach a
log line."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import strtobool

Handler = TypeVar("Handler", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    """Powertools' own rule (`Tracer._is_tracer_disabled`): tracing is on in Lambda unless POWERTOOLS_TRACE_DISABLED
    says otherwise, and off outside Lambda, under `sam local` and under Chalice."""
    if strtobool(os.getenv(constants.TRACER_DISABLED_ENV, "false")):
        return False
    emulated = os.getenv(constants.SAM_LOCAL_ENV) or os.getenv(constants.CHALICE_LOCAL_ENV)
    return bool(os.getenv(constants.LAMBDA_TASK_ROOT_ENV)) and not emulated


class Untraced:
    """Stands in for Powertools' Tracer when tracing is off. A Tracer imports the X-Ray SDK (and botocore's session)
    even when disabled; this one leaves the handler as it is, which is what a disabled Tracer amounts to."""

    disabled = True

    def capture_lambda_handler(self, lambda_handler: Handler) -> Handler:
        return lambda_handler

    def capture_method(self, method: Handler) -> Handler:
        return method

    def patch(self, modules: tuple[str, ...]) -> None:
        """Nothing to patch: nothing is traced."""


class ResponselessTracer(Tracer):
    """Powertools' Tracer, except that a handler's response is never recorded in its trace (Powertools records it
    by default, as `handler response` metadata): a response carries the caller's data (an entity listing's user
    ids, a memory's history, an id quoted back in a 404), and traces are read by whoever may read the account's
    traces. Errors are still recorded: their messages are memerase's own, which name no ids."""

    def capture_lambda_handler(  # type: ignore[override]
        self, lambda_handler: Any = None, capture_response: bool | None = None, capture_error: bool | None = None
    ) -> Any:
        return super().capture_lambda_handler(
            lambda_handler, capture_response=bool(capture_response), capture_error=capture_error
        )


# What the X-Ray SDK patches when a handler loads: botocore, which every function calls AWS through. Powertools'
# default patches every library the SDK knows that is installed, importing each: httpx, SQLAlchemy, pymongo... cost
# about 200 ms of a traced cold start and trace nothing memerase does. requests (under opensearch-py) is patched by the
# OpenSearch adapter when it builds a client (`trace_library`): importing it costs ~17 ms that only OpenSearch needs.
TRACED_MODULES = ("botocore",)


def _tracer() -> Tracer | Untraced:
    if not tracing_enabled():
        return Untraced()
    return ResponselessTracer(service="memerase", patch_modules=TRACED_MODULES)


logger = Logger(service="memerase")
tracer = _tracer()
metrics = Metrics(namespace="memerase", service="memerase")


def trace_library(module: str) -> None:
    """Trace a library's calls from now on, when tracing is on: the X-Ray SDK patches it (once) when the adapter
    that uses it first needs it, so a function whose stores never use it does not import it."""
    tracer.patch(modules=(module,))


def fingerprint(value: str) -> str:
    """A short, stable stand-in for a raw id in logs. Unsalted: it hides an id from a reader of the logs, but
    whoever can guess an id can confirm it by hashing it."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def count(name: str, value: int) -> None:
    """A business metric (e.g. MemoriesErased), published by the handler's `metrics.log_metrics`."""
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
