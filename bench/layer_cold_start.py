"""Benchmark: each handler's cold import from the deployment package itself, on Python 3.12: as shipped, with
Python's cyclic collector left running, and without bytecode.

Run from the repository root (needs Python 3.12: `LAYER_PYTHON`, else `python3.12` on PATH)::

    .venv/bin/python -m bench.layer_cold_start [--runs 5] [--tracing] [--instructions] [--handler api_memories ...]

It builds the layer with the target `sam build` runs (`make -C shared build-MemeraseLayer`), for this machine's
platform instead of arm64 (`LAYER_PLATFORM=`), into a temporary folder; then imports each handler as Lambda does: a
fresh Python 3.12 with only the function's folder (Lambda's /var/task) and the layer's `python/` (/opt/python) on its
path, `-B` (Lambda's /opt and /var/task are read-only: nothing compiled at import is kept), `-s -E` (no user site, no
PYTHON* variables), and the template's variables that change an import (`bench.cold_start.FUNCTION_ENV`). Each
handler is imported `--runs` times in three states (round-robin over the handlers, the states' order rotated from
run to run):

* **shipped**: the layer as the target builds it (every module compiled to a hash-based .pyc), the handler as it is
  (its modules and boto3 load under `memerase.coldstart.cold_import`, with the cyclic collector paused);
* **collector on**: the same layer, with `cold_import` replaced by a context that does nothing, as the handlers were
  before it;
* **SAM python3.12**: the handler as it is, the layer's files without any .pyc (SAM's python3.12 build method unpacks
  the wheels and copies the sources without compiling), so each cold start compiles every module it imports.

It prints the CPU time of the import of `app`, then `import boto3` (as `bench.cold_start`), median and minimum,
side by side. The minimum is the steadier of the two on a shared machine: the work is the same in every run, and what
varies is how much other processes slow it down (as `timeit`'s documentation argues).
`--instructions` adds the instructions each of the first two states executes from the interpreter's start to the end
of the import (the child then leaves with `os._exit`: a Lambda environment never shuts its interpreter down after the
import), counted once under valgrind's callgrind with a fixed hash seed: the same count run after run, unlike a time
on a shared machine (about 20 s a run).
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
import contextlib, importlib, json, os, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import memerase.coldstart  # in every state, before the clock: only the collector-on state replaces its context
if sys.argv[3] == "collector-on":
    memerase.coldstart.cold_import = contextlib.nullcontext
cpu, wall = time.process_time(), time.perf_counter()
importlib.import_module("app")
import boto3
print(json.dumps({"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}), flush=True)
os._exit(0)  # no interpreter shutdown (its final collection): a Lambda environment never runs one after its import
"""
SHIPPED, COLLECTOR_ON, NO_BYTECODE = "shipped", "collector-on", "no-bytecode"
INSTRUCTED = (SHIPPED, COLLECTOR_ON)


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


def _command(python: str, handler: str, layer: Path, state: str) -> list[str]:
    return [python, "-B", "-s", "-E", "-c", SNIPPET, str(ROOT / "functions" / handler), str(layer), state]


def _environment(handler: str, tracing: bool) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "bench"}
    env.update(FUNCTION_ENV)
    if tracing:
        env.update(LAMBDA_TASK_ROOT=str(ROOT / "functions" / handler), AWS_LAMBDA_FUNCTION_NAME=handler)
    return env


def import_ms(python: str, handler: str, layer: Path, state: str, tracing: bool) -> float:
    command = _command(python, handler, layer, state)
    environ = _environment(handler, tracing)
    done = subprocess.run(command, env=environ, capture_output=True, text=True, check=True, timeout=120)
    return float(json.loads(done.stdout.strip().splitlines()[-1])["cpu"]) * 1000


def import_instructions(python: str, handler: str, layer: Path, state: str, tracing: bool) -> float:
    """Millions of instructions the interpreter executes from its start to the end of the import (no shutdown),
    counted by callgrind."""
    env = dict(_environment(handler, tracing), PYTHONHASHSEED="0")
    valgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    done = subprocess.run(
        [*valgrind, *_command(python, handler, layer, state)], env=env, capture_output=True, text=True, timeout=600
    )
    counted = [line for line in done.stderr.splitlines() if "Collected :" in line]
    if done.returncode or not counted:
        raise SystemExit(f"valgrind failed for {handler}: {done.stderr[-500:]}")
    return int(counted[-1].split()[-1]) / 1e6


def measure_times(
    python: str, names: list[str], states: dict[str, Path], runs: int, tracing: bool
) -> dict[str, dict[str, list[float]]]:
    """CPU ms of every (handler, state), `runs` times, round-robin over the handlers, the states' order rotated from
    run to run: a slower minute of the machine falls on all of them alike, not on whichever was being measured."""
    times: dict[str, dict[str, list[float]]] = {name: {state: [] for state in states} for name in names}
    order = list(states)
    for run in range(runs):
        for name in names:
            for state in order[run % len(order) :] + order[: run % len(order)]:
                times[name][state].append(import_ms(python, name, states[state], state, tracing))
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.layer_cold_start", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tracing", action="store_true", help="as in Lambda with `Tracing: Active` (X-Ray SDK)")
    parser.add_argument("--instructions", action="store_true", help="also count instructions under valgrind")
    parser.add_argument("--handler", action="append", help="only these handlers (default: all)")
    args = parser.parse_args(argv)
    python = python312()
    if args.instructions and not shutil.which("valgrind"):
        raise SystemExit("--instructions needs valgrind on PATH")
    version = subprocess.run([python, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="memerase-layer-") as scratch:
        compiled = build_layer(python, Path(scratch) / "built")
        plain = uncompiled_copy(compiled, Path(scratch) / "plain")
        states = {SHIPPED: compiled, COLLECTOR_ON: compiled, NO_BYTECODE: plain}
        pyc = sum(1 for _ in compiled.rglob("*.pyc"))
        print(f"layer built by `make build-MemeraseLayer` for this machine: {pyc} .pyc files; {version}, -B -s -E")
        tracing = "on" if args.tracing else "off"
        print(f"tracing {tracing}, {args.runs} runs each, CPU ms median / min (target {TARGET_MS})")
        header = f"{'handler':<20}{'shipped':>11}{'collector on':>14}{'SAM python3.12':>16}"
        print(header + (f"{'M instr. shipped':>18}{'collector on':>14}" if args.instructions else ""))
        names = args.handler or handlers()
        times = measure_times(python, names, states, args.runs, args.tracing)
        for handler in names:
            ms = {state: f"{statistics.median(v):.0f} / {min(v):.0f}" for state, v in times[handler].items()}
            line = f"{handler:<20}{ms[SHIPPED]:>11}{ms[COLLECTOR_ON]:>14}{ms[NO_BYTECODE]:>16}"
            if args.instructions:
                shipped, on = (import_instructions(python, handler, compiled, s, args.tracing) for s in INSTRUCTED)
                line += f"{shipped:>18.0f}{on:>14.0f}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
