"""The command line's own checks, made where argparse reads each value: a bad value is refused in one line naming the
argument and what it takes (never a Python exception's name, never the value given back)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from typing import NoReturn

DIGITS = re.compile(r"[0-9]{1,9}")
PORTS = (0, 65535)  # 0: a free port the system chooses (the banner shows it)
DEMO_MAX = 100  # users, and memories per user: the demo's before/after table reads at most 10,000 of OpenSearch's
JOBS_LISTED = 1000


class Parser(argparse.ArgumentParser):
    """An argument error in one line, `memerase <command>: <problem> (see --help)`, exit status 2 as argparse's."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def whole(low: int, high: int, meaning: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`."""
    told = f"give a whole number from {low} to {high}{meaning}"

    def parse(text: str) -> int:
        if not DIGITS.fullmatch(text) or not low <= int(text) <= high:  # ASCII digits only: not `1_000`, `１`, `-0`
            raise argparse.ArgumentTypeError(told)
        return int(text)

    parse.__name__ = "whole number"
    return parse
