"""`memerase retention list|run`: the configuration's retention policies from the command line. `run` erases inline,
like `delete-all` (no job, no state machine), each policy's cutoff fixed once, at the moment the command starts."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from memerase import runtime
from memerase.errors import InvalidRequest
from memerase.models import ErasureResult
from memerase.retention import RetentionPolicy, select_policies

EVERY_SCOPE = "(every scope)"
NO_POLICIES = "the configuration has no retention policies (a `retention` list); see README: Retention"


CLI_ACTOR = "cli"  # the audit rows' actor_id for erasures from the command line (as `memerase delete-all`)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    retention = sub.add_parser("retention", help="list and run the configuration's retention policies")
    retention_sub = retention.add_subparsers(dest="retention_command", required=True)
    retention_sub.add_parser("list", help="each policy: its name, criterion, which scope fields it sets, dry run")
    run = retention_sub.add_parser("run", help="run the policies now, inline, and print what each erased")
    run.add_argument("--policy", metavar="NAME", help="run only this policy (default: every policy)")
    run.add_argument("--dry-run", action="store_true", help="count what would be erased, erase nothing")


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    policies = runtime.settings().retention
    if args.retention_command == "list":
        return _list(policies, out)
    if not policies:
        raise InvalidRequest(NO_POLICIES)
    chosen = select_policies(policies, args.policy)
    now = datetime.now(UTC)
    failed = unverified = 0
    for policy in chosen:
        dry_run = args.dry_run or policy.dry_run
        try:
            result = runtime.eraser().delete_matching(
                policy.scope(), dry_run=dry_run, criteria=policy.criteria_at(now), actor=CLI_ACTOR
            )
        except Exception as exc:  # one policy's failure is reported; the others still run
            err.print(f"memerase: retention policy {policy.name}: failed: {type(exc).__name__}: {exc}", highlight=False)
            failed += 1
            continue
        _summary(policy, result, out)
        unverified += int(not result.dry_run and not result.verified)
    if failed or unverified:
        err.print(
            f"memerase: {failed} policy run(s) failed, {unverified} not verified (matching memories left); "
            "run the command again",
            highlight=False,
        )
        return 3
    return 0


def _list(policies: list[RetentionPolicy], out: Console) -> int:
    if not policies:
        out.print("no retention policies configured (the configuration's `retention` list)", highlight=False)
        return 0
    table = Table(title="retention policies")
    for column in ("name", "criterion", "scope", "dry run"):
        table.add_column(column)
    for policy in policies:  # which scope fields are set, never their values
        fields = ", ".join(policy.scope_filters()) or EVERY_SCOPE
        table.add_row(policy.name, policy.criterion(), fields, "yes" if policy.dry_run else "no")
    out.print(table)
    return 0


def _summary(policy: RetentionPolicy, result: ErasureResult, out: Console) -> None:
    cutoffs = ", ".join(f"{k} {v}" for k, v in (result.criteria or {}).items())
    dry = " (dry run)" if result.dry_run else ""
    table = Table(
        title=f"retention policy {policy.name}{dry}: {policy.criterion()} ({cutoffs}), {result.duration_ms} ms"
    )
    for column in ("target", "store", "matched", "deleted", "remaining", "unreadable kept", "note"):
        table.add_column(column, justify="left" if column in ("target", "store", "note") else "right")
    for s in result.stores:
        remaining = "-" if s.remaining is None else str(s.remaining)
        row = (str(s.matched), str(s.deleted), remaining, str(s.unreadable_kept))
        table.add_row(s.target, s.store, *row, s.note or "")
    out.print(table)
