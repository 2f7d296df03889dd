"""The report of `bench.erase_one_user`: each store's requests and times against the minimum, and the ratios.
Printing only."""

from __future__ import annotations

import math
from collections import Counter

from bench.one_user_both import BothReport
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


AUDIT_PER_WRITE = 100  # memerase.history.TRANSACTION_ITEMS: TransactWriteItems' limit
ISSUE_AUDIT_PER_WRITE = 25  # the issue's minimum assumed BatchWriteItem's 25


def print_history(reports: list[StoreReport], both: BothReport) -> None:
    """The figures with the history table on: audit writes counted in memerase's totals, against two minimums (the
    issue's, one audit write per 25 memories, and the floor of memerase's own design, one per 100) and mem0."""
    print("\nWith the history table (memerase's audit writes counted in its totals; mem0's history is local SQLite)")
    print(
        f"  {'run':<28}{'store':>6}{'audit':>6}{'total':>6}{'min/25':>8}{'floor':>7}{'total/min25':>13}"
        f"{'total/floor':>13}{'mem0':>7}{'mem0/total':>12}{' (>=100x)':<10}"
    )
    rows = [(r.name, r.memerase, r.mem0, r.minimum) for r in reports if r.memerase.history is not None]
    s3 = next(r for r in reports if r.name == "S3 Vectors")
    opensearch = next(r for r in reports if r.name == "OpenSearch")
    rows.append(("both stores, one erasure", both.memerase, both.mem0, s3.minimum + opensearch.minimum))
    for label, run, mem0, store_minimum in rows:
        audit = run.history.total if run.history is not None else 0
        total = run.erase.total + audit
        issue_minimum = store_minimum + math.ceil(run.memories / ISSUE_AUDIT_PER_WRITE)
        floor = store_minimum + math.ceil(run.memories / AUDIT_PER_WRITE)
        ratio = mem0.total / total
        verdict = " met" if ratio >= 100 else " NOT met"
        print(
            f"  {label:<28}{run.erase.total:>6}{audit:>6}{total:>6}{issue_minimum:>8}{floor:>7}"
            f"{total / issue_minimum:>12.2f}x{total / floor:>12.2f}x{mem0.total:>7}{ratio:>11.1f}x{verdict:<10}"
        )
    print(
        "  min/25: store pages + delete batches + one audit write per 25 memories (the issue's minimum); floor: the "
        "same with one per 100 (TransactWriteItems, what memerase sends)"
    )
    print(
        "  store requests over the minimum: OpenSearch's refresh before its search and each target's probe of mem0's "
        "entity collection (GetIndex / IndexExists)"
    )
    print(
        f"  both stores: {both.memerase.memories} memories in each store, {both.memerase.deleted} records deleted, "
        f"audit events written once per memory; mem0: {both.mem0_calls} delete_all calls (one Memory per store); "
        f"remaining data identical: {'OK' if both.same else 'MISMATCH'}"
    )
