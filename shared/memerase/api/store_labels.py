"""What a reply says about the stores an erasure by id touched: a store's label names its bucket, index or graph id,
which only admin keys are shown; a scoped key sees each store's kind (`opensearch`, `s3_vectors`, ...)."""

from __future__ import annotations

from collections.abc import Iterable

from memerase.api.schemas import StoreCount
from memerase.models import StoreOutcome
from memerase.principal import Principal


def store_kind(label: str) -> str:
    """The kind of store a label names (`opensearch:<index>` -> `opensearch`), without the resource."""
    return label.split(":", 1)[0]


def store_counts(outcomes: Iterable[StoreOutcome], principal: Principal) -> list[StoreCount]:
    counts = [StoreCount(**outcome.model_dump()) for outcome in outcomes]
    if principal.admin:
        return counts
    return [count.model_copy(update={"store": store_kind(count.store)}) for count in counts]
