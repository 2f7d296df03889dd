"""The one typed settings object, read from MEMERASE_CONFIG (a JSON/YAML file path, or inline JSON).

A target is a mem0 configuration in mem0's own vocabulary (`vector_store: {provider, config}`), so users paste
what they already have. Unknown keys and wrong types are refused with a message naming the key. A boolean that
guards a deletion or a check (`allow_reset`, `verify_certs`, `use_ssl`) must be a JSON boolean; other values accept
what mem0's own configuration accepts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, ValidationError, field_validator, model_validator

from memerase.errors import ConfigError
from memerase.neptune_settings import (
    NEPTUNE_DB_SCHEME,
    NEPTUNE_GRAPH_SCHEME,
    GraphStoreConfig,
    NeptuneAnalyticsConfig,
    NeptuneGraphConfig,
    NeptuneStore,
    graph_id_of,
)
from memerase.opensearch_settings import AwsAuthConfig, OpenSearchConfig, index_name_problem, verifies_certificates
from memerase.request_settings import RequestsConfig
from memerase.retention import RetentionPolicy, unique_policy_names
from memerase.scope_key import ScopeHashConfig
from memerase.strict import Strict as _Strict

__all__ = [
    "AwsAuthConfig",
    "OpenSearchConfig",
    "verifies_certificates",
    "NEPTUNE_DB_SCHEME",
    "NEPTUNE_GRAPH_SCHEME",
    "GraphStoreConfig",
    "NeptuneAnalyticsConfig",
    "NeptuneGraphConfig",
    "NeptuneStore",
    "graph_id_of",
]

CONFIG_ENV = "MEMERASE_CONFIG"


class S3VectorsConfig(_Strict):
    """mem0's `S3VectorsConfig` fields."""

    vector_bucket_name: str = Field(min_length=3, max_length=63)
    collection_name: str = "mem0"
    embedding_model_dims: int = Field(1536, gt=0)
    distance_metric: Literal["cosine", "euclidean"] = "cosine"
    region_name: str | None = None


class S3VectorsStore(_Strict):
    provider: Literal["s3_vectors"]
    config: S3VectorsConfig


class OpenSearchStore(_Strict):
    provider: Literal["opensearch"]
    config: OpenSearchConfig


VectorStoreConfig = Annotated[S3VectorsStore | OpenSearchStore | NeptuneStore, Field(discriminator="provider")]


class Target(_Strict):
    """One mem0 deployment whose stores memerase erases from."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
    vector_store: VectorStoreConfig
    history_db_path: str | None = Field(
        None,
        min_length=1,
        description="mem0's own SQLite history database (mem0's `history_db_path`): erased memories' text and the "
        "raw messages of erased scopes are scrubbed from it",
    )
    graph_store: GraphStoreConfig | None = Field(None, description="mem0 1.x graph memory on Amazon Neptune")
    partitions: int | None = Field(
        None,
        ge=1,
        le=16,
        description="parallel scan partitions of a job: ListVectors "
        "segments (default 4) or OpenSearch PIT slices (default 2)",
    )

    @model_validator(mode="after")
    def _graph_embeddings_index(self) -> Target:
        """mem0 1.x keeps Neptune Database's entity embeddings in the main vector store: on OpenSearch, an index."""
        store, graph = self.vector_store, self.graph_store
        if isinstance(store, OpenSearchStore) and graph is not None and graph.provider == "neptunedb":
            name = graph.config.collection_name or f"{store.config.collection_name}_neptune_vector_store"
            if problem := index_name_problem(name):
                raise ValueError(f"graph_store.config.collection_name (or the name derived from it): {problem}")
        return self


class HistoryConfig(_Strict):
    table_name: str = Field(min_length=3, max_length=255)
    region_name: str | None = None


