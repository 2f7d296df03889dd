"""mem0 memories with mixed `created_at` formats and `expiration_date`s around a fixed "now", and what an age or
expiry criterion must select among them (the expectation is written out by hand, not computed by memerase's code)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from memerase.criteria import Criteria
from tests.support import mem0_data as m0

NOW = datetime(2026, 6, 15, 12, 0, 0, tzinfo=UTC)  # the injected clock: the criteria are fixed from it
AGE = timedelta(days=30)  # cutoff 2026-05-16T12:00:00Z
AGED = Criteria.at(NOW, older_than=AGE)
EXPIRED = Criteria.at(NOW, expired=True)  # mem0's "today" is 2026-06-15
MISSING = object()


@dataclass(frozen=True)
class Case:
    """One memory's dates and what each criterion must decide for it: "in", "out" or "unreadable"."""

    name: str
    created_at: object
    expiration_date: object
    by_age: str
    by_expiry: str
    garbage: bool = False  # a value OpenSearch refuses once mem0's index maps the field as `date`


CASES = [
    Case("mem0-utc-old", "2026-01-02T03:04:05.678901+00:00", MISSING, "in", "out"),
    Case("z-just-before-cutoff", "2026-05-16T11:59:59.999Z", "2026-06-14", "in", "in"),
    Case("exactly-at-cutoff", "2026-05-16T12:00:00+00:00", "2026-06-15", "out", "out"),
    Case("offset-older-in-utc", "2026-05-16T13:30:00+02:00", "2026-07-01", "in", "out"),
    Case("offset-younger-in-utc", "2026-05-16T10:30:00-02:00", "2025-12-31", "out", "in"),
    Case("naive-old", "2026-04-01T08:00:00", "2026-06-01", "in", "in"),
    Case("young", "2026-06-15T11:00:00.123456+00:00", "2026-06-14", "out", "in"),
    Case("created-at-missing", MISSING, "2026-01-01", "unreadable", "in"),
    Case("created-at-garbage", "last tuesday", "2026-06-16", "unreadable", "out", garbage=True),
    Case("expiry-garbage", "2026-01-01T00:00:00Z", "14/06/2026", "in", "unreadable", garbage=True),
]
SCOPES = [{"user_id": "alice"}, {"user_id": "bob", "agent_id": "helper"}, {"agent_id": "solo"}]


@dataclass(frozen=True)
class Dated:
    memory: m0.Memory
    case: Case
    scope: dict[str, str]


def dated_memories(garbage: bool = True, seed: int = 11) -> list[Dated]:
    """Every case in every scope, as mem0 writes its payload, with the case's dates put in (or left out)."""
    rng = random.Random(seed)
    found = []
    for scope in SCOPES:
        for case in CASES:
            if case.garbage and not garbage:
                continue
            memory = m0.memory(f"{case.name} of {sorted(scope.values())}", rng, **scope)
            payload = {k: v for k, v in memory.payload.items() if k not in ("created_at", "expiration_date")}
            if case.created_at is not MISSING:
                payload["created_at"] = case.created_at
            if case.expiration_date is not MISSING:
                payload["expiration_date"] = case.expiration_date
            found.append(Dated(m0.Memory(memory.id, payload, memory.vector), case, scope))
    return found


def ids(data: list[Dated], decision: str, kind: str, scope: dict[str, str] | None = None) -> set[str]:
    """Ids whose case decides `decision` under `kind` ("age" or "expiry"), within `scope` (None: every scope)."""
    return {
        d.memory.id
        for d in data
        if (d.case.by_age if kind == "age" else d.case.by_expiry) == decision and (scope is None or d.scope == scope)
    }
