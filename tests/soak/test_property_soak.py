"""The suite's hypothesis erasure properties at soak scale: at least 1,000 random dataset/filter cases per store (S3
Vectors and OpenSearch together, Neptune Analytics), each asserting that exactly the matching memories are gone and
every other memory, node and relationship is as it was. Not part of the default suite (see conftest.py)."""

from __future__ import annotations

from tests.integration import test_neptune_property_erasure, test_property_erasure
from tests.soak.conftest import soaked

test_s3_vectors_and_opensearch_erasure_removes_exactly_the_matching_memories = soaked(
    test_property_erasure.test_erasure_removes_exactly_the_matching_memories_from_every_store_and_verifies,
    "S3 Vectors + OpenSearch",
)
test_neptune_analytics_erasure_removes_exactly_the_scope_nodes = soaked(
    test_neptune_property_erasure.test_erasing_any_scope_removes_exactly_its_nodes, "Neptune Analytics"
)
