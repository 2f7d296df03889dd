"""What a bulk erasure selects: a scope (exact user/agent/run filters) AND optional criteria on a memory's age
(mem0's `created_at`) and on mem0's expiry (`expiration_date`). One decision, made here in Python, is the final word
in every store, whatever the store narrowed its query with.

- `created_at`: mem0 writes `datetime.now(timezone.utc).isoformat()`. Extended ISO-8601 date-times are read
  (`T` or a space, seconds and 1 to 9 fractional digits optional, `Z` or an offset, naive values taken as UTC);
  anything else (a date alone, week dates, basic format, epoch numbers, other types) is unreadable: never erased by an
  age criterion, counted and reported.
- `expiration_date`: exactly mem0ai 2.2.1's `_payload_is_expired`: missing or empty means no expiry; otherwise
  `date.fromisoformat(str(value)) < today (UTC)`; a value mem0 cannot read (it treats it as not expired) is kept here
  too and counted as unreadable.

Both cutoffs are fixed once, when a request or job is made, so a resumed job decides exactly as its first run did.
A memory is erased when it is strictly older than the cutoff / its expiry date is strictly before the fixed day.
Criteria combine with each other and with the scope by AND.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from memerase.models import ENTITY_KEYS, payload_matches

CREATED_AT = "created_at"
EXPIRATION_DATE = "expiration_date"
CRITERIA_NOT_APPLICABLE = (
    "not applicable: age/expiry criteria select memories only; this collection is not erased by them"
)

# ASCII digits only (`re.ASCII`: `\d` would also take full-width and other Unicode digits, which int() reads)
_ISO_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:(Z|z)|([+-])(\d{2})(?::?(\d{2}))?)?",
    re.ASCII,
)


class Decision(StrEnum):
    IN = "in"  # selected: erase
    OUT = "out"  # not selected: leave alone
    UNREADABLE = "unreadable"  # in scope, but a criterion cannot be decided: kept and counted


def parse_created_at(value: Any) -> datetime | None:
    """A timezone-aware datetime from an ISO-8601 date-time string, or None for anything missing or unreadable."""
    if not isinstance(value, str) or not (match := _ISO_DATETIME.fullmatch(value)):
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        tz = UTC
        if sign:
            if int(off_h) > 23 or int(off_m or 0) > 59:
                return None  # not a real offset (`+00:99` would otherwise read as 99 minutes)
            offset = timedelta(hours=int(off_h), minutes=int(off_m or 0))
            tz = timezone(offset if sign == "+" else -offset)
        micro = int((fraction or "0").ljust(6, "0")[:6])
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tzinfo=tz
        ).astimezone(UTC)
    except (ValueError, OverflowError):  # out-of-range fields or offsets (|offset| must be under 24 hours)
        return None


def expiry_decision(value: Any, today: date) -> Decision:
    """mem0's `_payload_is_expired` against a fixed `today`: IN when expired, OUT when not (or no expiry),
    UNREADABLE when mem0 cannot read the value (mem0 then treats the memory as not expired)."""
    if not value:
        return Decision.OUT
    try:
        expires = date.fromisoformat(str(value))
    except ValueError:
        return Decision.UNREADABLE
    return Decision.IN if expires < today else Decision.OUT


def age_decision(value: Any, cutoff: datetime) -> Decision:
    created = parse_created_at(value)
    if created is None:
        return Decision.UNREADABLE
    return Decision.IN if created < cutoff else Decision.OUT


def _aware_datetime(value: Any) -> Any:
    """A stored cutoff comes back from JSON as its ISO string; anything else (numbers, naive values) is refused."""
    if isinstance(value, str):
        parsed = parse_created_at(value)
        if parsed is None:
            raise ValueError("created_before must be an ISO-8601 date-time")
        return parsed
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("created_before must be timezone-aware")
    return value


def _plain_date(value: Any) -> Any:
    if isinstance(value, datetime):
        raise ValueError("expired_before must be a date, not a date-time")
    if isinstance(value, str):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError("expired_before must be a YYYY-MM-DD date")
        return date.fromisoformat(value)
    return value


class Criteria(BaseModel):
    """Age and expiry criteria with their cutoffs fixed (a cutoff and a flag are not personal data)."""

    model_config = ConfigDict(strict=True, frozen=True, hide_input_in_errors=True, extra="forbid")

    created_before: Annotated[datetime | None, BeforeValidator(_aware_datetime)] = Field(
        None, description="memories created strictly before this instant (UTC) are selected"
    )
    expired_before: Annotated[date | None, BeforeValidator(_plain_date)] = Field(
        None, description="memories whose mem0 expiration_date is strictly before this day (UTC 'today') are selected"
    )

    @classmethod
    def at(cls, now: datetime, older_than: timedelta | None = None, expired: bool = False) -> Criteria:
        """The criteria of a request made at `now` (timezone-aware): the cutoff and the day are fixed here, once."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if older_than is not None and older_than <= timedelta(0):
            raise ValueError("older_than must be positive")
        utc = now.astimezone(UTC)
        return cls(
            created_before=utc - older_than if older_than is not None else None,
            expired_before=utc.date() if expired else None,
        )

    @property
    def present(self) -> bool:
        return self.created_before is not None or self.expired_before is not None

    def kinds(self) -> list[str]:
        """Which criteria are set ("age", "expired"): what a job lock tells apart, not the cutoffs themselves."""
        return [k for k, v in (("age", self.created_before), ("expired", self.expired_before)) if v is not None]

    def decide(self, payload: Mapping[str, Any]) -> Decision:
        """OUT if any criterion says so; else UNREADABLE if any cannot be decided; else IN (AND of the criteria)."""
        decisions = []
        if self.created_before is not None:
            decisions.append(age_decision(payload.get(CREATED_AT), self.created_before))
        if self.expired_before is not None:
            decisions.append(expiry_decision(payload.get(EXPIRATION_DATE), self.expired_before))
        if Decision.OUT in decisions:
            return Decision.OUT
        return Decision.UNREADABLE if Decision.UNREADABLE in decisions else Decision.IN


