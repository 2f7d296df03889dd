"""The `memerase` command: delete, delete-all, reset, keys, and the local tools (serve, demo).

A local tool (it prints with rich): the Lambda layer never imports it."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from datetime import timedelta

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from memerase import runtime
from memerase.criteria import MAX_AGE_DAYS, Criteria, requested
from memerase.engine import Eraser
from memerase.errors import InvalidRequest, MemeraseError
from memerase.models import ErasureResult, Scope
from memerase.observability import logger
from memerase.settings import CONFIG_ENV
from memerase_local import cli_jobs, cli_retention
from memerase_local.cli_args import DEMO_MAX, PORTS, Parser, whole
from memerase_local.cli_retention import CLI_ACTOR
from memerase_local.extras import MissingExtra, require_local
from memerase_local.scope_key import ensure_scope_key

out = Console()
err = Console(stderr=True)
NO_FILTER = (  # mem0's own words (MissingFilter), with the CLI's way to erase everything instead of mem0's reset()
    "At least one filter is required to delete all memories: --user-id, --agent-id or --run-id. To erase every "
    "memory of a target, use `memerase reset --confirm <target>` (the configuration must set allow_reset)."
    " To erase by age or expiry across every scope, use --older-than or --expired."
)
BAD_AGE = (  # never quotes the value given
    f"invalid --older-than: give a positive whole number followed by d (days) or h (hours), e.g. 30d or 12h, "
    f"at most {MAX_AGE_DAYS} days"
)
AGE = re.compile(r"([1-9][0-9]{0,6})([dh])")
AUTHORIZER_CACHE_SECONDS = 60  # template.yaml's ApiKeyAuthorizer `ReauthorizeEvery`
REVOKE_DELAY = (
    f"API Gateway caches the authorizer's answer for a key up to {AUTHORIZER_CACHE_SECONDS} s (ReauthorizeEvery): "
    "a revoked key can keep working that long"
)


def _parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = Parser(prog="memerase", description="Erase mem0 memories, in scope and provably.")
    sub = parser.add_subparsers(dest="command", required=True)
    delete = sub.add_parser("delete", help="erase one memory by id from every target")
    delete.add_argument("memory_id")
    bulk = sub.add_parser("delete-all", help="erase every memory matching the filters and criteria (AND)")
    bulk.add_argument("--user-id")
    bulk.add_argument("--agent-id")
    bulk.add_argument("--run-id")
    bulk.add_argument("--older-than", metavar="AGE", help="only memories created more than AGE ago: 30d, 12h")
    bulk.add_argument("--expired", action="store_true", help="only memories past mem0's expiration_date")
    bulk.add_argument("--dry-run", action="store_true", help="count what would be erased, erase nothing")
    reset = sub.add_parser("reset", help="wipe and recreate one target's collections (needs allow_reset)")
    reset.add_argument("--confirm", required=True, metavar="NAME", help="the name of the target to reset")
    scope_hash = sub.add_parser("scope-hash", help="the keyed hash receipts and events carry for a scope")
    for name in ("--user-id", "--agent-id", "--run-id"):
        scope_hash.add_argument(name)
    keys = sub.add_parser("keys", help="manage API keys (stored only as hashes)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key; it is printed once")
    create.add_argument("--name", required=True)
    create.add_argument("--admin", action="store_true", help="everything, reset included")
    create.add_argument("--user-id", action="append", default=[], help="bind to this user (repeatable)")
    create.add_argument("--agent-id", action="append", default=[], help="bind to this agent (repeatable)")
    create.add_argument("--run-id", action="append", default=[], help="bind to this run (repeatable)")
    keys_sub.add_parser("list", help="list keys (never the keys themselves)")
    revoke = keys_sub.add_parser("revoke", help=f"revoke a key by its key_id ({REVOKE_DELAY})")
    revoke.add_argument("key_id")
    cli_jobs.add_parser(sub)
    cli_retention.add_parser(sub)
    serve = sub.add_parser("serve", help="run the HTTP API locally (embedded stand-ins unless MEMERASE_CONFIG)")
    serve.add_argument("--port", type=whole(*PORTS, " (0: any free port)"), default=8000)
    serve.add_argument("--no-seed", action="store_true", help="do not write sample mem0 memories")
    demo = sub.add_parser("demo", help="run a demo on embedded stand-ins (moto, osmem-server)")
    demo.add_argument("--users", type=whole(2, DEMO_MAX, " (the demo erases user-1)"), default=4)
    demo.add_argument("--per-user", type=whole(1, DEMO_MAX), default=25)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logger.setLevel(os.environ.get("MEMERASE_LOG_LEVEL", "WARNING"))
    try:
        ensure_scope_key()
        if args.command == "serve":
            if not os.environ.get(CONFIG_ENV, "").strip():
                require_local("`memerase serve` without MEMERASE_CONFIG")
            from memerase_local.serve import run_serve

            return run_serve(port=args.port, seed=not args.no_seed)
        if args.command == "demo":
            require_local("`memerase demo`")
            from memerase_local.demo import run_demo

            return run_demo(main, users=args.users, per_user=args.per_user)
        return _run(args)
    except MissingExtra as exc:
        err.print(f"memerase: {exc}", highlight=False, markup=False, soft_wrap=True)
        return 2
    except MemeraseError as exc:
        err.print(f"memerase: {exc}", highlight=False, soft_wrap=True)
        return 1 if exc.status < 500 else 3
    except Exception as exc:  # a one-line reason, never a stack trace
        err.print(f"memerase: failed: {type(exc).__name__}: {exc}", highlight=False, soft_wrap=True)
        return 3


def _keys(args: argparse.Namespace) -> int:
    if args.keys_command == "create":
        scopes = [Scope.of(**{k: v}) for k in ("user_id", "agent_id", "run_id") for v in getattr(args, k)]
        if not args.admin and not scopes:
            raise InvalidRequest("a key needs --admin or at least one --user-id/--agent-id/--run-id")
        if args.admin and scopes:
            raise InvalidRequest("--admin covers every scope: give --admin or --user-id/--agent-id/--run-id, not both")
        key, info = runtime.api_keys().create(args.name, admin=args.admin, scopes=scopes)
        out.print(f"{info['key_id']}  {key}", highlight=False)
        err.print("memerase: store this key now; only its hash is kept", highlight=False)
        return 0
    store = runtime.api_keys()
    if args.keys_command == "revoke":
        if not store.revoke(args.key_id):
            raise InvalidRequest(f"no key {args.key_id!r}")
        out.print(f"revoked {args.key_id}")
        err.print(f"memerase: {REVOKE_DELAY}", highlight=False)
        return 0
    table = Table(title="API keys")
    for column in ("key_id", "name", "admin", "scopes", "created_at", "revoked"):
        table.add_column(column)
    for item in store.list():
        table.add_row(*(str(item.get(c)) for c in ("key_id", "name", "admin", "scopes", "created_at", "revoked")))
    out.print(table)
    return 0


def _scope_hash(args: argparse.Namespace) -> int:
    scope = Scope.of(**{k: v for k in ("user_id", "agent_id", "run_id") if (v := getattr(args, k)) is not None})
    out.print(runtime.hasher().scope(scope), highlight=False)
    return 0


def _run(args: argparse.Namespace) -> int:
    tools = {
        "keys": _keys,
        "jobs": lambda a: cli_jobs.run(a, out),
        "retention": lambda a: cli_retention.run(a, out, err),
        "scope-hash": _scope_hash,
    }
    if args.command in tools:
        return tools[args.command](args)
    if args.command == "delete-all":
        filters = {k: v for k in ("user_id", "agent_id", "run_id") if (v := getattr(args, k)) is not None}
        criteria = requested(parse_age(args.older_than), args.expired)
        if not filters and criteria is None:
            raise InvalidRequest(NO_FILTER)
    eraser = runtime.eraser()
    if args.command == "delete":
        result = eraser.delete_memory(args.memory_id, actor=CLI_ACTOR)
    elif args.command == "reset":
        result = eraser.reset(args.confirm, args.confirm)
    else:
        scope = Scope.of(**filters) if filters else Scope()
        result = _delete_all(eraser, scope, criteria, args.dry_run)
    _summary(result)
    if runtime.settings().history is None and not result.dry_run and result.deleted:
        err.print("memerase: no history table configured: no history events were written", highlight=False)
    if not result.dry_run and result.operation != "reset" and not result.verified:
        err.print("memerase: verification found matching memories left; run the command again", highlight=False)
        return 3
    return 0


def parse_age(text: str | None) -> timedelta | None:
    """`30d` or `12h`: a positive whole number of days or hours (None when not given); anything else is refused."""
    if text is None:
        return None
    match = AGE.fullmatch(text)
    if not match:
        raise InvalidRequest(BAD_AGE)
    number, unit = int(match.group(1)), match.group(2)
    age = timedelta(days=number) if unit == "d" else timedelta(hours=number)
    if age > timedelta(days=MAX_AGE_DAYS):
        raise InvalidRequest(BAD_AGE)
    return age


def _delete_all(eraser: Eraser, scope: Scope, criteria: Criteria | None, dry_run: bool) -> ErasureResult:
    """The filtered erasure with a progress bar; if a store fails half-way, what is already gone is printed (per
    store, from the progress reported after each deleted batch) before the error propagates."""
    erased: dict[str, int] = {}
    with _progress() as bar:
        tasks: dict[str, TaskID] = {}

        def advance(label: str, scanned: int, deleted: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=None)
            erased[label] = deleted
            bar.update(tasks[label], completed=scanned, description=f"{label}: {deleted} erased")

        try:
            return eraser.delete_matching(scope, dry_run=dry_run, progress=advance, criteria=criteria, actor=CLI_ACTOR)
        except Exception:
            bar.stop()
            _partial_summary(erased)
            raise


def _partial_summary(erased: dict[str, int]) -> None:
    table = Table(
        title="interrupted: erased before the failure (already gone)",
        caption="run the same command again once the store is back to erase the rest",
    )
    table.add_column("store")
    table.add_column("deleted", justify="right")
    for label, deleted in erased.items():
        table.add_row(label, str(deleted))
    if not erased:
        table.add_row("(none)", "0")
    out.print(table)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} scanned"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def _summary(result: ErasureResult) -> None:
    title = f"{result.operation}{' (dry run)' if result.dry_run else ''}: {result.duration_ms} ms"
    table = Table(title=title)
    for column in ("target", "store", "matched", "deleted", "remaining", "unreadable kept"):
        table.add_column(column, justify="left" if column in ("target", "store") else "right")
    for s in result.stores:
        remaining = "-" if s.remaining is None else str(s.remaining)
        unreadable = "-" if s.note else str(s.unreadable_kept)
        table.add_row(s.target, s.store, str(s.matched), str(s.deleted), remaining, unreadable)
    out.print(table)
    if result.criteria:
        shown = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.criteria.items())
        out.print(f"selected: memories {shown} (UTC)", highlight=False)
    if result.unreadable_kept:
        out.print(
            f"unreadable created_at/expiration_date: {result.unreadable_kept} kept (never erased by a criterion)",
            highlight=False,
        )
    if result.history_events:
        out.print(f"history: content-free DELETE events written for {result.history_events} erased records")


if __name__ == "__main__":
    sys.exit(main())
