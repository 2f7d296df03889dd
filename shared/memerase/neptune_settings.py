"""Amazon Neptune in mem0's own vocabulary: mem0 2.x's `neptune` vector store and mem0 1.x's `graph_store` block
(`neptune` for Neptune Analytics, `neptunedb` for Neptune Database)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from memerase.strict import Strict as _Strict

NEPTUNE_GRAPH_SCHEME = "neptune-graph://"
NEPTUNE_DB_SCHEME = "neptune-db://"
_GRAPH_ID = re.compile(r"^g-[A-Za-z0-9]{1,64}$")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$")


def graph_id_of(endpoint: str) -> str:
    """The graph id of mem0's `neptune-graph://<graph-id>` endpoint."""
    graph_id = endpoint.removeprefix(NEPTUNE_GRAPH_SCHEME) if endpoint.startswith(NEPTUNE_GRAPH_SCHEME) else ""
    if not _GRAPH_ID.match(graph_id):
        raise ValueError("endpoint must be neptune-graph://<graph-id>, with a graph id like g-0123456789")
    return graph_id


class NeptuneAnalyticsConfig(_Strict):
    """mem0 2.2.1's `NeptuneAnalyticsConfig` fields, plus `region_name`."""

    endpoint: str = Field(description="neptune-graph://<graph-id>")
    collection_name: str = Field("mem0", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    region_name: str | None = None

    @field_validator("endpoint")
    @classmethod
    def _graph_endpoint(cls, endpoint: str) -> str:
        graph_id_of(endpoint)
        return endpoint

    @property
    def graph_id(self) -> str:
        return graph_id_of(self.endpoint)


class NeptuneStore(_Strict):
    provider: Literal["neptune"]
    config: NeptuneAnalyticsConfig


class NeptuneGraphConfig(_Strict):
    """mem0 1.0.11's `NeptuneConfig` (graph_store `neptune` / `neptunedb`), plus `region_name`."""

    endpoint: str = Field(description="neptune-graph://<graph-id> (provider neptune) or neptune-db://<host>")
    app_id: str | None = "Mem0"
    base_label: StrictBool | None = None
    collection_name: str | None = Field(
        None, min_length=1, description="neptunedb: the vector store collection of entity embeddings"
    )
    region_name: str | None = None


class GraphStoreConfig(_Strict):
    """mem0 1.x's `graph_store` block for Amazon Neptune. `llm`, `custom_prompt` and `threshold` are accepted as
    mem0 accepts them and not used."""

    provider: Literal["neptune", "neptunedb"]
    config: NeptuneGraphConfig
    llm: dict[str, Any] | None = None
    custom_prompt: str | None = None
    threshold: float = Field(0.7, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _endpoint_for_provider(self) -> GraphStoreConfig:
        endpoint = self.config.endpoint
        if self.provider == "neptune" and not (
            endpoint.startswith(NEPTUNE_GRAPH_SCHEME) and _GRAPH_ID.match(endpoint.removeprefix(NEPTUNE_GRAPH_SCHEME))
        ):
            raise ValueError("config.endpoint: provider neptune needs neptune-graph://<graph-id>")
        if self.provider == "neptunedb" and not (
            endpoint.startswith(NEPTUNE_DB_SCHEME) and _HOST.match(endpoint.removeprefix(NEPTUNE_DB_SCHEME))
        ):
            raise ValueError("config.endpoint: provider neptunedb needs neptune-db://<host>")
        return self
