"""OpenSearch narrows criteria with a date range only as a saving: when the index's field mappings cannot be read
(e.g. a service refusing the mapping API), every hit of the scope is decided in Python and the result is the same."""

from __future__ import annotations

from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError

from memerase.criteria import Selection
from memerase.stores.base import scan
from memerase.stores.opensearch import OpenSearchStore
from tests.support import mem0_data as m0
from tests.support.retention_data import AGED, dated_memories, ids


class NoFieldMappings:
    """The indices API of a client, refusing `get_field_mapping` as a service without that API would."""

    def __init__(self, indices: Any) -> None:
        self._indices = indices

    def __getattr__(self, name: str) -> Any:
        return getattr(self._indices, name)

    def get_field_mapping(self, **_: Any) -> Any:
        raise TransportError(400, "illegal_argument_exception", {})


def test_criteria_are_decided_exactly_without_the_field_mappings(osmem_url: str) -> None:
    # Given dated memories written by mem0 into OpenSearch, and a client whose mapping API is refused
    data = dated_memories(garbage=False)
    m0.write(m0.opensearch_store(osmem_url), [d.memory for d in data])
    client = OpenSearch(hosts=[osmem_url])
    client.indices = NoFieldMappings(client.indices)  # type: ignore[assignment]
    store = OpenSearchStore(client, m0.INDEX, m0.DIMS, page_size=4)
    # When what an age criterion selects across every scope is listed
    pages = list(scan(store, Selection(criteria=AGED)))
    # Then it is exactly the older memories, with the undated ones counted, as with the date range
    assert {r.memory_id for p in pages for r in p.records} == ids(data, "in", "age")
    assert sum(p.unreadable for p in pages) == len(ids(data, "unreadable", "age"))
    assert sum(p.scanned for p in pages) == len(data)  # no range: every memory was read and decided
