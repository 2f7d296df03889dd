"""The layer's build target (`shared/Makefile`, what `sam build` runs for `MemeraseLayer`) installs the locked wheels
and compiles every module, so a cold start reads bytecode instead of compiling (Lambda's /opt is read-only: nothing
compiled at import is kept). Built here with this venv's Python for this machine, as `bench.layer_cold_start` does
with Python 3.12."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.unit.test_template import template

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import importlib, importlib.util, json, os, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
importlib.import_module("app")
files = [getattr(m, "__file__", None) or "" for m in list(sys.modules.values())]
from_layer = [f for f in files if f.startswith(sys.argv[2]) and f.endswith(".py")]
uncompiled = sorted(f for f in from_layer if not os.path.exists(importlib.util.cache_from_source(f)))
print(json.dumps({"from_layer": len(from_layer), "uncompiled": uncompiled}))
"""


def test_the_template_builds_the_layer_with_its_makefile_for_arm64() -> None:
    # Given the template and the layer's Makefile
    layer = template()["Resources"]["MemeraseLayer"]
    makefile = (ROOT / "shared" / "Makefile").read_text()
    # When the layer's build settings are read
    # Then SAM runs the Makefile's target, for the architecture pip is told to install
    assert layer["Metadata"]["BuildMethod"] == "makefile" and layer["Properties"]["ContentUri"] == "shared/"
    assert "build-MemeraseLayer:" in makefile and layer["Metadata"]["BuildArchitecture"] == "arm64"
    assert "--platform manylinux2014_aarch64" in makefile and "--require-hashes" in makefile


def test_every_module_a_handler_loads_from_the_built_layer_is_compiled(tmp_path: Path) -> None:
    # Given the layer built by its target, with this interpreter, for this machine
    env = dict(os.environ, ARTIFACTS_DIR=str(tmp_path), LAYER_PYTHON=sys.executable, LAYER_PLATFORM="")
    subprocess.run(["make", "-s", "-C", str(ROOT / "shared"), "build-MemeraseLayer"], env=env, check=True, timeout=600)
    layer = tmp_path / "python"
    # When a handler is imported from it as Lambda does (its folder and the layer only, nothing written: -B)
    done = subprocess.run(
        [sys.executable, "-B", "-s", "-E", "-c", PROBE, str(ROOT / "functions" / "api_memories"), str(layer)],
        env={"PATH": os.environ["PATH"], "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(done.stdout)
    # Then it loaded memerase, boto3, pydantic... from the layer, each from its .pyc
    assert result["from_layer"] > 100 and result["uncompiled"] == []
    assert (layer / "memerase" / "__pycache__").is_dir()
