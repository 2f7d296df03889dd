"""The OpenSearch requests memerase sends stay on the paths template.yaml grants: every index-level request names its
index in the path (a bulk delete is POST /<index>/_bulk, never POST /_bulk), and the only domain-level ones are a
point in time's page and its close. IAM confines the functions by path, so a request off these paths is refused."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

import pytest
from opensearchpy import OpenSearch

from memerase.engine import Eraser
from memerase.errors import StoreError
from memerase.models import Scope
from memerase.stores.opensearch import OpenSearchStore
from tests.support import mem0_data as m0
from tests.support.targets import os_target

DOMAIN_LEVEL = {("POST", "/_search"), ("DELETE", "/_search/point_in_time")}


def recorded(eraser: Eraser) -> list[tuple[str, str]]:
    """Every (method, path) the eraser's OpenSearch client sends from now on."""
    sent: list[tuple[str, str]] = []
    recorded_with_params(eraser, lambda method, path, _: sent.append((method, path)))
    return sent


def recorded_with_params(
    eraser: Eraser, also: Callable[[str, str, dict[str, Any]], None] | None = None
) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (method, path, query parameters) the eraser's OpenSearch client sends from now on."""
    sent: list[tuple[str, str, dict[str, Any]]] = []
    transport = next(s for _, s in eraser.stores() if isinstance(s, OpenSearchStore))._client.transport  # noqa: SLF001
    send = transport.perform_request

    def perform_request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        params = {k: v.decode() if isinstance(v, bytes) else v for k, v in (kwargs.get("params") or {}).items()}
        sent.append((method, url.split("?")[0], params))
        if also is not None:
            also(*sent[-1])
        return send(method, url, *args, **kwargs)

    transport.perform_request = perform_request  # type: ignore[method-assign]
    return sent


@pytest.mark.parametrize("by_id", [False, True])
def test_every_request_names_a_configured_index_or_is_a_point_in_time_page(
    os_mem0: Any, osmem_url: str, by_id: bool
) -> None:
    # Given mem0's memories and entities in OpenSearch, and an eraser whose requests are recorded
    data = m0.dataset(users=3, per_user=30)
    m0.write(os_mem0, data)
    eraser = Eraser([os_target(osmem_url, page_size=7)])
    sent = recorded(eraser)
    # When one user is erased (by scope, paged under a point in time), or some memories by id
    if by_id:
        eraser.delete_memories([m.id for m in data[:5]])
    else:
        eraser.delete_matching(Scope.of(user_id="user-1"))
    # Then every request is on an index of the target, or one of the two domain-level point-in-time requests,
    # and every bulk delete names its index
    indexes = {m0.INDEX, f"{m0.INDEX}_entities"}
    off = [(m, p) for m, p in sent if (m, p) not in DOMAIN_LEVEL and p.split("/")[1] not in indexes]
    assert off == []
    bulk = [p for m, p in sent if p.endswith("/_bulk")]
    assert bulk and all(re.fullmatch(rf"/({'|'.join(indexes)})/_bulk", p) for p in bulk)


SINGLE_INDEX_BY_DEFINITION = {"_bulk", "_update"}  # take one concrete index name, no index expression


@pytest.mark.parametrize("operation", ["by_scope", "by_id", "reset"])
def test_every_call_that_resolves_an_index_expression_says_expand_wildcards_none(
    os_mem0: Any, osmem_url: str, operation: str
) -> None:
    """Before the fix no call sent `expand_wildcards`: OpenSearch expanded a collection name like `mem0-*`."""
    # Given mem0's memories in OpenSearch, and an eraser whose requests are recorded with their query parameters
    data = m0.dataset(users=3, per_user=30)
    m0.write(os_mem0, data)
    eraser = Eraser([os_target(osmem_url, page_size=7)], allow_reset=True)
    sent = recorded_with_params(eraser)
    # When one user is erased, some memories by id, or the target reset
    if operation == "by_scope":
        eraser.delete_matching(Scope.of(user_id="user-1"))
    elif operation == "by_id":
        eraser.delete_memories([m.id for m in data[:5]])
    else:
        eraser.reset("os", "os")
    # Then every request on an index path (all but bulk, update, index creation and the domain-level point-in-time
    # requests) asks OpenSearch not to expand wildcards
    on_index = [
        (m, p, q)
        for m, p, q in sent
        if (m, p) not in DOMAIN_LEVEL and p.rstrip("/").count("/") >= 1 and not (m == "PUT" and p.count("/") == 1)
    ]
    resolving = [(m, p, q) for m, p, q in on_index if not SINGLE_INDEX_BY_DEFINITION & set(p.split("/"))]
    assert resolving and all(q.get("expand_wildcards") == "none" for _, _, q in resolving), resolving


def test_a_wildcard_collection_name_that_got_past_the_settings_still_resets_no_other_index(osmem_url: str) -> None:
    """Before the fix `reset` on a store named `mem0-*` deleted mem0-billing (and mem0-a) through the wildcard."""
    # Given two indexes another application keeps beside mem0's, and a store built on the name `mem0-*` directly
    client = OpenSearch(hosts=[osmem_url])
    for index in ("mem0-billing", "mem0-a"):
        client.indices.create(index=index, body={})
        client.index(index=index, body={"invoice": 1}, refresh=True)
    store = OpenSearchStore(client, "mem0-*", m0.DIMS)
    # When the store is reset
    with contextlib.suppress(StoreError):  # OpenSearch would also refuse to create an index named `mem0-*`
        store.reset()
    # Then both indexes are still there with their documents
    assert client.count(index="mem0-billing")["count"] == 1 and client.count(index="mem0-a")["count"] == 1
