"""Benchmark: each Lambda handler's cold import time, beside the size of the deployment package.

Run from the repository root::

    .venv/bin/python -m bench.cold_start [--runs 7] [--top 4] [--tracing] [--handler api_memories ...]

For every folder of functions/ it imports `functions.<name>.app` in a fresh interpreter `--runs` times and reports
the median and the minimum of the import's wall time and CPU time (`time.perf_counter` / `time.process_time` around
`importlib.import_module` and then `import boto3`, so the interpreter's own start is left out, and boto3 is counted
even for a handler that imports it only on its first call). The modules a first call adds for its configured
stores (e.g. opensearch-py) and the clients it builds are not in these figures. One more run under
`python -X importtime` gives the top contributors: the self time of each top-level package, summed (importtime's
own overhead inflates them). CPU time is the steadier figure on a shared machine: the wall time includes waiting
for a core.

The environment is the local one: not in Lambda, so tracing is off, as Powertools' Tracer decides. `--tracing`
sets LAMBDA_TASK_ROOT as Lambda does, so tracing is on (the template's `Tracing: Active`) and the X-Ray SDK loads.

The package size is the layer (`bench.package_size`: the installed distributions `shared/requirements.txt` pulls
in, sizes of the files their RECORD lists, plus shared/memerase) plus the function's own folder. Nothing is
asserted on time; the exit status is 1 only if a handler fails to import or a forbidden package is in the layer.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass

from bench.package_size import ROOT, forbidden_in_layer, layer_size, tree_size

TARGET_MS = 300
SNIPPET = """
import importlib, json, sys, time
wall, cpu = time.perf_counter(), time.process_time()
importlib.import_module(sys.argv[1])
import boto3  # every handler's first call needs it: counted here even where the import defers it
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
"""
LAMBDA_ENV = ("LAMBDA_TASK_ROOT", "AWS_LAMBDA_FUNCTION_NAME", "AWS_SAM_LOCAL", "POWERTOOLS_TRACE_DISABLED")
# The variables of template.yaml's Globals that change what an import does (tests/unit/test_template.py keeps them
# equal): pydantic skips its scan of every installed distribution's entry points for plugins.
FUNCTION_ENV = {"PYDANTIC_DISABLE_PLUGINS": "__all__"}


@dataclass
class ColdStart:
    handler: str
    wall_ms: list[float]
    cpu_ms: list[float]
    top: list[tuple[str, float]]  # (top-level package, self ms under -X importtime)


def handlers() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))


def environment(tracing: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LAMBDA_ENV}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.update(FUNCTION_ENV)
    if tracing:
        env["LAMBDA_TASK_ROOT"] = str(ROOT)
    return env


def _run(module: str, env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, *flags, "-c", SNIPPET, module]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)


def top_contributors(importtime: str, top: int) -> list[tuple[str, float]]:
    """`-X importtime` lines (`import time: self | cumulative | name`) -> self time per top-level package, in ms."""
    by_package: dict[str, float] = defaultdict(float)
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line.removeprefix("import time:").split("|")
        by_package[name.strip().split(".")[0]] += int(self_us) / 1000
    return sorted(by_package.items(), key=lambda item: -item[1])[:top]


def measure(handler: str, runs: int, top: int, env: dict[str, str]) -> ColdStart:
    module = f"functions.{handler}.app"
    samples = [json.loads(_run(module, env).stdout) for _ in range(runs)]
    profile = _run(module, env, "-X", "importtime").stderr
    return ColdStart(
        handler,
        wall_ms=[s["wall"] * 1000 for s in samples],
        cpu_ms=[s["cpu"] * 1000 for s in samples],
        top=top_contributors(profile, top),
    )


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def report(results: list[ColdStart], layer: int) -> None:
    head = f"{'handler':<18} {'wall median':>11} {'wall min':>9} {'cpu median':>10} {'cpu min':>8}"
    print(f"{head}  {'package':>9}  top contributors (self ms)")
    for r in results:
        package = layer + tree_size(ROOT / "functions" / r.handler)
        top = ", ".join(f"{name} {ms:.0f}" for name, ms in r.top)
        wall, cpu = statistics.median(r.wall_ms), statistics.median(r.cpu_ms)
        row = f"{r.handler:<18} {wall:>8.0f} ms {min(r.wall_ms):>6.0f} ms {cpu:>7.0f} ms {min(r.cpu_ms):>5.0f} ms"
        print(f"{row}  {_mb(package):>9}  {top}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per handler (default 7)")
    parser.add_argument("--top", type=int, default=4, help="top contributors shown per handler (default 4)")
    parser.add_argument("--tracing", action="store_true", help="as in Lambda with tracing on (LAMBDA_TASK_ROOT set)")
    parser.add_argument("--handler", action="append", choices=handlers(), help="only these (default: every one)")
    args = parser.parse_args(argv)

    env = environment(args.tracing)
    layer = layer_size()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, ", end="")
    print(f"tracing {'on' if args.tracing else 'off'}, {args.runs} runs per handler, target {TARGET_MS} ms")
    try:
        results = [measure(h, args.runs, args.top, env) for h in args.handler or handlers()]
    except subprocess.CalledProcessError as failure:
        print(f"import failed: {failure.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return 1
    report(results, layer.total)
    biggest = sorted(layer.dists.items(), key=lambda item: -item[1])[:6]
    library = _mb(layer.library)
    print(f"\nlayer: {_mb(layer.total)} unzipped ({len(layer.dists)} distributions + shared/memerase {library});")
    print("  largest: " + ", ".join(f"{name} {_mb(size)}" for name, size in biggest))
    forbidden = forbidden_in_layer()
    print("  rich, mem0ai: " + (f"IN THE LAYER: {', '.join(forbidden)}" if forbidden else "not in the layer"))
    return 1 if forbidden else 0


if __name__ == "__main__":
    raise SystemExit(main())
