"""DeleteVectors retries sized to S3 Vectors' per-index write ceiling (2,500 vectors and 1,000 requests a second).

A throttled delete (429 `TooManyRequestsException`, or `ThrottlingException`) is retried after a short jittered wait
sized to the limit: at 2,500 vectors a second a 500-key batch needs 0.2 s of refill, so the k-th consecutive throttle
waits uniform(0.05, 0.25) s x 1.03^(k-1), each wait at most 0.5 s, until `throttle_attempts` (60) attempts or
`max_throttle_wait_s` seconds of waiting, then the caller sees `Throttled` (the state machine's Retry takes over).
The bound is generous because workers of one job share the ceiling: a 1.15 growth and 16 attempts let a worker that
lost the race 16 times in a row give up while the others kept the index at its ceiling (measured in the bench).
botocore's standard mode waits rand(0, 1) x 2^attempt seconds instead: workers that collide sleep far longer than the
bucket needs and the index's ceiling goes unused (bench/README.md, `s3_rate_ceiling`).

Every other error boto3's standard mode retries (5xx, `RequestTimeoutException`, a reset or timed-out connection) is
retried as it would retry it: up to `transient_attempts` attempts, waiting rand(0, 1) x 2^(attempt-1) s (at most
20 s). The keys of every attempt are the keys of the batch: a retry never widens a deletion, and deleting a key that
an earlier attempt already deleted is a no-op for S3 Vectors; the batch is counted once, by its caller.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

THROTTLING_CODES = frozenset({"TooManyRequestsException", "ThrottlingException"})
TRANSIENT_CODES = frozenset({"ServiceUnavailableException", "InternalServerException", "RequestTimeoutException"})
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})  # botocore's standard mode retries these whatever the code


@dataclass(frozen=True)
class DeleteRetry:
    """How a DeleteVectors batch is retried; the waits are drawn by `throttle_delay` and `transient_delay`."""

    # Several workers share one index's ceiling: a worker that lost the race keeps polling about as often as the
    # others (growth 3 % a throttle, waits at most 0.5 s) and gives up only after ~20 s of waiting (at most 26.1 s).
    throttle_attempts: int = 60
    max_throttle_wait_s: float = 30.0  # a hard cap above the 59 waits' longest possible sum (26.1 s)
    throttle_wait_s: tuple[float, float] = (0.05, 0.25)  # a 500-key batch refills in 0.2 s at 2,500 vectors/s
    throttle_growth: float = 1.03
    throttle_cap_s: float = 0.5
    transient_attempts: int = 8  # boto3's standard mode, as the adapter's other calls are configured

    def throttle_delay(self, throttles: int) -> float:
        """The wait after the `throttles`-th consecutive throttled attempt (1, 2, ...)."""
        low, high = self.throttle_wait_s
        drawn = random.uniform(low, high) * self.throttle_growth ** (throttles - 1)  # noqa: S311 - jitter
        return min(self.throttle_cap_s, drawn)

    def transient_delay(self, failures: int) -> float:
        """botocore's standard backoff after the `failures`-th transient failure."""
        return min(20.0, random.random() * 2 ** (failures - 1))  # noqa: S311 - jitter


class DeleteFailed(Exception):
    """A DeleteVectors that the retries gave up on: `cause` is the last error, `throttled` whether it was a 429."""

    def __init__(self, cause: Exception, throttled: bool, attempts: int):
        super().__init__(f"after {attempts} attempts")
        self.cause, self.throttled, self.attempts = cause, throttled, attempts


def pause(seconds: float) -> None:
    """Wait between attempts (the tests replace it, to record the waits instead of sleeping them)."""
    time.sleep(seconds)


def delete_with_retries(send: Callable[[], Any], policy: DeleteRetry) -> Any:
    """`send()` (one DeleteVectors of a fixed batch) until it succeeds; `DeleteFailed` when a retryable error
    outlasts the policy, the error itself when it is not retryable."""
    throttles = transients = 0
    waited = 0.0
    while True:
        try:
            return send()
        except ClientError as exc:
            if _code(exc) in THROTTLING_CODES:
                throttles += 1
                delay = policy.throttle_delay(throttles)
                if throttles >= policy.throttle_attempts or waited + delay > policy.max_throttle_wait_s:
                    raise DeleteFailed(exc, True, throttles + transients) from exc
                waited += delay
                pause(delay)
                continue
            if _code(exc) not in TRANSIENT_CODES and _status(exc) not in TRANSIENT_STATUSES:
                raise
            transients += 1
            if transients >= policy.transient_attempts:
                raise DeleteFailed(exc, False, throttles + transients) from exc
            pause(policy.transient_delay(transients))
        except (BotoConnectionError, HTTPClientError) as exc:
            transients += 1
            if transients >= policy.transient_attempts:
                raise DeleteFailed(exc, False, throttles + transients) from exc
            pause(policy.transient_delay(transients))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
