"""template.yaml: cfn-lint clean, and consistent with the ASL and the handler folders it names."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub, ...) as plain values."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _any_tag)


def template() -> dict[str, Any]:
    return yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506


def test_cfn_lint_is_clean() -> None:
    # Given template.yaml
    cfn_lint = shutil.which("cfn-lint") or str(Path(sys.executable).parent / "cfn-lint")
    # When cfn-lint checks it
    done = subprocess.run([cfn_lint, str(ROOT / "template.yaml")], capture_output=True, text=True, timeout=300)
    # Then it finds nothing
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_function_names_an_existing_handler_folder() -> None:
    # Given the template's functions
    functions = {k: v for k, v in template()["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    assert functions
    # When each one's CodeUri is followed
    # Then it holds an app.py that defines `handler`
    for name, resource in functions.items():
        folder = ROOT / resource["Properties"]["CodeUri"]
        assert (folder / "app.py").is_file(), name
        assert "def handler(" in (folder / "app.py").read_text(), name


def test_state_machine_substitutions_match_the_asl_placeholders() -> None:
    # Given the template's state machines
    machines = [v for v in template()["Resources"].values() if v["Type"] == "AWS::Serverless::StateMachine"]
    # When each one's ASL is read
    # Then it is JSON and its ${...} placeholders are exactly the template's DefinitionSubstitutions
    for machine in machines:
        props = machine["Properties"]
        asl_text = (ROOT / props["DefinitionUri"]).read_text()
        json.loads(asl_text)
        assert set(re.findall(r"\$\{(\w+)\}", asl_text)) == set(props["DefinitionSubstitutions"])


def test_every_non_trivial_state_has_a_comment() -> None:
    # Given the erasure job's ASL, Map item processors included
    asl = json.loads((ROOT / "infra" / "erasure_job.asl.json").read_text())

    def states(machine: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        found = list(machine["States"].items())
        for _, state in machine["States"].items():
            if "ItemProcessor" in state:
                found += states(state["ItemProcessor"])
        return found

    # When the states that do something are listed
    trivial = {"Succeed", "Fail"}
    missing = [name for name, s in states(asl) if s["Type"] not in trivial and not s.get("Comment")]
    # Then each of them has a Comment
    assert missing == []


def test_every_task_has_a_catch_or_sits_inside_a_map_that_does() -> None:
    # Given the erasure job's ASL
    asl = json.loads((ROOT / "infra" / "erasure_job.asl.json").read_text())
    # When its top-level Task and Map states are read
    # Then every one but the failure recorder catches States.ALL
    for name, state in asl["States"].items():
        if state["Type"] in ("Task", "Map") and name != "Record Failure":
            assert any("States.ALL" in c["ErrorEquals"] for c in state.get("Catch", [])), name


def test_function_tracing_is_active_by_default_and_passthrough_turns_the_tracer_off() -> None:
    # Given the template
    doc = template()
    function = doc["Globals"]["Function"]
    # When its tracing settings are read
    parameter = doc["Parameters"]["FunctionTracing"]
    disabled = function["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"]
    # Then Lambda traces as the parameter says (Active unless chosen), and with PassThrough Powertools' Tracer is off
    # too (memerase.observability then never loads the X-Ray SDK)
    assert parameter["Default"] == "Active" and set(parameter["AllowedValues"]) == {"Active", "PassThrough"}
    assert function["Tracing"] == {"Ref": "FunctionTracing"}
    assert disabled == {"If": ["Traced", "false", "true"]}
    assert doc["Conditions"]["Traced"] == {"Equals": [{"Ref": "FunctionTracing"}, "Active"]}


def test_pydantic_plugins_are_off_in_every_function_as_the_cold_start_benches_run_them() -> None:
    # Given the template and the environment the cold-start benches import each handler with
    from bench.cold_start import FUNCTION_ENV

    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    # When the variables that change an import are compared
    # Then no pydantic plugin is loaded in any function (none sees validated input, and no entry-point scan runs at
    # start-up), and the benches measure exactly that environment
    assert variables["PYDANTIC_DISABLE_PLUGINS"] == "__all__"
    assert {name: variables.get(name) for name in FUNCTION_ENV} == FUNCTION_ENV
