"""Retention policies: the configuration's `retention` list. Each policy erases, on every scheduled run, the memories
older than its `max_age_days` (mem0's `created_at`) or mem0's expired memories (`expired: true`), across every scope
or within an optional user/agent/run scope; a `dry_run` policy only counts.

A policy holds no cutoff: the cutoff is fixed when a run is made (`criteria_at`), from the schedule's own time, so a
redelivered invocation decides exactly as the first one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, StrictBool, StrictInt, field_validator, model_validator

from memerase.criteria import MAX_AGE_DAYS, Criteria
from memerase.errors import InvalidRequest
from memerase.models import ENTITY_KEYS, Scope, validate_entity_id
from memerase.strict import Strict

POLICY_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
ALL_POLICIES = "all"  # what a scheduled invocation names to run every policy; no policy may be called so


class RetentionPolicy(Strict):
    """One retention policy: exactly one criterion (`max_age_days` or `expired: true`), an optional scope."""

    name: str = Field(
        pattern=POLICY_NAME, description="letters, digits, '_' and '-' (1 to 64, starting with a letter or digit)"
    )
    max_age_days: StrictInt | None = Field(
        None, gt=0, le=MAX_AGE_DAYS, description="erase memories created more than this many days before the run"
    )
    expired: StrictBool = Field(False, description="erase memories whose mem0 expiration_date is before the run's day")
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    dry_run: StrictBool = Field(False, description="count what the policy selects; erase nothing")

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value == ALL_POLICIES:
            raise ValueError(f"{ALL_POLICIES!r} is reserved (a scheduled run naming it runs every policy)")
        return value

    @field_validator("user_id", "agent_id", "run_id", mode="before")
    @classmethod
    def _entity_id(cls, value: Any, info: Any) -> str | None:
        try:  # the scope rules of every erasure request (no wildcards, no whitespace...), as a validation error
            return validate_entity_id(value, info.field_name)
        except InvalidRequest as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _one_criterion(self) -> RetentionPolicy:
        if (self.max_age_days is None) == (not self.expired):
            raise ValueError("a retention policy needs exactly one of max_age_days or expired: true")
        return self

    def scope(self) -> Scope:
        """The policy's scope; empty (every scope) when it names none."""
        return Scope(**self.scope_filters())

    def scope_filters(self) -> dict[str, str]:
        return {k: v for k in ENTITY_KEYS if (v := getattr(self, k)) is not None}

    def criteria_at(self, when: datetime) -> Criteria:
        """The policy's criteria with its cutoff fixed at `when` (timezone-aware): the run's scheduled time."""
        older_than = timedelta(days=self.max_age_days) if self.max_age_days is not None else None
        return Criteria.at(when, older_than=older_than, expired=self.expired)

    def criterion(self) -> str:
        """The criterion in words, for listings ("older than 30 days", "expired")."""
        return f"older than {self.max_age_days} days" if self.max_age_days is not None else "expired"


def unique_policy_names(policies: Sequence[RetentionPolicy]) -> None:
    """Raise ValueError naming the repeated policy names (names are configuration, never personal data)."""
    names = [p.name for p in policies]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"retention policy names must be unique; repeated: {', '.join(repeated)}")


def select_policies(policies: Sequence[RetentionPolicy], name: str | None) -> list[RetentionPolicy]:
    """Every policy (`name` None or "all": none at all when none is configured, so a schedule over an empty list is
    a quiet no-op), or the one named; InvalidRequest when no policy has that name (the name is not repeated back)."""
    if name is None or name == ALL_POLICIES:
        return list(policies)
    chosen = [p for p in policies if p.name == name]
    if not chosen:
        raise InvalidRequest("no configured retention policy has that name; `memerase retention list` shows them")
    return chosen
