"""The soak suite (`make soak`): collected only when MEMERASE_SOAK is set, so the default suite never runs it.

`soaked(test, name)` re-runs one of the suite's hypothesis property tests with MEMERASE_SOAK_EXAMPLES examples
(default 1,000) and counts the examples that ran to their end, i.e. whose erasure deleted exactly its scope; the
counts and the soak figures are printed in the terminal summary (run it without xdist)."""

from __future__ import annotations

import functools
import os
from collections import Counter
from typing import Any

from hypothesis import given, settings

SOAK = bool(os.environ.get("MEMERASE_SOAK"))
EXAMPLES = int(os.environ.get("MEMERASE_SOAK_EXAMPLES", "1000"))
collect_ignore_glob = [] if SOAK else ["test_*.py"]

RAN: Counter[str] = Counter()  # property cases that ran to their end, by store
FIGURES: list[str] = []  # lines the soak tests want printed


def soaked(test: Any, name: str, examples: int = EXAMPLES) -> Any:
    """`test` (a hypothesis test) with `examples` random examples, no example database, and a counter."""
    inner = test.hypothesis.inner_test

    @functools.wraps(inner)
    def counted(*args: Any, **kwargs: Any) -> None:
        inner(*args, **kwargs)
        RAN[name] += 1

    base = test._hypothesis_internal_use_settings
    return settings(base, max_examples=examples, database=None)(given(**test.hypothesis._given_kwargs)(counted))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RAN and not FIGURES:
        return
    terminalreporter.section("soak")
    for name, ran in sorted(RAN.items()):
        terminalreporter.write_line(
            f"{name}: {ran} random dataset/filter cases ran; none deleted outside its scope (each compared every "
            "store's full contents with the expected)"
        )
    for line in FIGURES:
        terminalreporter.write_line(line)
