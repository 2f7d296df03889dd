"""Handlers on several threads of one process share Powertools' metric set (`memerase_local.shared_metrics`, on
wherever the local tools and the tests run handlers): a flush waits for another handler's flush to end, where
Powertools alone lets the second empty the set under the first ("Must contain at least one metric").

The interleaving is made to happen, not waited for: one flush is held after it found metrics to publish while
another handler flushes."""

from __future__ import annotations

import threading
from typing import Any
from unittest import mock

import pytest
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from memerase.observability import metrics
from memerase_local.shared_metrics import METHODS, metrics_one_at_a_time

BLOCKED_S = 0.5  # how long the held flush waits for another the lock keeps waiting (it must not end meanwhile)
ANSWERED_S = 10.0  # how long it waits for one that Powertools alone runs at once


def flush_while_another_flushes(hold_s: float) -> tuple[list[str], bool]:
    """A metric added, its flush held between its check and its serialisation while another thread flushes: what
    either flush raised, and whether the other flush ended while the first was held."""
    metrics.clear_metrics()  # what earlier tests of this process counted outside a handler
    held, go = threading.Event(), threading.Event()
    went: list[bool] = []
    real = AmazonCloudWatchEMFProvider.serialize_metric_set
    raised: list[str] = []

    def serialize(self: AmazonCloudWatchEMFProvider, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "first":
            held.set()
            went.append(go.wait(hold_s))
        return real(self, *args, **kwargs)

    def flush() -> None:
        try:
            metrics.flush_metrics()
        except Exception as exc:
            raised.append(f"{threading.current_thread().name}: {type(exc).__name__}: {exc}")

    metrics.add_metric(name="MemoriesErased", unit=MetricUnit.Count, value=1)
    with mock.patch.object(AmazonCloudWatchEMFProvider, "serialize_metric_set", serialize):
        first = threading.Thread(target=flush, name="first")
        first.start()
        assert held.wait(10), "the first flush never serialised"
        second = threading.Thread(target=lambda: (flush(), go.set()), name="second")
        second.start()
        first.join(10)
        second.join(10)
    return raised, went == [True]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_a_flush_is_not_emptied_by_another_handlers_flush(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the local tools' metrics (installed wherever handlers run on threads)
    metrics_one_at_a_time()
    # When a handler flushes while another handler's flush is between its check and its serialisation
    raised, ended_meanwhile = flush_while_another_flushes(BLOCKED_S)
    # Then the second waits for the first, neither fails, and the metric is published once
    assert not ended_meanwhile and raised == []
    assert capsys.readouterr().out.count('"MemoriesErased":[1.0]') == 1


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_powertools_alone_fails_the_held_flush(capsys: pytest.CaptureFixture[str]) -> None:
    # Given Powertools' own provider
    metrics_one_at_a_time()
    own = {name: getattr(AmazonCloudWatchEMFProvider, name).__wrapped__ for name in METHODS}
    with mock.patch.multiple(AmazonCloudWatchEMFProvider, **own):
        # When the same two flushes interleave
        raised, ended_meanwhile = flush_while_another_flushes(ANSWERED_S)
    # Then the second flush ends at once, and the held one finds the set emptied under it
    assert ended_meanwhile
    assert [r.rstrip(".") for r in raised] == ["first: SchemaValidationError: Must contain at least one metric"]
