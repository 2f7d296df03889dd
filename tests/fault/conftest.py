"""The fault suite's tally. A test reports the faults it injected once its erasure survived them (the job COMPLETED,
its scope gone from every store, nothing else touched) through `survived`; the totals are printed at the end of the
run. Reports travel as the test report's user properties, so the tally also works under pytest-xdist."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.wire_faults import WireFaults

PROPERTY = "wire_faults"
_TALLY: list[tuple[str, dict[str, Any]]] = []


@pytest.fixture
def survived(request: pytest.FixtureRequest) -> Callable[[WireFaults], None]:
    """`survived(faults)`: record the faults as survived by this test (call it after the test's last assertion)."""

    def record(faults: WireFaults) -> None:
        print(f"\n{request.node.name}: {faults.summary()}; survived")
        kinds = dict(faults.by_kind())
        request.node.user_properties.append((PROPERTY, {"kinds": kinds, "calls": sum(faults.calls.values())}))

    return record


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        _TALLY.extend((report.nodeid, value) for name, value in report.user_properties if name == PROPERTY)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _TALLY:
        return
    kinds: Counter[str] = Counter()
    for _test, tally in _TALLY:
        kinds.update(tally["kinds"])
    total, calls = sum(kinds.values()), sum(t["calls"] for _n, t in _TALLY)
    detail = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
    terminalreporter.section("wire faults")
    terminalreporter.write_line(
        f"faults injected: {total} in {calls} client calls ({detail}); survived: {total}, by {len(_TALLY)} "
        "erasures that each ended with nothing of their scope left and nothing else touched"
    )
