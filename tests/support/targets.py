"""One place that builds memerase configurations and target stores over the test stand-ins' mem0 collections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import boto3

from memerase.history import table_schema as history_schema
from memerase.jobs.repository import table_schema as jobs_schema
from memerase.keys import table_schema as keys_schema
from memerase.stores import opensearch, s3_vectors
from memerase.stores.factory import TargetStores, entity_collection_name
from tests.support import mem0_data as m0

HISTORY_TABLE, JOBS_TABLE, KEYS_TABLE = "memerase-history", "memerase-jobs", "memerase-keys"
Deploy = Callable[[dict[str, Any]], None]  # the `deploy` fixture: makes a configuration the one in use


def targets(osmem_url: str, s3_partitions: int | None = None, os_partitions: int | None = None) -> list[dict[str, Any]]:
    """The `targets` section for mem0's collections in moto's S3 Vectors and in osmem-server."""
    url = urlparse(osmem_url)
    s3: dict[str, Any] = {
        "name": "s3",
        "vector_store": {
            "provider": "s3_vectors",
            "config": {"vector_bucket_name": m0.BUCKET, "collection_name": m0.INDEX, "embedding_model_dims": m0.DIMS},
        },
    }
    os_: dict[str, Any] = {
        "name": "os",
        "vector_store": {
            "provider": "opensearch",
            "config": {
                "host": url.hostname,
                "port": url.port,
                "collection_name": m0.INDEX,
                "embedding_model_dims": m0.DIMS,
            },
        },
    }
    if s3_partitions is not None:
        s3["partitions"] = s3_partitions
    if os_partitions is not None:
        os_["partitions"] = os_partitions
    return [s3, os_]


def memerase_config(
    osmem_url: str,
    *,
    history: str | None = HISTORY_TABLE,
    jobs: dict[str, Any] | None = None,
    api: dict[str, Any] | None = None,
    allow_reset: bool = False,
    partitions: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """A whole MEMERASE_CONFIG document over the stand-ins' mem0 collections: the one configuration builder of the
    tests and benchmarks. Sections given as None are left out; `jobs` and `api` name the shared tables unless they
    say otherwise; `partitions` = (S3 Vectors segments, OpenSearch slices)."""
    s3_partitions, os_partitions = partitions or (None, None)
    config: dict[str, Any] = {"targets": targets(osmem_url, s3_partitions, os_partitions), "allow_reset": allow_reset}
    if history:
        config["history"] = {"table_name": history}
    if jobs is not None:
        config["jobs"] = {"table_name": JOBS_TABLE, **jobs}
    if api is not None:
        config["api"] = {"keys_table_name": KEYS_TABLE, **api}
    return config


def create_tables(history: str | None = HISTORY_TABLE, jobs: str | None = JOBS_TABLE, keys: str | None = None) -> None:
    """memerase's DynamoDB tables, in the AWS endpoint in use; a name given as None is not created."""
    dynamodb = boto3.client("dynamodb")
    for name, schema in ((history, history_schema), (jobs, jobs_schema), (keys, keys_schema)):
        if name:
            dynamodb.create_table(**schema(name))


def s3_target(name: str = "s3", page_size: int = 1000, segments: int = 4, index: str = m0.INDEX) -> TargetStores:
    """Target stores built by hand, for tests that set page sizes the configuration does not expose."""
    client = s3_vectors.make_client(None)
    return TargetStores(
        name,
        s3_vectors.S3VectorsStore(client, m0.BUCKET, index, segments=segments, page_size=page_size),
        s3_vectors.S3VectorsStore(client, m0.BUCKET, entity_collection_name("s3_vectors", index)),
    )


def os_target(
    url: str, name: str = "os", page_size: int = 1000, slices: int = 1, index: str = m0.INDEX
) -> TargetStores:
    client = opensearch.OpenSearch(hosts=[url])
    return TargetStores(
        name,
        opensearch.OpenSearchStore(client, index, m0.DIMS, slices=slices, page_size=page_size),
        opensearch.OpenSearchStore(client, entity_collection_name("opensearch", index), m0.DIMS),
    )
