"""OpenSearch adapter (opensearch-py), for mem0's layout: `{"id", "vector_field", "payload"}`, generated `_id`.

Matching mirrors how mem0 indexes payloads (dynamic mapping: `text` with a `keyword` sub-field, `ignore_above: 256`):
a term query on `payload.<key>.keyword` for values up to 256 characters, a phrase query on the text field for longer
ones (they are absent from the keyword field). Every hit is then checked for exact equality on its `_source`, so a
query that over-matches can never widen a deletion.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import boto3
from opensearchpy import OpenSearch, RequestsAWSV4SignerAuth, RequestsHttpConnection
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import ConnectionTimeout, NotFoundError, TransportError

from memerase.criteria import CREATED_AT, EXPIRATION_DATE, Selection
from memerase.errors import RetryableStoreError, StoreError, Throttled
from memerase.observability import logger, trace_library
from memerase.settings import OpenSearchConfig, verifies_certificates
from memerase.stores.base import Page, Partition, Record, Selector, decided, links_any, require_selection, scan
from memerase.stores.opensearch_query import criteria_clauses, filter_clauses, hit_total

PAGE_SIZE = 1000
LOOKUP_BATCH = 1000  # ids per terms query (under the default 65,536 terms limit and 10,000 result window)
DELETE_BATCH_SIZE = 1000
PIT_KEEP_ALIVE = "10m"
RETRYABLE_STATUS = (429, 502, 503, 504)
SCOPE_SOURCE = ["id", "payload.user_id", "payload.agent_id", "payload.run_id"]
LINK_SOURCE = [*SCOPE_SOURCE, "payload.linked_memory_ids"]
SELECT_SOURCE = [*SCOPE_SOURCE, f"payload.{CREATED_AT}", f"payload.{EXPIRATION_DATE}"]
DATE_FIELDS = (CREATED_AT, EXPIRATION_DATE)
# On every call that resolves an index expression: the configured name is one index, never a pattern (the settings
# also refuse names OpenSearch would read as one), and a missing index is an error, not an empty answer. Bulk, update
# and create name a single index by definition; opensearch-py's create_pit takes expand_wildcards only.
ONE_INDEX = {"expand_wildcards": "none", "ignore_unavailable": "false", "allow_no_indices": "false"}
PIT_ONE_INDEX = {"expand_wildcards": "none"}


def make_client(config: OpenSearchConfig) -> OpenSearch:
    """An opensearch-py client for a target's configuration; SigV4 through opensearch-py's own signer when the
    configuration has `aws_auth`, else basic auth when it has a user and password."""
    auth: Any = None
    if config.aws_auth:
        auth = RequestsAWSV4SignerAuth(
            boto3.Session().get_credentials(), config.aws_auth.region, config.aws_auth.service
        )
    elif config.user and config.password:
        auth = (config.user, config.password)
    verify = verifies_certificates(config)
    trace_library("requests")  # the client's HTTP calls go through requests: traced as botocore's are
    if config.use_ssl and not verify:
        logger.warning("OpenSearch TLS without certificate verification (verify_certs: false) trusts any certificate")
    return OpenSearch(
        hosts=[{"host": config.host, "port": config.port}],
        http_auth=auth,
        use_ssl=config.use_ssl,
        verify_certs=verify,
        connection_class=RequestsHttpConnection,
        pool_maxsize=config.pool_maxsize,
        max_retries=5,
        retry_on_status=RETRYABLE_STATUS,
        retry_on_timeout=True,
        timeout=60,
    )


def mem0_index_body(dims: int) -> dict[str, Any]:
    """The index mem0's `OpenSearchDB.create_col` creates."""
    return {
        "settings": {"index.knn": True},
        "mappings": {
            "properties": {
                "vector_field": {
                    "type": "knn_vector",
                    "dimension": dims,
                    "method": {"engine": "nmslib", "name": "hnsw", "space_type": "cosinesimil"},
                },
                "payload": {"type": "object"},
                "id": {"type": "keyword"},
            }
        },
    }


