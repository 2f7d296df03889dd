"""`memerase serve`'s banner as a newcomer meets it (issue #9), as a real process: every printed command runs as
printed (copied into a shell), the MemoryClient example names the venv's python with mem0's telemetry off, a busy
port is refused before anything starts, and with the user's own configuration no demo user is suggested."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.targets import memerase_config

DEMO_NAMES = ("user-0", "user-1", "user-2", "user-3", "demo-agent")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def script() -> str:
    return shutil.which("memerase") or str(Path(sys.executable).parent / "memerase")


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMERASE_", "AWS_ENDPOINT", "MOTO_"))}
    env.update(COLUMNS="250", MEM0_DIR=str(home), **extra)
    env.pop("MEM0_TELEMETRY", None)  # the printed example must turn it off itself
    return env


def start_serve(home: Path, env: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [script(), "serve", "--port", str(port)],
        env=env,
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_banner(process: subprocess.Popen[str], timeout: float = 120) -> str:
    """Everything printed up to the banner's last line ("Ctrl-C stops")."""
    banner = ""
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while "Ctrl-C stops" not in banner and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        banner += line
    assert "Ctrl-C stops" in banner, banner
    return banner


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def commands(banner: str) -> list[str]:
    """The banner's sample commands, exactly as printed (one per line, after the two spaces of indentation)."""
    return [line.strip() for line in banner.splitlines() if line.startswith(("  curl ", "  MEM0_TELEMETRY="))]


def run_as_printed(command: str, cwd: Path) -> Any:
    """The command in a shell, as a user pastes it; its output parsed as JSON (curl) or as Python's repr (mem0)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MEM0_TELEMETRY", "MEMERASE_CONFIG")}
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (command, done.stdout, done.stderr)
    return done.stdout


@pytest.fixture(scope="module")
def demo_banner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("serve-banner")
    process = start_serve(home, clean_env(home), free_port())
    try:
        yield read_banner(process), home
    finally:
        stop(process)


def test_banner_names_the_three_embedded_targets(demo_banner: tuple[str, Path]) -> None:
    # Given `memerase serve` on its embedded defaults
    # When its banner is read
    banner, _ = demo_banner
    # Then it names the three stores a newcomer sees erased: S3 Vectors, OpenSearch, and Neptune Analytics with graph
    [line] = [line for line in banner.splitlines() if line.startswith("targets: ")]
    expected = "s3 (s3_vectors vectors), os (opensearch vectors), neptune (neptune vectors + neptune graph)"
    assert line == f"targets: {expected}"


def test_printed_curl_calls_work_as_printed(demo_banner: tuple[str, Path]) -> None:
    # Given the banner of `memerase serve` on its embedded defaults
    banner, home = demo_banner
    curls = [c for c in commands(banner) if c.startswith("curl ")]
    assert len(curls) == 3, banner
    # When each printed curl call is run in a shell exactly as printed
    listed, deleted, dry_run = (json.loads(run_as_printed(c, home)) for c in curls)
    # Then each answers what it promises: the seeded users, a started erasure job, and a dry run (a JSON body the
    # API accepts: with curl's default form content type it would be refused with 415)
    assert {"user-0", "user-1"} <= {u["name"] for u in listed["results"]}, listed
    assert deleted.get("job_id"), deleted
    assert dry_run.get("message") == "Erasure accepted" and dry_run.get("job_id"), dry_run


def test_memory_client_example_runs_with_the_venvs_python_and_telemetry_off(demo_banner: tuple[str, Path]) -> None:
    # Given the banner's MemoryClient example
    banner, home = demo_banner
    [example] = [c for c in commands(banner) if c.startswith("MEM0_TELEMETRY=")]
    # Then it turns mem0's telemetry off and names the python of the venv memerase runs in (where mem0 is installed)
    words = shlex.split(example)
    assert words[0] == "MEM0_TELEMETRY=False"
    assert Path(words[1]).parent == Path(script()).parent, example
    # When it is run in a shell exactly as printed (with no MEM0_TELEMETRY in the environment)
    printed = run_as_printed(example, home)
    # Then mem0's client reports the deletion
    assert "message" in printed, printed


def test_busy_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    # Given a port another process listens on
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # When `memerase serve --port <that port>` starts
        process = start_serve(tmp_path, clean_env(tmp_path), port)
        try:
            output, _ = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    # Then it exits non-zero at once with a clear one-line reason, having seeded nothing and printed no key
    assert process.returncode == 2, output
    assert f"cannot serve on 127.0.0.1:{port}: the port is already in use" in output
    assert "--port" in output and "seeded" not in output and "admin key" not in output
    assert "Traceback" not in output


def test_banner_with_the_users_own_config_suggests_no_demo_users(tmp_path: Path, moto_url: str, osmem_url: str) -> None:
    # Given the user's own configuration (stores on moto server and osmem-server, no demo data)
    env = clean_env(tmp_path, AWS_ENDPOINT_URL=moto_url, MEMERASE_CONFIG=json.dumps(memerase_config(osmem_url)))
    # When `memerase serve` starts with it
    process = start_serve(tmp_path, env, free_port())
    try:
        banner = read_banner(process)
    finally:
        stop(process)
    # Then the banner shows the URL, the key and the OpenAPI document, and names none of the demo's users or agents
    assert re.search(r"http://127\.0\.0\.1:\d+\s+admin key: mek_\S+", banner), banner
    assert "/openapi.json" in banner and "seeded" not in banner
    assert not [name for name in DEMO_NAMES if name in banner], banner
