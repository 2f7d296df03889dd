"""Benchmark: memerase's S3 Vectors erasure rate against AWS's per-index write ceiling (2,500 vectors a second).

Run from the repository root::

    .venv/bin/python -m bench.s3_rate_ceiling                      # 50,000 vectors, 4 segments: before, then after
    .venv/bin/python -m bench.s3_rate_ceiling --ceiling 1250       # the ceiling scaled down, where CPU is not the bound
    .venv/bin/python -m bench.s3_rate_ceiling --workers 1          # one sequential partition (an inline erasure)
    .venv/bin/python -m bench.s3_rate_ceiling --retry-mode memerase  # one policy only

Stand-ins. moto server in-process with AWS's ListVectors/DeleteVectors limits (`tests.support.s3vectors_limits`),
behind `bench.s3_rate_proxy`: token buckets per index enforcing 1,000 PutVectors+DeleteVectors requests and 2,500
vectors a second with 429 `TooManyRequestsException`, counted at the server, buckets starting empty.

Data: `--vectors` memories of one user (the victim) and `--others` of other users, 8-dim, mem0's payload layout,
written straight to moto (not through the proxy), afresh for each policy. The erasure: memerase's adapter and
`PartitionRunner.erase` on `--workers` partitions (ListVectors segments) at once, what the job's Map runs in parallel
Lambda workers (1: the sequential inline erasure). `--retry-mode` (one or more, run in turn on fresh data):

* `memerase`: the adapter as shipped: a throttled DeleteVectors retried after short jittered waits sized to the
  ceiling (`memerase.stores.s3_vectors_retry`), through a client without SDK retries.
* `standard` (the default's "before"): the adapter as it was, DeleteVectors through the reading client, retried by
  boto3's standard mode (8 attempts, rand(0, 1) x 2^attempt s after a 429).
* `adaptive`: as `standard`, with botocore's client-side rate limiter.

Printed per policy: the erasure rate (victim vectors / erase wall time) as a fraction of the ceiling, the rate the
server admitted deletes at (first to last admitted delete), the 429s received, and a data check (exactly the other
users' vectors left; exit status 1 otherwise); the machine's load average before the runs. Nothing is asserted on
time.
"""

from __future__ import annotations

import os

from tests.support import fake_aws

fake_aws.apply(os.environ, "AWS_ENDPOINT_URL")
os.environ.update(MEM0_TELEMETRY="False", POWERTOOLS_SERVICE_NAME="memerase-bench", POWERTOOLS_LOG_LEVEL="WARNING")

import argparse  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from bench.s3_rate_proxy import VECTORS_PER_S, RateCeiling, S3VectorsRateProxy  # noqa: E402
from memerase.engine import PartitionProgress, StoreRef  # noqa: E402
from memerase.engine.catalog import MEMORIES, StoreCatalog  # noqa: E402
from memerase.engine.partition_run import PartitionRunner  # noqa: E402
from memerase.stores import s3_vectors  # noqa: E402
from memerase.stores.base import Partition  # noqa: E402
from memerase.stores.factory import TargetStores  # noqa: E402
from tests.support.mem0_data import mem0_payload  # noqa: E402
from tests.support.readback import s3_memories  # noqa: E402
from tests.support.s3vectors_limits import S3VectorsLimits  # noqa: E402

BUCKET, INDEX, DIMS, VICTIM = "mem0-rate", "mem0", 8, "victim"
TARGET = 0.90


def seed(client: Any, victims: int, others: int) -> None:
    """A fresh index holding the victim's and the other users' vectors."""
    if not client.list_vector_buckets()["vectorBuckets"]:
        client.create_vector_bucket(vectorBucketName=BUCKET)
    if client.list_indexes(vectorBucketName=BUCKET)["indexes"]:
        client.delete_index(vectorBucketName=BUCKET, indexName=INDEX)
    client.create_index(
        vectorBucketName=BUCKET, indexName=INDEX, dataType="float32", dimension=DIMS, distanceMetric="cosine"
    )
    rng = random.Random(3)
    users = [VICTIM] * victims + [f"user-{i % 20}" for i in range(others)]
    rng.shuffle(users)
    for start in range(0, len(users), 500):
        vectors = [
            {
                "key": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "data": {"float32": [rng.random() for _ in range(DIMS)]},
                "metadata": mem0_payload(f"memory {start + i}", user_id=user),
            }
            for i, user in enumerate(users[start : start + 500])
        ]
        client.put_vectors(vectorBucketName=BUCKET, indexName=INDEX, vectors=vectors)


class SdkRetriedStore(s3_vectors.S3VectorsStore):
    """The adapter as it was before the fix: DeleteVectors through the reading client, retried by botocore."""

    def _delete_vectors(self, keys: list[str]) -> None:
        self._call("delete_vectors", keys=keys)


