"""The scope rule for mem0 1.x graph memory: mem0 keeps only `user_id` on graph data.

A scope that is not exactly `{user_id}` cannot be mapped onto it (mem0 stores data added without a user id under
`user_id = "user"`, mixed with everyone else's, and keeps no agent or run id), so those stores are left alone and
say why. `UserIdOnly` puts that rule on a vector store collection that holds graph data (mem0 1.x's
`<collection>_neptune_vector_store` on Neptune Database).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from memerase.criteria import CRITERIA_NOT_APPLICABLE
from memerase.stores.base import Filters, Page, Partition, ScopeCollection, Selector, require_selection, scope_only

# mem0 1.0.11 (`graphs/neptune/neptunegraph.py`, `neptunedb.py`) creates every entity node with a MERGE on
# `{name, user_id}` whose ON CREATE sets `created = timestamp()` and `mentions = 1` (epoch milliseconds and a count);
# `updated = timestamp()` too, except Neptune Database's `_add_new_entities_cypher`, which sets no `updated` until
# the node is matched again. Without `base_label` (no label of mem0's own) that is what makes a node mem0's.
NUMERIC_SIGNATURE = ("created", "mentions")
NUMERIC_IF_PRESENT = ("updated",)
GRAPH = "graph"
GRAPH_EMBEDDINGS = "graph_embeddings"
USER_ID_ONLY = "not applicable: mem0 keeps user_id only"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def has_mem0_signature(properties: Mapping[str, Any]) -> bool:
    """Whether a node's properties are those mem0 1.x gives every entity node it creates: a string `name` and
    `user_id`, numbers `created` and `mentions`, and `updated` a number when present."""
    return (
        isinstance(properties.get("name"), str)
        and isinstance(properties.get("user_id"), str)
        and all(_number(properties.get(key)) for key in NUMERIC_SIGNATURE)
        and all(key not in properties or _number(properties[key]) for key in NUMERIC_IF_PRESENT)
    )


def user_id_only(filters: Filters) -> str | None:
    return None if set(filters) == {"user_id"} else USER_ID_ONLY


class UserIdOnly:
    """A collection erased by user id alone (any other scope: not applicable, nothing deleted)."""

    def __init__(self, store: ScopeCollection):
        self._store = store
        self.batch_size = store.batch_size

    @property
    def label(self) -> str:
        return self._store.label

    def partitions(self) -> int:
        return self._store.partitions()

    def not_applicable(self, selection: Selector) -> str | None:
        if require_selection(selection).criteria.present:
            return CRITERIA_NOT_APPLICABLE
        filters = scope_only(selection)
        return user_id_only(filters) or self._store.not_applicable(filters)

    def list_matching(self, selection: Selector, partition: Partition, cursor: str | None) -> Page:
        filters = scope_only(selection)
        self._require_user_id(filters)
        return self._store.list_matching(filters, partition, cursor)

    def delete_batch(self, native_ids: Sequence[str]) -> int:
        return self._store.delete_batch(native_ids)

    def count_remaining(self, selection: Selector) -> int:
        filters = scope_only(selection)
        self._require_user_id(filters)
        return self._store.count_remaining(filters)

    def reset(self) -> int:
        return self._store.reset()

    @staticmethod
    def _require_user_id(filters: Filters) -> None:
        """Defence in depth: callers ask `not_applicable` first; a scope it refuses is never scanned here."""
        if user_id_only(filters):
            raise ValueError(USER_ID_ONLY)
