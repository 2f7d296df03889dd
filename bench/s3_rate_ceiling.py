"""Benchmark: memerase's S3 Vectors erasure rate against AWS's per-index write ceiling (2,500 vectors a second).

Run from the repository root::

    .venv/bin/python -m bench.s3_rate_ceiling                      # 50,000 vectors, the job's 4 parallel segments
    .venv/bin/python -m bench.s3_rate_ceiling --workers 1          # one sequential partition (an inline erasure)
    .venv/bin/python -m bench.s3_rate_ceiling --retry-mode adaptive  # botocore's client-side rate limiter instead
    .venv/bin/python -m bench.s3_rate_ceiling --retry-mode short-jitter  # the proposed fix, prototyped here

Stand-ins. moto server in-process with AWS's ListVectors/DeleteVectors limits (`tests.support.s3vectors_limits`),
behind `bench.s3_rate_proxy`: token buckets per index enforcing 1,000 PutVectors+DeleteVectors requests and 2,500
vectors a second with 429 `TooManyRequestsException`, counted at the server, buckets starting empty.

Data: `--vectors` memories of one user (the victim) and `--others` of other users, 8-dim, mem0's payload layout,
written straight to moto (not through the proxy). The erasure: memerase's adapter as a deployment builds it
(`s3_vectors.make_client`, its retry configuration) unless `--retry-mode` overrides it; `--workers` partitions
(ListVectors segments) erased at once by `PartitionRunner.erase`, what the job's Map runs in parallel Lambda workers
(1: the sequential inline erasure). `--retry-mode short-jitter` prototypes a fix in the bench only: DeleteVectors
through a client without SDK retries, a throttled delete retried after a short uniform(20, 200) ms wait (the time the
limit needs to refill a 500-key batch is 200 ms) instead of botocore's exponential throttling backoff (up to 1 s,
2 s, 4 s ... on consecutive throttles). Printed: the erasure rate (victim vectors / erase wall time) as a fraction of
2,500/s, the rate the server admitted deletes at (first to last admitted delete), the 429s received, and a data check
(exactly the other users' vectors left; exit status 1 otherwise). Nothing is asserted on time.
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
from botocore.exceptions import ClientError  # noqa: E402
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
    client.create_vector_bucket(vectorBucketName=BUCKET)
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


class ShortJitterStore(s3_vectors.S3VectorsStore):
    """The adapter, its DeleteVectors retried on 429 after short waits through a client without SDK retries."""

    writer: Any = None

    def _call(self, operation: str, **params: Any) -> Any:
        if operation != "delete_vectors":
            return super()._call(operation, **params)
        for attempt in range(1, 200):
            try:
                return self.writer.delete_vectors(vectorBucketName=self.bucket, indexName=self.index, **params)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TooManyRequestsException" or attempt == 199:
                    raise
                time.sleep(random.uniform(0.02, 0.2))  # noqa: S311 - jitter
        return None


def erase(client: Any, workers: int, writer: Any = None) -> float:
    """Erase the victim with `workers` partitions at once; the wall time in seconds."""
    store = s3_vectors.S3VectorsStore(client, BUCKET, INDEX, segments=workers)
    if writer is not None:
        store = ShortJitterStore(client, BUCKET, INDEX, segments=workers)
        store.writer = writer
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vectors", type=int, default=50_000, help="the victim's vectors (erased)")
    parser.add_argument("--others", type=int, default=5_000, help="other users' vectors (kept)")
    parser.add_argument("--workers", type=int, default=4, help="partitions erased at once (the job's Map workers)")
    parser.add_argument(
        "--ceiling", type=float, default=VECTORS_PER_S, help="vectors/s the proxy admits per index (AWS: 2,500)"
    )
    parser.add_argument(
        "--retry-mode", choices=["memerase", "standard", "adaptive", "short-jitter"], default="memerase"
    )
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto server's access log

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    try:
        with S3VectorsLimits(), S3VectorsRateProxy(moto_url, RateCeiling(vectors_per_s=args.ceiling)) as proxy:
            direct = boto3.client("s3vectors", endpoint_url=moto_url)
            seed(direct, args.vectors, args.others)
            before = s3_memories(BUCKET, INDEX, direct)
            config, writer = s3_vectors.CLIENT_CONFIG, None
            if args.retry_mode in ("standard", "adaptive"):
                config = Config(retries={"mode": args.retry_mode, "max_attempts": 8})
            client = boto3.client("s3vectors", endpoint_url=proxy.url, config=config)
            if args.retry_mode == "short-jitter":
                no_retries = Config(retries={"mode": "standard", "total_max_attempts": 1})
                writer = boto3.client("s3vectors", endpoint_url=proxy.url, config=no_retries)
            elapsed = erase(client, args.workers, writer)
            after = s3_memories(BUCKET, INDEX, direct)
            counts = proxy.ceiling.counts[f"{BUCKET}/{INDEX}"]
            ops = proxy.ceiling.operations
    finally:
        server.stop()

    expected = {k: v for k, v in before.items() if v.get("user_id") != VICTIM}
    rate = args.vectors / elapsed
    served = counts.admitted_vectors / max(counts.last - counts.first, 1e-9)
    print(
        f"S3 Vectors rate ceiling: {args.vectors:,} vectors erased among {len(before):,}, {args.workers} worker(s), "
        f"retries: {args.retry_mode} ({config.retries})"
    )
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
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