def erase(client: Any, workers: int, writer: Any = None) -> float:
    """Erase the victim with `workers` partitions at once (through `writer`, the shipped adapter; without it, the
    adapter as it was); the wall time in seconds."""
    store: s3_vectors.S3VectorsStore = SdkRetriedStore(client, BUCKET, INDEX, segments=workers)
    if writer is not None:
        store = s3_vectors.S3VectorsStore(client, BUCKET, INDEX, segments=workers, writer=writer)
    catalog = StoreCatalog([TargetStores("s3", store, s3_vectors.S3VectorsStore(client, BUCKET, "absent-entities"))])
    runner = PartitionRunner(catalog, None)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            runner.erase(StoreRef("s3", MEMORIES), {"user_id": VICTIM}, Partition(index, workers), PartitionProgress())
        except Exception as exc:  # reported below: a partition that gave up
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    for error in errors:
        print(f"  a partition failed: {type(error).__name__}: {error}")
    return elapsed


def measure(proxy: S3VectorsRateProxy, direct: Any, args: argparse.Namespace, mode: str) -> bool:
    """One policy on fresh data, the proxy's buckets empty and its counts reset; prints its lines, True if the data
    check holds."""
    seed(direct, args.vectors, args.others)
    before = s3_memories(BUCKET, INDEX, direct)
    proxy.ceiling.reset()
    config = s3_vectors.CLIENT_CONFIG
    if mode == "adaptive":
        config = Config(retries={"mode": "adaptive", "max_attempts": 8})
    client = boto3.client("s3vectors", endpoint_url=proxy.url, config=config)
    writer = boto3.client("s3vectors", endpoint_url=proxy.url, config=s3_vectors.WRITER_CONFIG)
    elapsed = erase(client, args.workers, writer if mode == "memerase" else None)
    after = s3_memories(BUCKET, INDEX, direct)
    counts = proxy.ceiling.counts[f"{BUCKET}/{INDEX}"]
    ops = proxy.ceiling.operations

    expected = {k: v for k, v in before.items() if v.get("user_id") != VICTIM}
    rate = args.vectors / elapsed
    served = counts.admitted_vectors / max(counts.last - counts.first, 1e-9)
    policy = (
        f"the adapter's own DeleteVectors retries ({s3_vectors.S3VectorsStore.delete_retry})"
        if mode == "memerase"
        else f"DeleteVectors retried by boto3 ({config.retries})"
    )
    print(f"retry mode {mode}: {policy}")
    print(
        f"  erasure rate        {rate:8.0f} vectors/s = {rate / args.ceiling:6.1%} of the ceiling "
        f"({args.ceiling:,.0f}/s; target >= {TARGET:.0%}), {elapsed:.1f} s"
    )
    print(
        f"  admitted by server  {served:8.0f} vectors/s = {served / args.ceiling:6.1%} of the ceiling, between the "
        "first and last admitted delete"
    )
    print(
        f"  requests            DeleteVectors admitted {counts.admitted_requests}, refused 429 {counts.throttled}; "
        f"ListVectors {ops['ListVectors']}"
    )
    ok = after == expected
    print(
        f"  data check          {'OK' if ok else 'MISMATCH'}: {len(after):,} vectors left, the other users' "
        f"{len(expected):,}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vectors", type=int, default=50_000, help="the victim's vectors (erased)")
    parser.add_argument("--others", type=int, default=5_000, help="other users' vectors (kept)")
    parser.add_argument("--workers", type=int, default=4, help="partitions erased at once (the job's Map workers)")
    parser.add_argument(
        "--ceiling", type=float, default=VECTORS_PER_S, help="vectors/s the proxy admits per index (AWS: 2,500)"
    )
    parser.add_argument(
        "--retry-mode",
        nargs="+",
        choices=["memerase", "standard", "adaptive"],
        default=["standard", "memerase"],
        help="policies run in turn on fresh data (default: before, then after the fix)",
    )
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto server's access log

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"S3 Vectors rate ceiling: {args.vectors:,} victim vectors among {args.vectors + args.others:,}, "
        f"{args.workers} worker(s), ceiling {args.ceiling:,.0f} vectors/s; load average {load} ({os.cpu_count()} CPUs)"
    )
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    try:
        with S3VectorsLimits(), S3VectorsRateProxy(moto_url, RateCeiling(vectors_per_s=args.ceiling)) as proxy:
            direct = boto3.client("s3vectors", endpoint_url=moto_url)
            ok = all([measure(proxy, direct, args, mode) for mode in args.retry_mode])
    finally:
        server.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
