"""Domain types, validated at the edge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, computed_field, field_validator

from memerase.errors import InvalidRequest, MissingFilter

ENTITY_KEYS: tuple[str, ...] = ("user_id", "agent_id", "run_id")
MAX_ID_LENGTH = 1024  # a memory id: an S3 Vectors key is at most 1,024 characters
# A user, agent or run id. mem0 accepts any length; S3 Vectors holds at most 2 KB of filterable metadata per vector
# (mem0 makes every payload key filterable), so no id stored there is longer than 2,048 bytes, while OpenSearch (the
# text field, for ids over 256 characters), Neptune and mem0's SQLite history take longer ones. 8,192 characters
# covers every id S3 Vectors can hold four times over and stays well inside what memerase carries it through in a
# body: SQS and EventBridge's 256 KB messages, DynamoDB's 400 KB items (a job keeps its scope for a resume). An id in
# a URL (mem0's `DELETE /v1/memories/?user_id=`, `/v2/entities/<type>/<id>/`) stays at 1,024 characters: API Gateway
# takes 10,240 bytes of request line and headers, percent-encoding triples a byte; longer ids go in a JSON body
# (`POST /v1/erasures`, SQS, EventBridge).
MAX_ENTITY_ID_LENGTH = 8192
MEM0_WILDCARD = "*"  # as a whole filter value, mem0's vector stores read it as "any value" (OpenSearch: `exists`)


def validate_entity_id(value: Any, name: str) -> str | None:
    """mem0 2.x's `_validate_and_trim_entity_id`, made stricter.

    Like mem0: None passes, non-strings are coerced to str, surrounding whitespace is trimmed, empty and inner
    whitespace are refused. Stricter: not mem0's wildcard value `*` (which mem0 reads as "everyone"), no control
    characters, at most MAX_ENTITY_ID_LENGTH characters. `*` and `?` inside an id are plain characters: no adapter
    builds a wildcard, pattern or LIKE query (exact terms, parameters and bytecode arguments only, and every hit is
    checked for exact equality), so `a?b` erases exactly `a?b`.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidRequest(f"Invalid {name}: must be a string")
    trimmed = str(value).strip()
    if trimmed == "":
        raise InvalidRequest(f"Invalid {name}: cannot be empty or whitespace-only. Provide a valid identifier.")
    if any(c.isspace() for c in trimmed):
        raise InvalidRequest(f"Invalid {name}: cannot contain whitespace. Provide a valid identifier without spaces.")
    if trimmed == MEM0_WILDCARD:
        raise InvalidRequest(f"Invalid {name}: * is mem0's wildcard (any value); ids are matched exactly.")
    if any(ord(c) < 32 or ord(c) == 127 for c in trimmed):
        raise InvalidRequest(f"Invalid {name}: control characters are not allowed.")
    if len(trimmed) > MAX_ENTITY_ID_LENGTH:
        raise InvalidRequest(f"Invalid {name}: longer than {MAX_ENTITY_ID_LENGTH} characters.")
    return trimmed


class Scope(BaseModel):
    """The AND of the given user_id / agent_id / run_id. Never empty once built through `Scope.of`."""

    model_config = ConfigDict(hide_input_in_errors=True, frozen=True, extra="forbid")

    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None

    @field_validator("user_id", "agent_id", "run_id", mode="before")
    @classmethod
    def _check(cls, value: Any, info: Any) -> str | None:
        return validate_entity_id(value, info.field_name)

    @classmethod
    def of(cls, **filters: Any) -> Scope:
        """Build a scope from caller input; raises InvalidRequest or MissingFilter, never ValidationError."""
        unknown = sorted(set(filters) - set(ENTITY_KEYS))
        if unknown:
            raise InvalidRequest(f"Unknown filter(s): {', '.join(unknown)}; allowed: {', '.join(ENTITY_KEYS)}")
        try:
            scope = cls(**filters)
        except ValidationError as exc:
            raise InvalidRequest(_first_error(exc)) from None
        if not scope.filters():
            raise MissingFilter()
        return scope

    def filters(self) -> dict[str, str]:
        return {k: v for k in ENTITY_KEYS if (v := getattr(self, k)) is not None}

    def matches(self, payload: Mapping[str, Any] | None) -> bool:
        """Exact, type-strict match of every given key. An empty scope matches nothing."""
        return payload_matches(payload, self.filters())


def payload_matches(payload: Mapping[str, Any] | None, filters: Mapping[str, str]) -> bool:
    """Exact, type-strict equality on every filter key: the final word on what is in scope, in every store."""
    if not filters or not payload:
        return False
    return all(isinstance(payload.get(k), str) and payload.get(k) == v for k, v in filters.items())


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    return message if message.startswith("Invalid") else f"{where}: {message}"


class StoreOutcome(BaseModel):
    """What happened in one collection of one target. `matched`/`deleted` count store records (in a memories
    collection, memories; in an entity collection, entity records). `note` says why a store was left alone."""

    model_config = ConfigDict(hide_input_in_errors=True)

    target: str
    store: str
    role: str = "memories"
    matched: int = 0
    deleted: int = 0
    remaining: int | None = None
    unreadable_kept: int = Field(
        0, description="records in scope whose created_at (or expiration_date) a criterion could not read: kept"
    )
    note: str | None = None


class ErasureResult(BaseModel):
    """The typed result of every engine call."""

    model_config = ConfigDict(hide_input_in_errors=True)

    operation: Literal["delete", "delete_matching", "reset"]
    scope_hash: str | None = None
    dry_run: bool = False
    criteria: dict[str, str] | None = Field(
        None, description="the age/expiry criteria with their fixed cutoffs (created_before, expired_before), if any"
    )
    memories: int = Field(0, description="distinct memories erased (a memory kept in two targets counts once)")
    stores: list[StoreOutcome] = Field(default_factory=list)
    history_events: int = 0
    entity_records_left_alone: int = Field(
        0,
        description="entity records left in place: by id, those linking an erased memory from outside its scope (or "
        "the caller's), untouched; in a scope erasure, those of the scope a stored memory outside it still links (the "
        "erased ids stripped)",
    )
    duration_ms: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def deleted(self) -> int:
        """Store records deleted, in every collection (memories and entity records)."""
        return sum(s.deleted for s in self.stores)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def matched(self) -> int:
        return sum(s.matched for s in self.stores)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unreadable_kept(self) -> int:
        return sum(s.unreadable_kept for s in self.stores)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verified(self) -> bool:
        """True when a verification count ran in every applicable store and found nothing left."""
        return not self.dry_run and all(s.remaining == 0 for s in self.stores if s.note is None)
