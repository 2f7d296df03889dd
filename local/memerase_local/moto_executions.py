"""moto's StopExecution, for an execution whose program has not started yet.

moto 5.2.5 runs an execution on a thread of its own: the thread parses the ASL, builds the execution's environment
(`ExecutionWorker.env`), then enters the first state. A StopExecution that arrives before the environment exists
fails with "'NoneType' object has no attribute 'set_stop'" (in moto's server a 500, in-process an AttributeError: an
answer the real service never gives), and one that arrives after it but before the first state is silently ignored
(the execution runs on, where AWS would abort it). A cancel right after a job was started is such a call. Here a
stop waits until the program runs, then stops it: ABORTED, as AWS answers whenever the call arrives. Used by the
local stand-ins and the tests (never deployed).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

START_WAIT_S = 10.0  # parsing the ASL takes well under a second; a program that never starts is not waited for
_POLL_S = 0.005


def _started(worker: ExecutionWorker) -> bool:
    env = worker.env
    return env is not None and env.program_state() is not None


def _stop_once_started(
    worker: ExecutionWorker, stop_date: datetime.datetime, error: str | None, cause: str | None
) -> None:
    deadline = time.monotonic() + START_WAIT_S
    while not _started(worker):
        if time.monotonic() > deadline:
            return  # its thread never got to the first state: there is nothing running to stop
        time.sleep(_POLL_S)
    assert worker.env is not None
    worker.env.set_stop(stop_date=stop_date, cause=cause, error=error)


@contextmanager
def stops_wait_for_start() -> Iterator[None]:
    """While the block runs, moto's StopExecution stops an execution however early it arrives."""
    with mock.patch.object(ExecutionWorker, "stop", _stop_once_started):
        yield