class JobsConfig(_Strict):
    """Bulk erasure jobs: the DynamoDB jobs table, the Step Functions state machine, the EventBridge bus."""

    table_name: str = Field(min_length=3, max_length=255)
    state_machine_arn: str | None = None
    event_bus_name: str = "default"
    region_name: str | None = None
    time_margin_ms: int = Field(60_000, ge=0, description="stop a worker's page loop when less time than this is left")
    max_passes: int = Field(
        3,
        ge=2,
        le=10,
        description="erase passes per job: the first erases, each later one re-scans (the verification) "
        "and erases what raced in; a pass that finds nothing proves the job clean",
    )
    resume_window_days: int = Field(
        30, ge=1, le=365, description="how long a stopped job's raw scope is kept for a resume (then it expires)"
    )
    claim_seconds: float = Field(
        15,
        gt=0,
        le=20,
        description="how long a worker's claim on a delete batch lasts: it sends the batch's delete request only "
        "within it, and a cancel waits at most this long for batches in flight (within API Gateway's 29 s)",
    )
    stall_seconds: int = Field(
        900, ge=1, description="an active job with no recorded progress for this long is shown as stalled (resumable)"
    )


class ApiConfig(_Strict):
    """The HTTP API: where API key hashes live. `MEMERASE_API_KEY` (a secret, so not in this file) adds an admin key."""

    keys_table_name: str | None = None
    region_name: str | None = None


class Settings(_Strict):
    targets: list[Target] = Field(min_length=1)
    history: HistoryConfig | None = None
    jobs: JobsConfig | None = None
    api: ApiConfig = ApiConfig()
    requests: RequestsConfig = RequestsConfig()  # SQS erasure requests: allowed reply queues, the dead-letter queue
    allow_reset: StrictBool = False
    retention: list[RetentionPolicy] = Field(default_factory=list, description="retention policies (scheduled runs)")
    scope_hash: ScopeHashConfig | None = Field(None, description="the key scope hashes are keyed with")

    @field_validator("targets")
    @classmethod
    def _unique_names(cls, targets: list[Target]) -> list[Target]:
        names = [t.name for t in targets]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"target names must be unique; repeated: {', '.join(duplicates)}")
        return targets

    @field_validator("retention")
    @classmethod
    def _unique_policies(cls, policies: list[RetentionPolicy]) -> list[RetentionPolicy]:
        unique_policy_names(policies)
        return policies

    @model_validator(mode="after")
    def _no_shared_collections(self) -> Settings:
        seen: set[tuple[str, ...]] = set()
        for target in self.targets:
            key = _collection_key(target)
            if key in seen:
                raise ValueError(f"target {target.name!r} names the same collection as another target")
            seen.add(key)
        return self


def _collection_key(target: Target) -> tuple[str, ...]:
    store = target.vector_store
    if isinstance(store, S3VectorsStore):
        return ("s3_vectors", store.config.vector_bucket_name, store.config.collection_name)
    if isinstance(store, NeptuneStore):
        return ("neptune", store.config.graph_id, store.config.collection_name)
    return ("opensearch", store.config.host, str(store.config.port), store.config.collection_name)


def parse_settings(raw: dict[str, Any]) -> Settings:
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError("invalid configuration: " + "; ".join(_describe(e) for e in exc.errors())) from None


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"unknown key {where!r}"
    if error["type"] == "bool_type":
        return f"{where}: must be true or false (a JSON boolean)"
    return f"{where}: {error['msg']}"


def load_settings(source: str | None = None) -> Settings:
    """Read the settings from `source` or MEMERASE_CONFIG: inline JSON, or a path to a .json/.yaml/.yml file."""
    text = source if source is not None else os.environ.get(CONFIG_ENV)
    if not text or not text.strip():
        raise ConfigError(f"{CONFIG_ENV} is not set: give a path to a JSON/YAML file or inline JSON")
    return parse_settings(_read(text.strip()))


def _read(text: str) -> dict[str, Any]:
    if text.startswith("{"):
        return _parse(text, "inline JSON", json.loads)
    path = Path(text)
    if not path.is_file():
        raise ConfigError(f"{CONFIG_ENV}: no such file: {text}")
    loader = _yaml if path.suffix.lower() in {".yaml", ".yml"} else json.loads
    return _parse(path.read_text(encoding="utf-8"), str(path), loader)


def _yaml(text: str) -> Any:
    import yaml  # only for a YAML file: a deployed function's configuration is inline JSON

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from None


def _parse(text: str, origin: str, loader: Any) -> dict[str, Any]:
    try:
        data = loader(text)
    except ValueError as exc:
        raise ConfigError(f"{origin}: not valid {'JSON' if loader is json.loads else 'YAML'}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the configuration must be an object")
    return data
