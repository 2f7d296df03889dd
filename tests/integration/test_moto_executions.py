"""The stand-in's StopExecution (`memerase_local.moto_executions`, on wherever the tests and `memerase serve` run
the state machine): a stop that arrives before moto's execution thread has entered the first state aborts the
execution, as AWS does, where moto 5.2.5 fails the call or ignores it. A job cancelled right after it was started
sends such a stop (the privacy scan's cancel failed with a 500 once in CI this way)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from memerase_local.moto_executions import stops_wait_for_start

HOLD = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 1, "End": True}}}
WAIT_S = 10
TERMINAL = {"SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"}


@pytest.fixture
def sfn(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto in-process, executing state machines."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions")


@contextmanager
def held(target: Any, name: str) -> Iterator[threading.Event]:
    """The execution thread held as it enters `target.name` (announced by the Event yielded) until StopExecution has
    reached moto's execution (whichever `ExecutionWorker.stop` is in place: moto's or the stand-in's)."""
    reached, arrived = threading.Event(), threading.Event()
    real_step, real_stop = getattr(target, name), ExecutionWorker.stop

    def step(*args: Any, **kwargs: Any) -> Any:
        reached.set()
        assert arrived.wait(WAIT_S), "the stop never arrived"
        return real_step(*args, **kwargs)

    def stop(worker: ExecutionWorker, *args: Any, **kwargs: Any) -> None:
        arrived.set()
        real_stop(worker, *args, **kwargs)

    replacement = staticmethod(step) if isinstance(target.__dict__[name], staticmethod) else step
    with mock.patch.object(target, name, replacement), mock.patch.object(ExecutionWorker, "stop", stop):
        yield reached


def before_environment() -> AbstractContextManager[threading.Event]:
    """Held as it parses the ASL: no environment exists yet when the stop arrives."""
    return held(AmazonStateLanguageParser, "parse")


def before_first_state() -> AbstractContextManager[threading.Event]:
    """Held as the program starts: the environment exists, the first state is not entered yet."""
    return held(Program, "eval")


def start_then_stop(
    sfn: Any, slowed: Callable[[], AbstractContextManager[threading.Event]]
) -> tuple[str, Exception | None]:
    role = "arn:aws:iam::123456789012:role/memerase-local"
    machine = sfn.create_state_machine(name="hold", definition=json.dumps(HOLD), roleArn=role)["stateMachineArn"]
    with slowed() as reached:
        arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
        assert reached.wait(WAIT_S), "the execution thread never got there"
        try:
            sfn.stop_execution(executionArn=arn, error="memerase.Cancelled", cause="cancelled")
            refused = None
        except Exception as exc:  # what moto alone does in the first window
            refused = exc
        deadline = time.monotonic() + 30
        while (status := sfn.describe_execution(executionArn=arn)["status"]) not in TERMINAL:
            assert time.monotonic() < deadline, status
            time.sleep(0.05)
    return status, refused


@pytest.mark.parametrize("slowed", [before_environment, before_first_state], ids=["before-environment", "before-first"])
def test_a_stop_sent_before_the_first_state_aborts_the_execution(
    sfn: Any, slowed: Callable[[], AbstractContextManager[threading.Event]]
) -> None:
    # Given an execution whose thread has not reached its first state yet
    # When it is stopped right after it was started, with the stand-in's StopExecution
    with stops_wait_for_start():
        status, refused = start_then_stop(sfn, slowed)
    # Then the call succeeds and the execution is ABORTED, as AWS answers
    assert refused is None and status == "ABORTED"


@pytest.mark.parametrize(
    ("slowed", "moto_alone"),
    [(before_environment, "AttributeError"), (before_first_state, "SUCCEEDED")],
    ids=["before-environment", "before-first"],
)
def test_moto_alone_fails_or_ignores_such_a_stop(
    sfn: Any, slowed: Callable[[], AbstractContextManager[threading.Event]], moto_alone: str
) -> None:
    # Given the same execution, When it is stopped as early with moto's own StopExecution
    status, refused = start_then_stop(sfn, slowed)
    # Then moto fails the call (before the environment exists) or ignores it (the execution runs to its end)
    assert (type(refused).__name__ if refused else status) == moto_alone
