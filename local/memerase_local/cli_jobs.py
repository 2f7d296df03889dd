"""`memerase jobs list|show|cancel|resume`: erasure jobs from the command line, through the same job intake the API
uses (a configuration with a `jobs` section; without a state machine, a resumed job runs in this process)."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from memerase import runtime
from memerase_local.cli_args import JOBS_LISTED, whole


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    jobs = sub.add_parser("jobs", help="list, show, cancel and resume erasure jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    listing = jobs_sub.add_parser("list", help="the newest jobs first")
    listing.add_argument("--limit", type=whole(1, JOBS_LISTED), default=20)
    for name, text in (
        ("show", "a job's status, counts and receipt (never its scope)"),
        ("cancel", "cancel a queued or running job (it keeps the counts of what it erased)"),
        ("resume", "resume a cancelled or failed job from its cursors"),
    ):
        jobs_sub.add_parser(name, help=text).add_argument("job_id")


def run(args: argparse.Namespace, out: Console) -> int:
    jobs = runtime.intake()
    if args.jobs_command == "list":
        table = Table(title="erasure jobs, newest first")
        for column in ("job_id", "status", "created_at", "memories_erased", "summary"):
            table.add_column(column)
        for job in jobs.list_jobs(limit=args.limit):
            table.add_row(job.job_id, job.status.value, job.created_at, str(job.memories_erased), job.summary())
        out.print(table)
        return 0
    if args.jobs_command == "show":
        out.print_json(json.dumps(jobs.get(args.job_id).public()))
        return 0
    job = jobs.cancel(args.job_id) if args.jobs_command == "cancel" else jobs.resume(args.job_id)
    out.print(f"{job.job_id}: {job.status.value}: {job.summary()}", highlight=False, soft_wrap=True)
    return 0
