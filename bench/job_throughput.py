"""Benchmark: one bulk erasure job (the real Step Functions ASL) over >= 100,000 mem0 memories, projected to 10 million.

Run from the repository root::

    .venv/bin/python -m bench.job_throughput [--memories 100000 --tenants 20 --share 0.5 --pages-per-invocation 5]
    .venv/bin/python -m bench.job_throughput --opensearch [--memories 10000]   # S3 Vectors and OpenSearch

Everything runs in emulation, in-process: moto's Step Functions interpreter executes ``infra/erasure_job.asl.json``
(the DISTRIBUTED Map included), its Lambda tasks are dispatched to ``functions/<name>/app.py``
(``tests.support.sfn_harness`` over ``memerase_local.lambdas.Dispatcher``); S3 Vectors is moto with AWS's documented
limits enforced (``tests.support.s3vectors_limits.S3VectorsLimits``); the jobs table is moto DynamoDB; with
``--opensearch`` an osmem-server is added as a second target.

Data. ``--memories`` memories of ``--tenants`` tenants (``user_id`` tenant-N) in mem0's payload layout
(``tests.support.mem0_data.mem0_payload``: data, hash, created_at, updated_at, text_lemmatized, user_id, agent_id,
run_id), key = memory id, 8-dim float32 vectors. The S3 Vectors index is created by mem0ai's own ``S3Vectors`` class,
but the memories are written with plain ``PutVectors`` calls in 500-vector batches (what mem0's ``insert`` sends,
without going through its class, so 100,000 memories take seconds). ``--share`` of the memories, spread over every
tenant, carry the shared ``agent_id`` "agent-shared"; the others a per-tenant agent. With ``--opensearch`` the same
memories are also written to OpenSearch through mem0ai's ``OpenSearchDB.insert`` (one request per document: slow,
hence the smaller default).

The job. ONE job, ``Scope(agent_id="agent-shared")``, started with ``runtime.intake().start`` as the API would.

Time budget model. In emulation the default harness budget (900,000 ms left, always) against the default
``time_margin_ms`` (60,000) lets one invocation run a whole partition, which no 15-minute Lambda would do at 10
million memories. So each erase invocation gets a *page clock*: its ``get_remaining_time_in_millis`` starts at
900,000 ms and every list page the invocation requests (a ListVectors call, counted where S3VectorsLimits admits it
on the invocation's thread; an OpenSearch search with ``--opensearch``) costs ``(900,000 - 60,000) / (N - 0.5)`` ms,
so an invocation stops after N pages (``--pages-per-invocation``, default 5; fewer when its partition ends) and the
Map's worker loop really loops. Counting requests rather than calls to the clock keeps the model independent of
how often the worker consults it.
Emulated wall time is not used for the budget: it measures moto (its ListVectors sorts and hashes the whole index
per call) and the GIL shared by the concurrent Map iterations, not AWS. What an invocation would cover on AWS is
modelled separately in the projection (``bench.cost_model``).

Counted. Lambda invocations by function (the harness), state transitions: StateEntered events of the parent
execution (``get_execution_history``) plus those of the DISTRIBUTED Map's child executions (moto 5.2.5 keeps no
child histories: ``list_executions(mapRunArn=...)`` is not implemented and the child events go to a throwaway
``EventManager``, so ``EventManager.add_event`` is wrapped to count them; cross-checked against the structure
2 x erase invocations + 1 per item), child executions (``list_map_runs`` / ``describe_map_run``), S3 Vectors requests
by operation and by calling function (``S3VectorsLimits``), DynamoDB requests (botocore ``before-call``).
Nothing is asserted on time; the exit status is 1 only if the data check fails.

Modules: ``bench.job_measure`` runs the job and counts, ``bench.cost_model`` holds the prices, limits and projection
arithmetic (pure, unit-tested), ``bench.job_report`` prints; this module parses the command line.
"""

from __future__ import annotations

import os

from tests.support import fake_aws

# Before boto3 / mem0 / powertools are imported: fake credentials (nothing can reach a real AWS account).
fake_aws.apply(os.environ, "AWS_ENDPOINT_URL")
os.environ.update(
    MEM0_TELEMETRY="False",
    POWERTOOLS_SERVICE_NAME="memerase-bench",
    POWERTOOLS_TRACE_DISABLED="1",
    POWERTOOLS_METRICS_NAMESPACE="memerase-bench",
    POWERTOOLS_LOG_LEVEL="WARNING",
)

import argparse  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import moto  # noqa: E402

