"""`sam build` of template.yaml, as a fresh clone runs it on this machine: SAM CLI from its own venv (`make build`,
`.venv-sam`), the layer by `shared/Makefile` as SAM runs it (`make build-MemeraseLayer` with ARTIFACTS_DIR), the
machine's PATH as it is (here Python 3.12 is a pyenv version, not on PATH). Built once per run into a temporary
folder (`--build-dir`): 30-45 s measured here with pip's cache warm, 70 s cold (pip fetching the layer's locked
arm64 wheels, then compiling)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support.once import once_per_run
from tests.unit.test_template import template

ROOT = Path(__file__).resolve().parents[2]
SAM = Path(os.environ.get("MEMERASE_SAM") or ROOT / ".venv-sam" / "bin" / "sam")
NO_SAM = f"SAM CLI not found at {SAM}: `make test` installs it (`make .venv-sam/...`, see the Makefile's SAM_STAMP)"
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024  # a function and its layers, unzipped
ELF_MACHINE = {62: "x86-64", 183: "aarch64"}  # e_machine of an ELF header


def functions() -> dict[str, str]:
    """Each function's logical id -> its handler folder, as template.yaml names them."""
    return {
        name: Path(resource["Properties"]["CodeUri"]).name
        for name, resource in template()["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


@pytest.fixture(scope="session")
def sam_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SAM.exists():
        pytest.fail(NO_SAM)

    def build(folder: Path) -> None:
        env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
        done = subprocess.run(
            [str(SAM), "build", "--template-file", str(ROOT / "template.yaml"), "--build-dir", str(folder / "build")],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    return once_per_run(tmp_path_factory, "sam-build", build) / "build"


def test_sam_build_builds_every_function_and_the_layer_without_python312_on_path(sam_build: Path) -> None:
    """Before the layer's makefile looked for Python 3.12 itself, this failed with `Make Failed: pyenv: python3.12:
    command not found` (pyenv's shim is on PATH; no 3.12 is selected)."""
    # Given template.yaml's functions, and the build `sam build` made (fixture)
    expected = functions()
    # When the build folder is read
    built = {p.name for p in sam_build.iterdir() if p.is_dir()}
    # Then each function's folder holds its handler as the source has it, and the layer was built
    assert built == {*expected, "MemeraseLayer"}
    for name, folder in expected.items():
        assert (sam_build / name / "app.py").read_bytes() == (ROOT / "functions" / folder / "app.py").read_bytes()
    assert (sam_build / "template.yaml").exists()


def test_the_layer_holds_the_locked_arm64_wheels_and_memerase_compiled_by_python312(sam_build: Path) -> None:
    """Before the fix there was no layer to read: the build failed (see the test above)."""
    # Given the layer `sam build` built
    layer = sam_build / "MemeraseLayer" / "python"
    # When its packages, its native libraries and memerase's bytecode are read
    sources = [p for p in (layer / "memerase").rglob("*.py") if "__pycache__" not in p.parts]
    missing_pyc = [p for p in sources if not (p.parent / "__pycache__" / f"{p.stem}.cpython-312.pyc").exists()]
    machines = {ELF_MACHINE.get(int.from_bytes(p.read_bytes()[18:20], "little"), "other") for p in layer.rglob("*.so")}
    unzipped = sum(p.stat().st_size for p in sam_build.rglob("*") if p.is_file())
    # Then boto3, pydantic and memerase are there, every memerase module compiled by 3.12, every binary is arm64,
    # and the whole build (every function and the layer) is within Lambda's 250 MB unzipped for a function + layers
    assert (layer / "boto3").is_dir() and (layer / "pydantic_core").is_dir() and sources
    assert missing_pyc == []
    assert machines == {"aarch64"}
    assert unzipped < LAMBDA_UNZIPPED_LIMIT


def test_the_layer_makefile_finds_a_pyenv_python312_when_the_one_on_path_does_not_run(tmp_path: Path) -> None:
    """Before the fix the makefile ran `python3.12` from PATH, which here is pyenv's shim: `pyenv: python3.12:
    command not found`."""
    # Given a python3.12 on PATH that fails as pyenv's shim does, and a pyenv root holding a 3.12 version
    shims, pyenv = tmp_path / "shims", tmp_path / "pyenv" / "versions" / "3.12.9" / "bin"
    _script(shims / "python3.12", "echo 'pyenv: python3.12: command not found' >&2; exit 127")
    _script(pyenv / "python3.12", "exit 0")  # answers the makefile's version check
    env = {"PATH": f"{shims}:/usr/bin:/bin", "PYENV_ROOT": str(tmp_path / "pyenv"), "HOME": str(tmp_path)}
    # When make shows how it would build the layer
    done = _make_layer(env, "-n")
    # Then it would install and compile with pyenv's 3.12
    assert done.returncode == 0, done.stderr
    assert f"{pyenv / 'python3.12'} -m pip install" in done.stdout


def test_the_layer_makefile_says_what_is_missing_when_there_is_no_python312(tmp_path: Path) -> None:
    """Before the fix: `/bin/sh: 1: python3.12: not found` (make: Error 127), nothing about what to install."""
    # Given no python3.12 on PATH and an empty pyenv root
    env = {"PATH": "/usr/bin:/bin", "PYENV_ROOT": str(tmp_path / "pyenv"), "HOME": str(tmp_path)}
    # When SAM's make target runs
    done = _make_layer(env)
    # Then it fails before installing anything, saying Python 3.12 is missing, where it looked, and how to name one
    assert done.returncode != 0
    assert "Python 3.12 (the layer's runtime) was not found" in done.stderr
    assert f"{tmp_path}/pyenv/versions/3.12*/bin" in done.stderr and "LAYER_PYTHON=" in done.stderr
    assert not (tmp_path / "artifacts").exists()


def _script(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _make_layer(env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    make = shutil.which("make") or "make"
    artifacts = Path(env["HOME"]) / "artifacts"
    return subprocess.run(
        [make, "-s", *flags, "-C", str(ROOT / "shared"), "build-MemeraseLayer", f"ARTIFACTS_DIR={artifacts}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
