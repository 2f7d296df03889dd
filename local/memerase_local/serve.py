"""`memerase serve`: the HTTP API on localhost, each request routed as an API Gateway event to the very Lambda
handlers template.yaml names, jobs run by moto's Step Functions interpreter on the project's real ASL.

Without MEMERASE_CONFIG it starts embedded stand-ins (moto server, osmem-server, the Neptune Analytics stand-in),
creates the resources, seeds sample mem0 memories (and mem0 1.x graph memory) and prints an admin key. With
MEMERASE_CONFIG it serves against those stores, creating its missing tables in the AWS endpoint it uses; without a
state machine ARN there, jobs run inline.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import socket
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import boto3
import requests
from botocore.exceptions import ClientError
from rich.console import Console

from memerase import runtime
from memerase.history import table_schema as history_schema
from memerase.jobs.repository import table_schema as jobs_schema
from memerase.jobs.runners import InProcessRunner
from memerase.keys import table_schema as keys_schema
from memerase.settings import CONFIG_ENV, load_settings
from memerase_local.gateway import Gateway, serve_http
from memerase_local.standins import Standins

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
TABLES = {"history": "memerase-history", "jobs": "memerase-jobs", "keys": "memerase-api-keys"}


def run_serve(
    port: int = 8000,
    seed: bool = True,
    host: str = "127.0.0.1",
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> int:
    if busy := _port_in_use(host, port):
        err.print(f"memerase: cannot serve on {host}:{port}: {busy}; choose another port with --port", highlight=False)
        return 2
    demo = not os.environ.get(CONFIG_ENV)
    # Powertools warns each time a handler publishes no metric (a status read, a job step that erased nothing): in
    # Lambda that goes to the function's log; here it would fill the terminal between the requests' own lines
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
    with ExitStack() as stack:
        config = _embedded(stack, seed) if demo else _configured()
        os.environ[CONFIG_ENV] = json.dumps(config)
        runtime.reset()
        if not (config.get("jobs") or {}).get("state_machine_arn"):  # jobs in this process: in the background
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=1, thread_name_prefix="memerase-job"))
            runner = runtime.job_runner()
            assert isinstance(runner, InProcessRunner)
            runner.run_in_background(pool.submit)
        admin_key = _admin_key()
        server = serve_http(Gateway(), host, port)
        url = f"http://{host}:{server.server_address[1]}"
        _banner(url, admin_key, demo, config["targets"])
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        if ready:
            ready.url = url  # type: ignore[attr-defined]
            ready.admin_key = admin_key  # type: ignore[attr-defined]
            ready.set()
        try:
            (stop or threading.Event()).wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()
    return 0


def _embedded(stack: ExitStack, seed: bool) -> dict[str, Any]:
    """Start the embedded stand-ins (the `local` extra: imported only here), seed them, and configure over them."""
    from memerase_local.demo import seed_demo_memories
    from memerase_local.lambdas import in_process_lambdas
    from memerase_local.moto_executions import stops_wait_for_start
    from memerase_local.standins import running_standins

    standins = stack.enter_context(running_standins())
    requests.post(
        f"{standins.aws_url}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}}, timeout=10
    )
    stack.enter_context(in_process_lambdas())
    stack.enter_context(stops_wait_for_start())
    config = _embedded_config(standins)
    if seed:
        seed_demo_memories(standins)
    return config


def _embedded_config(standins: Standins) -> dict[str, Any]:
    from memerase_local.demo import demo_targets
    from memerase_local.lambdas import create_state_machine

    _ensure_tables(TABLES["history"], TABLES["jobs"], TABLES["keys"])
    return {
        "targets": demo_targets(standins),
        "history": {"table_name": TABLES["history"]},
        "jobs": {"table_name": TABLES["jobs"], "state_machine_arn": create_state_machine(), "time_margin_ms": 5_000},
        "api": {"keys_table_name": TABLES["keys"]},
    }


def _configured() -> dict[str, Any]:
    """The user's configuration, completed with the tables serve needs; they are created where missing."""
    config: dict[str, Any] = json.loads(load_settings().model_dump_json(exclude_none=True))
    config.setdefault("history", {"table_name": TABLES["history"]})
    config.setdefault("jobs", {"table_name": TABLES["jobs"]})
    config.setdefault("api", {}).setdefault("keys_table_name", TABLES["keys"])
    _ensure_tables(config["history"]["table_name"], config["jobs"]["table_name"], config["api"]["keys_table_name"])
    return config


def _ensure_tables(history: str, jobs: str, keys: str) -> None:
    dynamodb = boto3.client("dynamodb")
    for schema in (history_schema(history), jobs_schema(jobs), keys_schema(keys)):
        try:
            dynamodb.create_table(**schema)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise


def _admin_key() -> str:
    given = os.environ.get(runtime.ADMIN_KEY_ENV)
    if given:
        return given
    key, _ = runtime.api_keys().create("local-admin", admin=True)
    return key


def _port_in_use(host: str, port: int) -> str | None:
    """Why `host:port` cannot be served on (None if it can): checked before any stand-in starts or data is seeded.
    Binds as the HTTP server will (SO_REUSEADDR), so only a port another process listens on is refused."""
    if port == 0:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return "the port is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
    return None


def _targets_line(targets: list[dict[str, Any]]) -> str:
    """`name (provider[, graph provider])` of each target, e.g. `neptune (neptune vectors + neptune graph)`."""
    described = []
    for target in targets:
        stores = f"{target['vector_store']['provider']} vectors"
        if graph := target.get("graph_store"):
            stores += f" + {graph['provider']} graph"
        described.append(f"{target['name']} ({stores})")
    return "targets: " + ", ".join(described)


def _banner(url: str, key: str, demo: bool, targets: list[dict[str, Any]]) -> None:
    """What to try, printed so that each command runs as printed (copy, paste). The sample calls name the demo's
    seeded users only when serve seeded them; with the user's own configuration they name none."""
    auth = f'-H "Authorization: Token {key}"'
    console.print(f"\n[bold]memerase[/bold] API on [cyan]{url}[/cyan]   admin key: [green]{key}[/green]")
    console.print(_targets_line(targets) + "\n", highlight=False, markup=False)
    console.print("try:", highlight=False)
    console.print(f"  curl -s {auth} {url}/v1/entities/", highlight=False, markup=False)
    if demo:
        console.print(f'  curl -s -X DELETE {auth} "{url}/v1/memories/?user_id=user-1"', highlight=False, markup=False)
        body = json.dumps({"agent_id": "demo-agent", "dry_run": True})
        console.print(
            f"  curl -s -X POST {auth} -H \"Content-Type: application/json\" -d '{body}' {url}/v1/erasures",
            highlight=False,
            markup=False,
        )
        python = shlex.quote(sys.executable)
        console.print(
            f'  MEM0_TELEMETRY=False {python} -c "from mem0 import MemoryClient; '
            f"c = MemoryClient(api_key='{key}', host='{url}'); print(c.delete_all(user_id='user-2'))\"",
            highlight=False,
            markup=False,
        )
    console.print(f"  OpenAPI: {url}/openapi.json      (Ctrl-C stops)\n", highlight=False, markup=False)
