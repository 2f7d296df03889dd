"""One set of observability objects for the whole library (Logger, Tracer, Metrics), and the one way ids reach a
log line."""

from __future__ import annotations

import hashlib

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="memerase")
tracer = Tracer(service="memerase")
metrics = Metrics(namespace="memerase", service="memerase")


def fingerprint(value: str) -> str:
    """A short, stable stand-in for a raw id in logs. Unsalted: it hides an id from a reader of the logs, but
    whoever can guess an id can confirm it by hashing it."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def count(name: str, value: int) -> None:
    """A business metric (e.g. MemoriesErased), published by the handler's `metrics.log_metrics`."""
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