from bench.cost_model import (  # noqa: E402
    DEFAULT_CHECKPOINT_MS,
    DEFAULT_DELETE_MS,
    DEFAULT_LIST_MS,
    LAMBDA_MEMORY_GB,
    LAMBDA_PER_GB_SECOND,
    LAMBDA_PER_REQUEST,
    SFN_STANDARD_PER_TRANSITION,
)
from bench.job_measure import SHARED_AGENT, run  # noqa: E402
from bench.job_report import report  # noqa: E402
from memerase_local.moto_dynamodb_requests import serve_dynamodb_one_request_at_a_time  # noqa: E402
from memerase_local.moto_transactions import snapshot_each_table_once  # noqa: E402
from tests.support import mem0_data as m0  # noqa: E402
from tests.support.s3vectors_limits import PUT_VECTORS_MAX_VECTORS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    snapshot_each_table_once()  # moto's TransactWriteItems copied the whole table once per action: stand-in time only
    serve_dynamodb_one_request_at_a_time()  # the Map's workers on threads: no table changed under a Query
    parser = argparse.ArgumentParser(prog="python -m bench.job_throughput", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--memories", type=int, default=None, help="memories written (default 100,000; 10,000 with --opensearch)"
    )
    parser.add_argument("--tenants", type=int, default=20, help="tenants (user_id values), default 20")
    parser.add_argument(
        "--share",
        type=float,
        default=0.5,
        help="share of memories under the shared agent_id that the job erases (default 0.5)",
    )
    parser.add_argument(
        "--pages-per-invocation",
        type=int,
        default=5,
        help="pages one erase invocation covers under the page-clock budget (default 5)",
    )
    parser.add_argument("--opensearch", action="store_true", help="also erase from OpenSearch (osmem-server)")
    parser.add_argument("--history", action="store_true", help="give memerase its DynamoDB history table (moto)")
    parser.add_argument(
        "--list-ms",
        type=float,
        default=DEFAULT_LIST_MS,
        help=f"ASSUMED ListVectors latency on AWS for the projection (default {DEFAULT_LIST_MS:.0f})",
    )
    parser.add_argument(
        "--delete-ms",
        type=float,
        default=DEFAULT_DELETE_MS,
        help=f"ASSUMED DeleteVectors latency on AWS (default {DEFAULT_DELETE_MS:.0f})",
    )
    parser.add_argument(
        "--checkpoint-ms",
        type=float,
        default=DEFAULT_CHECKPOINT_MS,
        help=f"ASSUMED cursor checkpoint latency (default {DEFAULT_CHECKPOINT_MS:.0f})",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=3600, help="give up waiting for the job after this (s)")
    args = parser.parse_args(argv)
    args.memories = args.memories or (10_000 if args.opensearch else 100_000)
    if args.memories < 1 or args.tenants < 1 or not 0 < args.share <= 1 or args.pages_per_invocation < 1:
        parser.error("need --memories >= 1, --tenants >= 1, 0 < --share <= 1, --pages-per-invocation >= 1")
    logging.disable(logging.WARNING)

    print("memerase benchmark: one bulk erasure job (Step Functions ASL, emulated) and its projection")
    print(
        f"machine: nproc {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}; moto {moto.__version__}"
    )
    print(
        f"dataset: {args.memories:,} memories, {args.tenants} tenants, {args.share:.0%} under agent_id "
        f"{SHARED_AGENT!r}; mem0 payload layout, {m0.DIMS}-dim vectors, written with raw PutVectors "
        f"({PUT_VECTORS_MAX_VECTORS} a request), index created by mem0ai's S3Vectors"
        + ("; OpenSearch via mem0ai OpenSearchDB.insert" if args.opensearch else "; S3 Vectors only")
    )
    print(
        f"prices: Step Functions Standard ${SFN_STANDARD_PER_TRANSITION * 1000:.3f}/1,000 transitions; Lambda "
        f"${LAMBDA_PER_GB_SECOND:.10f}/GB-s + ${LAMBDA_PER_REQUEST * 1e6:.2f}/1M requests "
        f"(us-east-1 list prices, 2025, x86, free tier ignored); {LAMBDA_MEMORY_GB * 1024:.0f} MB functions assumed"
    )

    started = time.perf_counter()
    server = None
    try:
        if args.opensearch:
            from osmem_server import OsmemServer

            server = OsmemServer.start(japanese=False)
        result = run(args, server.url if server else None)
    finally:
        if server is not None:
            server.close()
    ok = report(args, result)
    print(f"\ntotal bench time {time.perf_counter() - started:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