class OpenSearchStore:
    """A mem0 collection (memories or entities) in one OpenSearch index. OpenSearch is near-real-time: every scan
    started afresh and every count refreshes the index first, so they see every earlier deletion."""

    batch_size = DELETE_BATCH_SIZE

    def __init__(self, client: OpenSearch, index: str, dims: int, slices: int = 1, page_size: int = PAGE_SIZE):
        self._client = client
        self.index = index
        self._dims = dims
        self._slices = max(1, slices)
        self._page_size = page_size
        self._dated: set[str] = set()  # payload fields seen mapped `date` (a mapping never changes once set)

    @property
    def label(self) -> str:
        return f"opensearch:{self.index}"

    def exists(self) -> bool:
        return bool(self._call(self._client.indices.exists, index=self.index, **ONE_INDEX))

    def partitions(self) -> int:
        return self._slices

    def not_applicable(self, selection: Selector) -> str | None:
        return None

    def list_matching(self, selection: Selector, partition: Partition, cursor: str | None) -> Page:
        """One page of what the selection selects (decided again on every hit). A selection that fits one page is
        answered by one plain search; anything larger is paged under a point in time with `search_after` (never a
        deep `from`), optionally sliced."""
        chosen = require_selection(selection)
        if cursor is None:
            self._refresh()
        if chosen.criteria.present and not self._dated.issuperset(DATE_FIELDS):
            self._dated |= self._date_fields()
        clauses = filter_clauses(chosen.filters) + criteria_clauses(chosen.criteria, self._dated)
        query = {"bool": {"filter": clauses}}
        if cursor is None and partition.count == 1:
            body = {"size": self._page_size, "query": query, "_source": SELECT_SOURCE, "track_total_hits": True}
            response = self._call(self._client.search, index=self.index, body=body, **ONE_INDEX)
            hits = response["hits"]["hits"]
            if hit_total(response) == len(hits):
                return self._decided(hits, chosen, None)
        return self._pit_page(query, chosen, partition, json.loads(cursor) if cursor else None)

    def _date_fields(self) -> set[str]:
        """Which of mem0's date payload fields the index maps as `date` (mem0's dynamic mapping does, once a first
        memory arrives)."""
        fields = ",".join(f"payload.{f}" for f in DATE_FIELDS)
        try:
            response = self._call(self._client.indices.get_field_mapping, index=self.index, fields=fields, **ONE_INDEX)
        except StoreError:  # the narrowing is only a saving: without it, every hit of the scope is decided here
            logger.warning("OpenSearch field mappings unreadable: criteria decided without a date range")
            return set()
        found: set[str] = set()
        for index_mapping in (response or {}).values():
            for full_name, field_mapping in (index_mapping.get("mappings") or {}).items():
                leaf = full_name.rsplit(".", 1)[-1]
                if (field_mapping.get("mapping") or {}).get(leaf, {}).get("type") == "date":
                    found.add(leaf)
        return found & set(DATE_FIELDS)

    def _pit_page(
        self, query: dict[str, Any], selection: Selection, partition: Partition, state: dict[str, Any] | None
    ) -> Page:
        resumed = state is not None
        state = state or {"pit": self._open_pit(), "after": None, "left": None}
        sliced = partition.count > 1  # a slice's total is not trusted for stopping: page until a short page
        body: dict[str, Any] = {
            "size": self._page_size,
            "query": query,
            "_source": SELECT_SOURCE,
            "pit": {"id": state["pit"], "keep_alive": PIT_KEEP_ALIVE},
            "sort": [{"_shard_doc": "asc"}],
            "track_total_hits": not sliced and state.get("left") is None,
        }
        if sliced:
            body["slice"] = {"id": partition.index, "max": partition.count}
        if state["after"] is not None:
            body["search_after"] = state["after"]
        try:
            response = self._call(self._client.search, body=body)
        except StoreError as exc:
            if resumed and isinstance(exc.__cause__, NotFoundError):  # the cursor's PIT expired: rescan
                return Page(cursor=json.dumps({"pit": self._open_pit(), "after": None, "left": None}))
            raise
        hits = response["hits"]["hits"]
        left = state.get("left")
        left = (1 << 62 if sliced else hit_total(response) if left is None else left) - len(hits)
        if len(hits) < self._page_size or left <= 0:
            self._close_pit(state["pit"])
            return self._decided(hits, selection, None)
        next_state = {"pit": state["pit"], "after": hits[-1]["sort"], "left": left}
        return self._decided(hits, selection, json.dumps(next_state))

    def _decided(self, hits: Sequence[Mapping[str, Any]], selection: Selection, cursor: str | None) -> Page:
        return decided(selection, [self._record(h) for h in hits], len(hits), cursor)

    def delete_batch(self, native_ids: Sequence[str]) -> int:
        if not native_ids:
            return 0
        if len(native_ids) > DELETE_BATCH_SIZE:
            raise ValueError(f"at most {DELETE_BATCH_SIZE} ids per bulk request")
        # POST /<index>/_bulk, never /_bulk: IAM can then confine the deleting functions to the named indexes
        actions = [{"delete": {"_id": i}} for i in native_ids]
        response = self._call(self._client.bulk, index=self.index, body=actions)
        failed = [
            item["delete"]
            for item in response.get("items", [])
            if item["delete"].get("status", 200) >= 300 and item["delete"].get("status") != 404
        ]
        if failed:
            statuses = sorted({str(f.get("status")) for f in failed})
            error = RetryableStoreError if all(int(s) in RETRYABLE_STATUS for s in statuses) else StoreError
            raise error(f"bulk delete on {self.label}: {len(failed)} failed (status {', '.join(statuses)})")
        return len(native_ids)

    def count_remaining(self, selection: Selector) -> int:
        chosen = require_selection(selection)
        # The same query and the same exact check as the erasure (a `_count` would also count non-string values).
        return sum(len(page.records) for page in scan(self, chosen))

    def stored(self, memory_ids: Collection[str]) -> list[Record]:
        self._refresh()  # near-real-time: a memory written a moment ago is then found
        return self.lookup(list(memory_ids))

    def lookup(self, memory_ids: Sequence[str], source: Sequence[str] = SCOPE_SOURCE) -> list[Record]:
        wanted = set(memory_ids)
        found: list[Record] = []
        ids = sorted(wanted)
        for i in range(0, len(ids), LOOKUP_BATCH):
            chunk = ids[i : i + LOOKUP_BATCH]
            body = {"size": 10 * len(chunk), "query": {"terms": {"id": chunk}}, "_source": source}
            hits = self._call(self._client.search, index=self.index, body=body, **ONE_INDEX)["hits"]["hits"]
            found += [self._record(h) for h in hits if h["_source"].get("id") in wanted]
        return found

    def read(self, records: Sequence[Record]) -> list[Record]:
        self._refresh()  # by mem0's `id`; the scope fields and the links only, never the entity's text
        return self.lookup([r.memory_id for r in records], LINK_SOURCE)

    def list_linking(self, memory_ids: Collection[str]) -> list[Record]:
        wanted = sorted(set(memory_ids))
        if not wanted:
            return []
        self._refresh()  # near-real-time: an earlier batch's rewrites are what is searched, not the records before them
        body = {
            "size": 10000,
            "query": {"terms": {"payload.linked_memory_ids.keyword": wanted}},
            "_source": ["id", "payload"],
        }
        hits = self._call(self._client.search, index=self.index, body=body, **ONE_INDEX)["hits"]["hits"]
        records = [self._record(h) for h in hits]
        return [r for r in records if links_any(r.payload, set(wanted))]

    def scope_page(self, cursor: str | None) -> Page:
        """In mem0's `id` order (a keyword in mem0's mapping) after the cursor, the last id of the previous page: no
        point in time to keep open between the requests of a slow caller."""
        body: dict[str, Any] = {
            "size": self._page_size,
            "query": {"exists": {"field": "id"}},
            "_source": SCOPE_SOURCE,
            "sort": [{"id": "asc"}],
        }
        if cursor is not None:
            body["search_after"] = [cursor]
        hits = self._call(self._client.search, index=self.index, body=body, **ONE_INDEX)["hits"]["hits"]
        records = [self._record(h) for h in hits]
        last = hits[-1]["sort"][0] if len(hits) >= self._page_size else None
        return Page(records=records, scanned=len(hits), cursor=str(last) if last is not None else None)

    def replace_payload(self, record: Record, payload: Mapping[str, Any]) -> None:
        self._call(self._client.update, index=self.index, id=record.native_id, body={"doc": {"payload": dict(payload)}})

    def reset(self) -> int:
        removed = 0
        if self.exists():
            self._refresh()
            removed = int(self._call(self._client.count, index=self.index, **ONE_INDEX)["count"])
            self._call(self._client.indices.delete, index=self.index, **ONE_INDEX)
        self._call(self._client.indices.create, index=self.index, body=mem0_index_body(self._dims))
        return removed

    def _refresh(self) -> None:
        """Make deletions visible to counts. OpenSearch Serverless has no refresh API: tolerate its refusal."""
        with contextlib.suppress(TransportError):
            self._client.indices.refresh(index=self.index, **ONE_INDEX)

    def _record(self, hit: Mapping[str, Any]) -> Record:
        source = hit.get("_source") or {}
        return Record(hit["_id"], str(source.get("id", "")), source.get("payload") or {})

    def _open_pit(self) -> str:
        response = self._call(self._client.create_pit, index=self.index, keep_alive=PIT_KEEP_ALIVE, **PIT_ONE_INDEX)
        return str(response["pit_id"])

    def _close_pit(self, pit_id: str) -> None:
        with contextlib.suppress(TransportError):  # it expires by itself
            self._client.delete_pit(body={"pit_id": [pit_id]})

    def _call(self, method: Any, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except (OSConnectionError, ConnectionTimeout) as exc:
            raise RetryableStoreError(f"OpenSearch {self.label} unreachable: {type(exc).__name__}") from exc
        except TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 0
            error = Throttled if status == 429 else RetryableStoreError if status in RETRYABLE_STATUS else StoreError
            raise error(f"OpenSearch {self.label} refused a request: HTTP {status} {exc.error}") from exc
