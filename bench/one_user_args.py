"""What the erase-one-user benchmarks share: their dataset arguments and the machine line they print first."""

from __future__ import annotations

import argparse
import os
import platform


def dataset_parser(prog: str, description: str, users: int = 10, per_user: int = 200) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--users", type=int, default=users, help=f"users in the dataset (default {users})")
    parser.add_argument("--per-user", type=int, default=per_user, help=f"memories per user (default {per_user})")
    parser.add_argument("--victim", type=int, default=3, help="the user to erase: user-N (default 3)")
    return parser


def parse_dataset_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if args.users < 1 or args.per_user < 1 or not 0 <= args.victim < args.users:
        parser.error("need --users >= 1, --per-user >= 1 and 0 <= --victim < --users")
    return args


def machine_line() -> str:
    return (
        f"machine: nproc {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}"
    )