NO_CRITERIA = Criteria()
MAX_AGE_DAYS = 36500  # a hundred years: an age beyond is a mistake, and would overflow a date


def requested(older_than: timedelta | None, expired: bool, now: datetime | None = None) -> Criteria | None:
    """The criteria of a request made now (or at `now`, for tests and schedules): None when it asks for neither."""
    if older_than is None and not expired:
        return None
    return Criteria.at(now or datetime.now(UTC), older_than, expired)


def requested_days(older_than_days: int | None, expired: bool) -> Criteria | None:
    """The criteria of an API or queue request made now: an age in whole days, mem0's expiry, both or neither."""
    return requested(timedelta(days=older_than_days) if older_than_days is not None else None, expired)


class Selection(BaseModel):
    """The scope filters AND the criteria. Empty filters are allowed only with a criterion (then every scope)."""

    model_config = ConfigDict(strict=True, frozen=True, hide_input_in_errors=True, extra="forbid")

    filters: dict[str, str] = Field(default_factory=dict)
    criteria: Criteria = NO_CRITERIA

    def refuse_empty(self) -> None:
        """Defence in depth: no adapter ever scans for deletion with neither a filter nor a criterion, nor with a
        filter that is not a non-empty string of a scope key."""
        if not self.filters and not self.criteria.present:
            raise ValueError("refusing a selection with neither a filter nor a criterion")
        if not set(self.filters) <= set(ENTITY_KEYS):
            raise ValueError("filter keys must be user_id, agent_id or run_id")
        if not all(isinstance(v, str) and v for v in self.filters.values()):
            raise ValueError("refusing an empty or non-string filter")

    def decide(self, payload: Mapping[str, Any] | None) -> Decision:
        """The final word on one record's payload, in every store."""
        self.refuse_empty()
        if not payload or (self.filters and not payload_matches(payload, self.filters)):
            return Decision.OUT
        return self.criteria.decide(payload) if self.criteria.present else Decision.IN


def lock_key(scope_hash: str, criteria: Criteria | None = None, policy: str | None = None) -> str:
    """What two jobs that must not run at once share: the scope hash alone for a plain scope erasure (as before
    criteria existed); else a hash of the scope hash, which kinds of criteria are set (not their cutoffs: two age jobs
    of one scope never run at once, whatever their cutoffs), and the policy name. An age job never shares a scope
    job's lock, nor an expiry job's."""
    kinds = criteria.kinds() if criteria is not None else []
    if not kinds and policy is None:
        return scope_hash
    canonical = json.dumps({"scope": scope_hash, "criteria": kinds, "policy": policy}, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def selection_of(value: Selection | Mapping[str, str]) -> Selection:
    """A selection from a selection, or from bare scope filters (no criteria), refusing an empty one."""
    selection = value if isinstance(value, Selection) else Selection(filters=dict(value))
    selection.refuse_empty()
    return selection
