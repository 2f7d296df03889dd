"""The README's first command, as a real process: `memerase serve` starts its stand-ins, seeds mem0 memories,
prints a URL and an admin key, and answers mem0's client handshake and a filtered delete with them."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_memerase_serve_prints_a_working_url_and_admin_key(tmp_path: Path) -> None:
    # Given a clean environment (no MEMERASE_CONFIG: embedded stand-ins) and the console script
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMERASE_", "AWS_ENDPOINT", "MOTO_"))}
    env.update(COLUMNS="250", MEM0_DIR=str(tmp_path), MEM0_TELEMETRY="False")
    script = shutil.which("memerase") or str(Path(sys.executable).parent / "memerase")
    port = free_port()
    # When `memerase serve` is started
    process = subprocess.Popen(
        [script, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = ""
        deadline = time.monotonic() + 120
        assert process.stdout is not None
        while "admin key" not in banner and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            banner += line
        found = re.search(r"(http://127\.0\.0\.1:\d+)\s+admin key: (mek_\S+)", banner)
        assert found, banner
        url, key = found.groups()
        headers = {"Authorization": f"Token {key}"}
        # Then mem0's handshake answers, the seeded users are listed, and a wrong key is refused
        assert requests.get(f"{url}/v1/ping/", headers=headers, timeout=30).json()["org_id"]
        users = requests.get(f"{url}/v1/entities/", headers=headers, timeout=30).json()["results"]
        assert {"user-0", "user-1"} <= {u["name"] for u in users}
        assert requests.get(f"{url}/v1/ping/", headers={"Authorization": "Token wrong"}, timeout=30).status_code == 401
        # And a filtered delete starts a job that completes in moto's Step Functions interpreter
        job = requests.delete(f"{url}/v1/memories/", params={"user_id": "user-1"}, headers=headers, timeout=30).json()
        status = ""
        for _ in range(200):
            status = requests.get(f"{url}/v1/erasures/{job['job_id']}", headers=headers, timeout=30).json()["status"]
            if status not in ("QUEUED", "RUNNING"):
                break
            time.sleep(0.1)
        assert status == "COMPLETED"
        users = requests.get(f"{url}/v1/entities/", headers=headers, timeout=30).json()["results"]
        assert "user-1" not in {u["name"] for u in users} and "user-0" in {u["name"] for u in users}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
