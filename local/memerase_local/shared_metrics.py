"""Powertools' metrics, added and flushed one handler at a time in a process that runs handlers on several threads.

In Lambda a process runs one invocation at a time. Here `memerase serve` (its HTTP threads) and the Map state's
workers in moto's Step Functions interpreter (serve, the tests' harness) run handlers on threads of one process, and
every handler shares Powertools' one metric set: a handler that flushes it (every handler does, as it returns) while
another adds a metric or is flushing itself fails with "Must contain at least one metric" (the set emptied between
its check and its serialisation) or "dictionary changed size during iteration". Adding and flushing hold one lock
here; a metric may still be published by another handler's flush, as the EMF lines of one process are. Used by the
local tools and the tests (never deployed).
"""

from __future__ import annotations

import threading

from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from memerase_local.one_at_a_time import serialise

_one_at_a_time = threading.RLock()
METHODS = ("add_metric", "flush_metrics")


def metrics_one_at_a_time() -> None:
    """Patch Powertools' EMF metrics provider (idempotent: a second call changes nothing). Each method as Powertools
    has it stays reachable as its `__wrapped__`."""
    for name in METHODS:
        serialise(AmazonCloudWatchEMFProvider, name, _one_at_a_time)
