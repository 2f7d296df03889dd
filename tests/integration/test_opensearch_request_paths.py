"""The OpenSearch requests memerase sends stay on the paths template.yaml grants: every index-level request names its
index in the path (a bulk delete is POST /<index>/_bulk, never POST /_bulk), and the only domain-level ones are a
point in time's page and its close. IAM confines the functions by path, so a request off these paths is refused."""

from __future__ import annotations

import re
from typing import Any

import pytest

from memerase.engine import Eraser
from memerase.models import Scope
from memerase.stores.opensearch import OpenSearchStore
from tests.support import mem0_data as m0
from tests.support.targets import os_target

DOMAIN_LEVEL = {("POST", "/_search"), ("DELETE", "/_search/point_in_time")}


def recorded(eraser: Eraser) -> list[tuple[str, str]]:
    """Every (method, path) the eraser's OpenSearch client sends from now on."""
    sent: list[tuple[str, str]] = []
    transport = next(s for _, s in eraser.stores() if isinstance(s, OpenSearchStore))._client.transport  # noqa: SLF001
    send = transport.perform_request

    def perform_request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        sent.append((method, url.split("?")[0]))
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
