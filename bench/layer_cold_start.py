"""Benchmark: each handler's cold import from the deployment package itself, compiled or not, on Python 3.12.

Run from the repository root (needs Python 3.12: `LAYER_PYTHON`, else `python3.12` on PATH)::

    .venv/bin/python -m bench.layer_cold_start [--runs 5] [--tracing] [--handler api_memories ...]

It builds the layer with the target `sam build` runs (`make -C shared build-MemeraseLayer`), for this machine's
platform instead of arm64 (`LAYER_PLATFORM=`), into a temporary folder; then imports each handler as Lambda does: a
fresh Python 3.12 with only the function's folder (Lambda's /var/task) and the layer's `python/` (/opt/python) on its
path, `-B` (Lambda's /opt and /var/task are read-only: nothing compiled at import is kept), `-s -E` (no user site, no
PYTHON* variables). Each handler is imported `--runs` times in two states, interleaved:

* **compiled**: the layer as the target builds it, every module compiled to a hash-based .pyc;
* **as SAM's python3.12 build method ships it**: the same files without any .pyc (that method unpacks the wheels and
  copies the sources without compiling), so each cold start compiles every module it imports.

It prints the CPU-time medians side by side (the import of `app`, then `import boto3`, as `bench.cold_start`).
Nothing is asserted on time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.cold_start import FUNCTION_ENV, TARGET_MS, handlers

ROOT = Path(__file__).resolve().parent.parent
SNIPPET = """
import importlib, json, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
cpu, wall = time.process_time(), time.perf_counter()
importlib.import_module("app")
import boto3
print(json.dumps({"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}))
"""


def python312() -> str:
    found = os.environ.get("LAYER_PYTHON") or shutil.which("python3.12")
    if not found:
        raise SystemExit("bench.layer_cold_start needs Python 3.12: set LAYER_PYTHON or put python3.12 on PATH")
    return found


def build_layer(python: str, into: Path) -> Path:
    """The layer as `make build-MemeraseLayer` builds it, for this machine's platform; returns its python/ folder."""
    command = ["make", "-s", "-C", str(ROOT / "shared"), "build-MemeraseLayer"]
    env = dict(os.environ, ARTIFACTS_DIR=str(into), LAYER_PYTHON=python, LAYER_PLATFORM="")
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return into / "python"


def uncompiled_copy(layer: Path, into: Path) -> Path:
    shutil.copytree(layer, into, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return into


def import_ms(python: str, handler: str, layer: Path, tracing: bool) -> float:
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "bench"}
    env.update(FUNCTION_ENV)
    if tracing:
        env.update(LAMBDA_TASK_ROOT=str(ROOT / "functions" / handler), AWS_LAMBDA_FUNCTION_NAME=handler)
    command = [python, "-B", "-s", "-E", "-c", SNIPPET, str(ROOT / "functions" / handler), str(layer)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=120)
    return float(json.loads(done.stdout.strip().splitlines()[-1])["cpu"]) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.layer_cold_start", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tracing", action="store_true", help="as in Lambda with `Tracing: Active` (X-Ray SDK)")
    parser.add_argument("--handler", action="append", help="only these handlers (default: all)")
    args = parser.parse_args(argv)
    python = python312()
    version = subprocess.run([python, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="memerase-layer-") as scratch:
        compiled = build_layer(python, Path(scratch) / "built")
        plain = uncompiled_copy(compiled, Path(scratch) / "plain")
        pyc = sum(1 for _ in compiled.rglob("*.pyc"))
        print(f"layer built by `make build-MemeraseLayer` for this machine: {pyc} .pyc files; {version}, -B -s -E")
        print(f"tracing {'on' if args.tracing else 'off'}, {args.runs} runs each, CPU median ms (target {TARGET_MS})")
        print(f"{'handler':<20}{'compiled':>10}{'SAM python3.12':>16}{'ratio':>8}")
        for handler in args.handler or handlers():
            times: dict[Path, list[float]] = {compiled: [], plain: []}
            for _ in range(args.runs):
                for layer in (compiled, plain):
                    times[layer].append(import_ms(python, handler, layer, args.tracing))
            ours, theirs = statistics.median(times[compiled]), statistics.median(times[plain])
            print(f"{handler:<20}{ours:>10.0f}{theirs:>16.0f}{theirs / ours:>7.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
