"""The report of `bench.job_throughput`: what the run measured, per 10,000 memories erased, the data check, and the
projection to 10 million memories that `bench.cost_model` computes. Printing only."""

from __future__ import annotations

import argparse
from collections import Counter

from bench.cost_model import (
    DELETE_BATCH,
    LAMBDA_TIMEOUT_MS,
    LIST_PAGE,
    PER,
    PROJECT_TO,
    S3V_VECTORS_PER_S,
    S3V_WRITE_REQUESTS_PER_S,
    TIME_MARGIN_MS,
    AwsModel,
    Latencies,
    Projection,
    Workload,
    per,
    project,
)
from bench.job_measure import Result


def money(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def report(args: argparse.Namespace, r: Result) -> bool:
    p = r.probe
    erase_inv = [i for i in p.invocations if i.function == "job_erase"]
    by_function = Counter(i.function for i in p.invocations)
    s3_erase_inv = [i for i in erase_inv if i.target == "s3"]
    items_s3 = r.items_by_target.get("s3", 0)
    items_total = sum(r.items_by_target.values())
    billed = r.parent_transitions + r.child_transitions + r.child_executions
    structural = 2 * len(erase_inv) + r.child_executions

    print("\n== job ==")
    print(
        f"status: {r.status}; map runs: {r.map_runs}; work items (child executions): {r.child_executions} "
        f"({', '.join(f'{t}: {n}' for t, n in r.items_by_target.items())})"
    )
    print(
        f"memories erased: {r.erased:,} of {r.data.memories:,} ({r.data.matching:,} matched the scope); "
        f"records deleted over {len(r.left)} store(s): {r.records:,}; S3 Vectors vectors scanned: "
        f"{r.scanned_s3:,}"
    )
    print(
        f"wall time (start_execution -> SUCCEEDED, emulated): {r.job_seconds:.1f} s  ->  "
        f"{r.erased / r.job_seconds:,.0f} memories erased per second"
    )
    print("  phase spans: " + ", ".join(f"{k} {v:.1f} s" for k, v in r.phase_seconds.items()))
    pages = [i.pages for i in s3_erase_inv]
    if pages:
        print(
            f"budget: page clock, {args.pages_per_invocation} pages per erase invocation "
            f"({p.page_ms:,.0f} simulated ms per page against a {TIME_MARGIN_MS:,} ms margin); S3 erase "
            f"invocations covered {min(pages)}-{max(pages)} pages (mean {sum(pages) / len(pages):.2f})"
        )

    print(f"\n== per {PER:,} memories erased (measured) ==")
    print(f"  {'Lambda invocations':<28}{'total':>9}{'per 10k':>10}")
    for name in ("job_plan", "job_erase", "job_verify", "job_finalize", "job_fail"):
        if by_function[name]:
            print(f"  {name:<28}{by_function[name]:>9,}{per(by_function[name], r.erased):>10.2f}")
    total_inv = sum(by_function.values())
    print(f"  {'all functions':<28}{total_inv:>9,}{per(total_inv, r.erased):>10.2f}")
    errors = Counter(f"{i.function}: {i.error}" for i in p.invocations if i.error)
    print(
        "  failed invocations (retried by the ASL): "
        + (", ".join(f"{k} x{n}" for k, n in errors.items()) if errors else "none")
    )
    print(f"  {'state transitions':<28}{'total':>9}{'per 10k':>10}")
    rows = [
        ("parent (StateEntered)", r.parent_transitions),
        ("children (StateEntered)", r.child_transitions),
        ("child executions started", r.child_executions),
        ("billed (sum)", billed),
    ]
    for label, n in rows:
        print(f"  {label:<28}{n:>9,}{per(n, r.erased):>10.2f}")
    check = "matches" if r.child_transitions == structural else "DIFFERS from"
    print(
        f"  children {check} the ASL's structure: 2 x {len(erase_inv)} erase invocations + "
        f"{r.child_executions} items = {structural}"
    )
    print(f"  {'S3 Vectors requests':<28}{'total':>9}{'per 10k':>10}   by function")
    for op, n in r.s3_requests.most_common():
        where = ", ".join(f"{f} {c[op]}" for f, c in sorted(r.s3_by_function.items()) if c[op])
        print(f"  {op:<28}{n:>9,}{per(n, r.erased):>10.2f}   {where}")
    dyn = sum(r.dynamodb.values())
    print(
        f"  {'DynamoDB requests':<28}{dyn:>9,}{per(dyn, r.erased):>10.2f}   "
        + ", ".join(f"{op} {n}" for op, n in r.dynamodb.most_common())
    )
    if r.os_requests is not None:
        osn = sum(r.os_requests.values())
        print(
            f"  {'OpenSearch HTTP requests':<28}{osn:>9,}{per(osn, r.erased):>10.2f}   "
            + ", ".join(f"{op} {n}" for op, n in r.os_requests.most_common())
        )

    ok = True
    print("\n== data check ==")
    note = "" if r.erased == r.data.matching else "  <- differs from the memories that matched"
    print(f"  receipt: {r.erased:,} S3 Vectors records erased, {r.data.matching:,} matched{note}")
    for store, (left, in_scope) in r.left.items():
        expected = r.data.memories - r.data.matching
        good = in_scope == 0 and left == expected
        ok &= good
        print(
            f"  {store}: {left:,} memories left (expected {expected:,}), {in_scope} of the scope left: "
            f"{'OK' if good else 'MISMATCH'}"
        )

    print_projection(args, r, items_s3 or 1, items_total)
    return ok


def projection_of(args: argparse.Namespace, r: Result, items_s3: int) -> Projection:
    """The measured shape (match share, work items, deletes per page, the parent's fixed transitions) projected to
    10 million memories erased, under the latencies given on the command line."""
    share = r.erased / args.memories if args.memories else args.share
    erase_s3 = r.s3_by_function.get("job_erase", Counter())
    deletes_per_page = erase_s3["DeleteVectors"] / erase_s3["ListVectors"] if erase_s3["ListVectors"] else 1.0
    work = Workload(erased=PROJECT_TO, share=share, items=items_s3, fixed_parent=r.parent_transitions)
    latencies = Latencies(args.list_ms, args.delete_ms, args.checkpoint_ms)
    model = AwsModel(
        items_s3, matched_per_page=LIST_PAGE * share, deletes_per_page=deletes_per_page, latencies=latencies
    )
    return project(work, model, args.pages_per_invocation)


def print_projection(args: argparse.Namespace, r: Result, items_s3: int, items_total: int) -> None:
    """Two passes, as the state machine runs them: pass 1 lists the whole index and erases the matches; pass 2 (the
    verification) lists what is left, in the same partitioned Map, and finds nothing."""
    pr = projection_of(args, r, items_s3)
    work, model, emulated, aws = pr.work, pr.model, pr.emulated, pr.aws
    erased = work.erased
    print(f"\n== projection to {erased:,} memories erased (S3 Vectors, one index) ==")
    print(
        f"assumes the measured shape: {work.share:.1%} of the index matches, so the index holds "
        f"{work.index_size:,.0f} vectors; {items_s3} ListVectors segments (work items); pass 1 (erase): "
        f"{work.pages_per_item:,} pages of {LIST_PAGE} per segment; pass 2 (verification, same partitioned Map): "
        f"{work.verify_pages_per_item:,} pages per segment, nothing found"
    )
    print(
        f"AWS page model: a page = ListVectors {args.list_ms:.0f} ms + "
        f"{model.deletes_per_page:.2f} x DeleteVectors {args.delete_ms:.0f} ms + checkpoint "
        f"{args.checkpoint_ms:.0f} ms = {model.latency_page_s * 1000:.0f} ms of latency (ASSUMED latencies), but "
        f"{items_s3} workers share the {S3V_VECTORS_PER_S:,} vectors/s per-index delete limit, so a page of "
        f"{model.matched_per_page:.0f} deletions takes >= {model.limit_page_s * 1000:.0f} ms -> "
        f"{model.page_s * 1000:.0f} ms; a 15-min invocation ({LAMBDA_TIMEOUT_MS - TIME_MARGIN_MS:,} ms before the "
        f"margin) covers {model.pages_per_invocation:,} erase pages or {model.verify_pages_per_invocation:,} "
        "verification pages"
    )
    print(
        f"  {'':<34}{'emulated (' + str(args.pages_per_invocation) + ' pages/inv)':>26}{'AWS (15-min invocations)':>26}"
    )
    rows = [
        ("worker invocations (both passes)", lambda s: f"{s.worker_invocations:,}"),
        ("Lambda invocations (all)", lambda s: f"{s.invocations:,}"),
        ("child StateEntered", lambda s: f"{s.children:,}"),
        ("billed state transitions", lambda s: f"{s.transitions:,}"),
        ("Step Functions cost", lambda s: money(s.sfn_cost)),
        ("Lambda request cost", lambda s: money(s.lambda_request_cost)),
        ("Lambda GB-seconds", lambda s: f"{s.lambda_gb_s:,.0f}"),
        ("Lambda compute cost", lambda s: money(s.lambda_compute_cost)),
        ("total cost (SFN + Lambda)", lambda s: money(s.total_cost)),
        ("S3 ListVectors (both passes)", lambda s: f"{s.lists:,}"),
        ("S3 DeleteVectors (at most)", lambda s: f"{s.deletes:,}"),
    ]
    for label, cell in rows:
        print(f"  {label:<34}{cell(emulated):>26}{cell(aws):>26}")
    linear_inv = len(r.probe.invocations) * erased / r.erased
    linear_tr = (r.parent_transitions + r.child_transitions + r.child_executions) * erased / r.erased
    print(
        f"  (the measured per-10k figures scaled linearly give {linear_inv:,.0f} invocations and "
        f"{linear_tr:,.0f} transitions: the per-job states (plan, verify, finalize) do not grow with the data)"
    )
    print("  S3 Vectors request cost: omitted (no reliable list price known here for ListVectors / DeleteVectors)")
    if items_total > items_s3:
        print(
            f"  OpenSearch work items ({items_total - items_s3}) are not in this projection; see the measured "
            "per-10k figures above"
        )
    print(
        f"\nwall time on AWS (estimate): pass 1 max(delete limit {erased:,} / {S3V_VECTORS_PER_S:,}/s = "
        f"{pr.delete_limit_s / 60:.1f} min, per-segment latency {work.pages_per_item:,} x "
        f"{model.latency_page_s * 1000:.0f} ms = {pr.segment_latency_s / 60:.1f} min) = {pr.erase_wall_s / 60:.1f} min "
        f"(requests/s: {S3V_VECTORS_PER_S / DELETE_BATCH:.0f} DeleteVectors/s, far under "
        f"{S3V_WRITE_REQUESTS_PER_S:,}/s)"
    )
    print(
        f"  + pass 2 (verification): {work.verify_pages_per_item:,} ListVectors per segment x "
        f"{model.verify_page_s * 1000:.0f} ms = {pr.verify_wall_s / 60:.1f} min, the {items_s3} segments in parallel, "
        "each a chain of 15-min invocations that return their cursor"
    )
    print(
        f"  throttling: {items_s3} workers at {model.latency_page_s * 1000:.0f} ms a page would ask for "
        f"{pr.requested_deletions_per_s:,.0f} deletions/s, above the {S3V_VECTORS_PER_S:,}/s limit: expect 429s "
        "absorbed by boto3's retries (8 attempts) and then the ASL's Throttled retries; rate limits are not emulated "
        "here"
    )
    print(f"  = about {pr.wall_s / 60:.0f} min end to end (transitions and Lambda start-up add seconds)")
