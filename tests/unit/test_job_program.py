"""The in-process runner and the state machine run the same program: `jobs.program` names the ASL's states, and for
the same answers of the steps both call the same steps in the same order. The ASL is walked here by a small
interpreter of the constructs infra/erasure_job.asl.json uses (Task, Map, Choice, Pass, Succeed, Fail, Catch)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memerase.errors import StoreError
from memerase.jobs import program
from memerase.jobs.tally import Verdict

ASL = json.loads((Path(__file__).parents[2] / "infra" / "erasure_job.asl.json").read_text())
TASKS = {
    "${PlanFunctionArn}": "plan",
    "${EraseFunctionArn}": "erase",
    "${VerifyFunctionArn}": "verify",
    "${FinalizeFunctionArn}": "finalize",
    "${FailFunctionArn}": "fail",
}
CLEAN = Verdict(clean=True, retry=False, next_pass=1, rounds=1)
AGAIN = Verdict(clean=False, retry=True, next_pass=2, rounds=1, memories_left=1, records_left=1)
STUCK = Verdict(clean=False, retry=False, next_pass=3, rounds=3, memories_left=1, records_left=1)


class ScriptedSteps:
    """Steps answering from a script: two work items per pass, each done on its second Erase Pages; the verdicts
    in order; an erase that raises when `broken`. Every call is traced."""

    def __init__(self, verdicts: list[Verdict], broken: bool = False) -> None:
        self.verdicts = iter(verdicts)
        self.broken = broken
        self.trace: list[tuple[str, ...]] = []
        self.pages: dict[str, int] = {}

    def plan(self, job_id: str, execution: str | None = None) -> list[str]:
        self.trace.append(("plan",))
        return ["a", "b"]

    def erase(self, job_id: str, item: str, *_: Any) -> bool:
        self.trace.append(("erase", item))
        if self.broken:
            raise StoreError("S3 Vectors delete_vectors failed: AccessDeniedException")
        self.pages[item] = self.pages.get(item, 0) + 1
        return self.pages[item] % 2 == 0

    def verify(self, job_id: str) -> Verdict:
        self.trace.append(("verify",))
        return next(self.verdicts)

    def finalize(self, job_id: str) -> None:
        self.trace.append(("finalize",))

    def fail(self, job_id: str, error: str, cause: str = "") -> None:
        self.trace.append(("fail", error))

    def running(self, job_id: str) -> bool:
        return True


def walk(states: dict[str, Any], start: str, data: dict[str, Any], steps: ScriptedSteps) -> Iterator[str]:
    """Run the ASL's states over `steps`; yields the states entered."""
    name: str | None = start
    while name is not None:
        state = states[name]
        yield name
        kind = state["Type"]
        try:
            if kind == "Task":
                _put(data, state.get("ResultPath"), _task(state, data, steps))
            elif kind == "Map":
                processor = state["ItemProcessor"]
                for item in _get(data, state["ItemsPath"]):
                    yield from walk(processor["States"], processor["StartAt"], {"item": item}, steps)
        except Exception as exc:  # to the state's Catch; a state without one fails its caller (the Map)
            if "Catch" not in state:
                raise
            data["error"] = {"Error": type(exc).__name__, "Cause": str(exc)}
            name = state["Catch"][0]["Next"]
            continue
        if kind == "Choice":
            chosen = [c["Next"] for c in state["Choices"] if _get(data, c["Variable"]) is c["BooleanEquals"]]
            name = chosen[0] if chosen else state["Default"]
            continue
        elif kind == "Pass":
            _put(data, state["ResultPath"], state["Parameters"])
        if kind in ("Succeed", "Fail") or state.get("End"):
            return
        name = state["Next"]


def _task(state: dict[str, Any], data: dict[str, Any], steps: ScriptedSteps) -> Any:
    step = TASKS[state["Parameters"]["FunctionName"]]
    if step == "plan":
        return {"items": steps.plan("job")}
    if step == "erase":
        return {"done": steps.erase("job", data["item"])}
    if step == "verify":
        verdict = steps.verify("job")
        return {"clean": verdict.clean, "retry": verdict.retry}
    if step == "fail":
        return steps.fail("job", data["error"]["Error"], data["error"]["Cause"])
    return steps.finalize("job")


def _get(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.removeprefix("$.").split("."):
        value = value[part]
    return value


def _put(data: dict[str, Any], path: str | None, value: Any) -> None:
    if path is not None:
        data[path.removeprefix("$.")] = value


def test_the_program_names_every_state_of_the_asl() -> None:
    # Given the ASL's states, the Map's inner ones included
    inner = ASL["States"]["Erase Work Items"]["ItemProcessor"]["States"]
    named = set(ASL["States"]) | set(inner)
    # Then the program names exactly those, bar the Map's success state
    assert named - {"Work Item Finished"} == set(program.STATES)


SCENARIOS = {
    "a clean first pass": ([CLEAN], False),
    "a second pass, then clean": ([AGAIN, CLEAN], False),
    "passes run out": ([AGAIN, STUCK], False),
    "a worker fails": ([], True),
}


@pytest.mark.parametrize(("verdicts", "broken"), SCENARIOS.values(), ids=SCENARIOS.keys())
def test_the_program_calls_the_same_steps_as_the_asl(verdicts: list[Verdict], broken: bool) -> None:
    # Given steps answering the same way to the ASL and to the program
    by_asl, by_program = ScriptedSteps(verdicts, broken), ScriptedSteps(verdicts, broken)
    # When the ASL is walked and the program runs
    entered = list(walk(ASL["States"], ASL["StartAt"], {}, by_asl))
    with contextlib.suppress(Exception):  # the program raises what failed (Erasure Failed), after recording it
        program.run(by_program, "job")  # type: ignore[arg-type]
    # Then both called the same steps, in the same order, and the ASL ended where the program did
    assert by_program.trace == by_asl.trace and by_asl.trace
    assert entered[-1] == ("Erasure Failed" if broken or verdicts[-1] is STUCK else "Finalize Job")
