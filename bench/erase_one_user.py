"""Benchmark: erase one user among many, in Amazon S3 Vectors and OpenSearch, with memerase and with mem0 itself.

Run from the repository root::

    .venv/bin/python -m bench.erase_one_user [--users 5 --per-user 400 --victim 3] [--no-history]

For each store it writes the same dataset (mem0ai 2.2.1's own vector-store classes, mem0's payload layout) into two
fresh copies, then erases one user

* with memerase (``Eraser.delete_matching``, stores built by ``memerase.stores.factory.build_target`` as deployed),
  split into the erase pass and the verification pass that ``delete_matching`` runs afterwards;
* with mem0ai 2.2.1's ``Memory.delete_all(user_id=...)`` on the other copy;

counts every HTTP request each of them sends, times them, checks both left exactly the same data (everything but
the erased user), and prints memerase against the theoretical minimum and mem0 against memerase.

Modules: ``bench.one_user_measure`` writes, erases and counts, ``bench.one_user_report`` prints, and the minimum
is ``bench.cost_model.minimum_requests``; this module reads the command line.

Requests are counted where they reach the wire: S3 Vectors by ``S3VectorsLimits.requests`` (the moto server counts
every request it receives, per operation, failed ones included); OpenSearch by patching ``perform_request`` of
opensearch-py's two HTTP connection classes (one call = one HTTP request; the Transport's retries are separate
calls, so they count too). Nothing is asserted on time; the exit status is 0 unless the data check fails.
"""

from __future__ import annotations

import os

from tests.support import fake_aws

# Before boto3 / mem0 are imported: fake credentials (nothing can reach a real AWS account), no mem0 telemetry.
os.environ["MEM0_TELEMETRY"] = "False"
fake_aws.apply()

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import mem0  # noqa: E402
import moto  # noqa: E402
import osmem_server  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from bench.one_user_args import dataset_parser, machine_line, parse_dataset_args  # noqa: E402
from bench.one_user_both import bench_both  # noqa: E402
from bench.one_user_measure import OS_BATCH, OS_PAGE, S3_BATCH, S3_PAGE, _history, bench_opensearch, bench_s3  # noqa: E402
from bench.one_user_report import print_history, print_store, print_summary  # noqa: E402
from memerase_local.moto_dynamodb_requests import serve_dynamodb_one_request_at_a_time  # noqa: E402
from memerase_local.moto_transactions import snapshot_each_table_once  # noqa: E402
from tests.support import mem0_data as m0  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    # The default dataset is the issue's own measurement: 400 of 2,000 memories erased
    parser = dataset_parser("python -m bench.erase_one_user", __doc__.split("\n\n")[0], users=5, per_user=400)
    parser.add_argument(
        "--history",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="give memerase its DynamoDB history table (moto), count its requests, and erase from both stores in one "
        "erasure too (default on; --no-history: the stores alone)",
    )
    args = parse_dataset_args(parser, argv)
    logging.disable(logging.WARNING)  # mem0 logs every deletion at INFO and its notices at WARNING

    victim = f"user-{args.victim}"
    data = m0.dataset(users=args.users, per_user=args.per_user)
    matched = sum(1 for m in data if m.payload["user_id"] == victim)
    print("memerase benchmark: erase one user among many")
    print(machine_line())
    print(f"versions: mem0ai {mem0.__version__}, moto {moto.__version__}, osmem-server {osmem_server.__version__}")
    print(
        f"dataset: {args.users} users x {args.per_user} memories = {len(data)} memories (mem0 payloads, "
        f"{m0.DIMS}-dim vectors); erasing {victim} = {matched} memories; each tool gets its own copy"
    )
    print(
        f"limits: S3 ListVectors page {S3_PAGE}, DeleteVectors batch {S3_BATCH}; "
        f"OpenSearch page {OS_PAGE}, bulk {OS_BATCH}"
    )
    print(
        "counting: every HTTP request; PIT open/close and index-existence checks count in memerase's figure, "
        "the minimum counts only list pages and delete batches"
    )

    started = time.perf_counter()
    snapshot_each_table_once()  # moto's TransactWriteItems copied the whole table once per action: stand-in time only
    serve_dynamodb_one_request_at_a_time()  # the same patch as the tests' and serve's
    moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto_server.start()
    try:
        host, port = moto_server.get_host_and_port()
        os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
        history = _history() if args.history else None
        reports = [bench_s3(data, victim, history)]
        if history:
            history = _history(fresh=True)
        reports.append(bench_opensearch(data, victim, history))
        both = bench_both(data, victim, _history(fresh=True)) if history else None
    finally:
        moto_server.stop()
    for report in reports:
        print_store(report)
    print_summary(reports)
    if both is not None:
        print_history(reports, both)
    print(f"\ntotal bench time {time.perf_counter() - started:.1f} s")
    return 0 if all(r.same for r in reports) and (both is None or both.same) else 1


if __name__ == "__main__":
    sys.exit(main())
