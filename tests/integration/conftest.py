"""Fixtures the integration tests share: mem0's own store classes over the stand-ins, and the audit table."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from memerase.history import HistoryStore, table_schema
from tests.support import mem0_data as m0
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.targets import HISTORY_TABLE


@pytest.fixture
def s3_mem0(s3_limits: S3VectorsLimits) -> Any:
    """mem0ai 2.2.1's S3Vectors store over moto, with AWS's limits enforced."""
    return m0.s3_store()


@pytest.fixture
def os_mem0(osmem_url: str) -> Any:
    """mem0ai 2.2.1's OpenSearchDB store over osmem-server."""
    return m0.opensearch_store(osmem_url)


@pytest.fixture
def history(aws: str) -> HistoryStore:
    """memerase's audit table, created in moto."""
    boto3.client("dynamodb").create_table(**table_schema(HISTORY_TABLE))
    return HistoryStore(HISTORY_TABLE)
