"""The report of `bench.erase_one_user`: each store's requests and times against the minimum, and the ratios.
Printing only."""

from __future__ import annotations

import math
from collections import Counter

from bench.one_user_measure import StoreReport


def _pretty(counts: Counter[str]) -> str:
    return ", ".join(f"{op} {n}" for op, n in counts.most_common()) or "-"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f}"


def print_store(r: StoreReport) -> None:
    run = r.memerase
    pages = math.ceil(r.minimum_scanned / r.page)
    batches = math.ceil(run.matched / r.batch)
    print(f"\n{r.name}")
    print(f"  {'run':<32}{'requests':>9}{'wall ms':>10}   breakdown")
    rows = [
        ("memerase erase", run.erase),
        ("memerase verify", run.verify),
        ("memerase erase+verify", run.both),
        ("mem0 Memory.delete_all", r.mem0),
    ]
    for label, m in rows:
        print(f"  {label:<32}{m.total:>9}{_ms(m.seconds):>10}   {_pretty(m.requests)}")
    print(
        f"  {'minimum (erase)':<32}{r.minimum:>9}{'-':>10}   "
        f"list ceil({r.minimum_scanned}/{r.page})={pages} + delete ceil({run.matched}/{r.batch})={batches}"
    )
    print(
        f"  memerase: scanned {run.scanned}, matched {run.matched}, deleted {run.deleted}, "
        f"verified remaining {run.remaining}"
    )
    listed = sum(run.erase.requests.get(op, 0) for op in r.list_ops)
    deleted = sum(run.erase.requests.get(op, 0) for op in r.delete_ops)
    other = run.erase.total - listed - deleted
    others = _pretty(Counter({k: v for k, v in run.erase.requests.items() if k not in r.list_ops + r.delete_ops}))
    print(f"  memerase erase = list {listed} + delete {deleted} + other {other} ({others})")
    print(f"  minimum scan: {r.scan_note}")
    if run.history is not None:
        print(
            f"  memerase DynamoDB history (not in the request figures above; its time is in the wall times): "
            f"{run.history.total} requests ({_pretty(run.history.requests)}), {run.history.seconds * 1000:.1f} ms"
        )
    verdict = "OK" if r.same else "MISMATCH"
    print(
        f"  remaining data: memerase {r.left_memerase} == mem0 {r.left_mem0} == expected {r.expected_left}, "
        f"payloads identical, erased user absent: {verdict}"
    )


def print_summary(reports: list[StoreReport]) -> None:
    print("\nRatios")
    head = (
        f"  {'store':<12}{'memerase':>9}{'minimum':>9}{'erase/min':>11}{' (<=1.2x)':<10}"
        f"{'mem0':>7}{'mem0/(erase+verify)':>21}{' (>=20x)':<9}{'mem0/erase':>12}"
        f"{'time mem0/(e+v)':>17}"
    )
    print(head)
    for r in reports:
        run = r.memerase
        over = run.erase.total / r.minimum
        vs_both = r.mem0.total / run.both.total
        vs_erase = r.mem0.total / run.erase.total
        speed = r.mem0.seconds / run.both.seconds if run.both.seconds else float("inf")
        over_ok = " met" if over <= 1.2 else " NOT met"
        mem0_ok = " met" if vs_both >= 20 else " NOT met"
        print(
            f"  {r.name:<12}{run.erase.total:>9}{r.minimum:>9}{over:>10.2f}x{over_ok:<10}"
            f"{r.mem0.total:>7}{vs_both:>20.1f}x{mem0_ok:<9}{vs_erase:>11.1f}x{speed:>16.1f}x"
        )
