"""The one decision every store makes: mem0's created_at parsed strictly, mem0's expiry exactly, scope AND criteria."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from memerase.criteria import (
    Criteria,
    Decision,
    Selection,
    expiry_decision,
    lock_key,
    parse_created_at,
    selection_of,
)

NOW = datetime(2026, 6, 15, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-06-15T12:00:00+00:00", datetime(2026, 6, 15, 12, tzinfo=UTC)),  # mem0's own isoformat()
        ("2026-06-15T12:00:00.123456+00:00", datetime(2026, 6, 15, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2026-06-15T12:00:00Z", datetime(2026, 6, 15, 12, tzinfo=UTC)),
        ("2026-06-15T12:00:00z", datetime(2026, 6, 15, 12, tzinfo=UTC)),
        ("2026-06-15T14:30:00+02:30", datetime(2026, 6, 15, 12, tzinfo=UTC)),
        ("2026-06-15T07:00:00-0500", datetime(2026, 6, 15, 12, tzinfo=UTC)),
        ("2026-06-15T13:00:00+01", datetime(2026, 6, 15, 12, tzinfo=UTC)),
        ("2026-06-15T12:00:00.1Z", datetime(2026, 6, 15, 12, 0, 0, 100000, tzinfo=UTC)),
        ("2026-06-15T12:00:00.123456789Z", datetime(2026, 6, 15, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2026-06-15T12:00:00,5Z", datetime(2026, 6, 15, 12, 0, 0, 500000, tzinfo=UTC)),
        ("2026-06-15T12:00:00", datetime(2026, 6, 15, 12, tzinfo=UTC)),  # naive: taken as UTC
        ("2026-06-15 12:00:00", datetime(2026, 6, 15, 12, tzinfo=UTC)),
        ("2026-06-15T12:00", datetime(2026, 6, 15, 12, tzinfo=UTC)),
    ],
)
def test_iso_8601_date_times_are_read_as_utc_instants(value: str, expected: datetime) -> None:
    # Given a created_at in one of the ISO-8601 forms writers use
    # When it is parsed
    parsed = parse_created_at(value)
    # Then it is the same instant, timezone-aware
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        " 2026-06-15T12:00:00Z",
        "2026-06-15T12:00:00Z ",
        "2026-06-15",  # a date alone: its time is not guessed
        "2026-W24-1",
        "20260615T120000Z",
        "yesterday",
        "15/06/2026 12:00",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-06-15T25:00:00Z",
        "2026-06-15T12:00:00+24:00",
        "2026-06-15T12:00:00.1234567890Z",
        1781524800,
        1781524800.0,
        True,
        datetime(2026, 6, 15, tzinfo=UTC),
        ["2026-06-15T12:00:00Z"],
    ],
)
def test_anything_else_is_unreadable(value: Any) -> None:
    # Given a created_at that is missing, not a string, or not an ISO-8601 date-time
    # When it is parsed
    # Then it is unreadable (None), never guessed
    assert parse_created_at(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "2026-06-15T12:00:00+00:99",
        "2026-06-15T12:00:00-00:60",
        "2026-06-15T12:00:00+0099",
        "2026-06-15T12:00:00+23:60",
        "\uff12\uff10\uff12\uff16-06-15T12:00:00Z",  # full-width year
        "2026-06-15T12:00:00+\uff10\uff10:\uff10\uff10",  # full-width offset
        "2026-06-15T12:00:00.\u0661\u0662Z",  # Arabic-Indic digits in the fraction
        "\u0968\u0966\u0968\u096c-06-15T12:00:00Z",  # Devanagari year
    ],
)
def test_offsets_that_are_not_real_and_non_ascii_digits_are_unreadable(value: str) -> None:
    """Before the fix these parsed: `+00:99` as an offset of 99 minutes, Unicode digits through `\\d` and int()."""
    # Given a created_at with a minute offset of 60 or more, or digits outside ASCII
    # When it is parsed
    # Then it is unreadable, like any other string that is not an ISO-8601 date-time
    assert parse_created_at(value) is None


def test_the_largest_real_offsets_are_still_read() -> None:
    # Given created_at values at the edges of real offsets
    # When they are parsed
    # Then they are read as the instants they name
    assert parse_created_at("2026-06-15T12:59:00+23:59") == datetime(2026, 6, 14, 13, 0, tzinfo=UTC)
    assert parse_created_at("2026-06-15T12:00:00-00:59") == datetime(2026, 6, 15, 12, 59, tzinfo=UTC)


def test_age_erases_strictly_older_and_keeps_the_cutoff_instant_itself() -> None:
    # Given a 30-day criterion fixed at NOW
    criteria = Criteria.at(NOW, older_than=timedelta(days=30))
    cutoff = NOW - timedelta(days=30)
    # When memories at, just before and just after the cutoff are decided
    just_before = (cutoff - timedelta(microseconds=1)).isoformat()
    at_cutoff = cutoff.isoformat()
    just_after = (cutoff + timedelta(microseconds=1)).isoformat()
    # Then only the strictly older one is selected
    assert criteria.decide({"created_at": just_before}) == Decision.IN
    assert criteria.decide({"created_at": at_cutoff}) == Decision.OUT
    assert criteria.decide({"created_at": just_after}) == Decision.OUT


def test_an_offset_is_honoured_at_the_boundary() -> None:
    # Given a cutoff at 12:00 UTC and a memory written at 13:30+02:00 (11:30 UTC) and one at 11:30-02:00 (13:30 UTC)
    criteria = Criteria(created_before=NOW)
    # When they are decided
    # Then the first is older, the second is younger, whatever their local clock reads
    assert criteria.decide({"created_at": "2026-06-15T13:30:00+02:00"}) == Decision.IN
    assert criteria.decide({"created_at": "2026-06-15T11:30:00-02:00"}) == Decision.OUT


@pytest.mark.parametrize("payload", [{}, {"created_at": ""}, {"created_at": "garbage"}, {"created_at": 0}])
def test_a_memory_without_a_readable_created_at_is_unreadable_under_an_age_criterion(payload: dict[str, Any]) -> None:
    # Given an age criterion and a memory whose created_at is missing or unreadable
    criteria = Criteria.at(NOW, older_than=timedelta(hours=1))
    # When it is decided
    # Then it is kept and counted as unreadable, never erased
    assert criteria.decide(payload) == Decision.UNREADABLE


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-06-14", Decision.IN),  # yesterday: expired
        ("2026-06-15", Decision.OUT),  # today: not yet (mem0: strictly before today)
        ("2026-06-16", Decision.OUT),
        (None, Decision.OUT),  # no expiry
        ("", Decision.OUT),
        (0, Decision.OUT),  # mem0: `not value` is no expiry
        ("14/06/2026", Decision.UNREADABLE),  # mem0 cannot read it and treats it as not expired: kept, counted
        ("2026-06-14T10:00:00", Decision.UNREADABLE),
        ("soon", Decision.UNREADABLE),
    ],
)
def test_expiry_is_decided_as_mem0s_payload_is_expired(value: Any, expected: Decision) -> None:
    # Given mem0's UTC today fixed at request time
    today = NOW.date()
    # When an expiration_date is decided
    # Then it follows mem0's `_payload_is_expired`, unreadable values kept
    assert expiry_decision(value, today) == expected


def test_expiry_agrees_with_mem0s_own_function_on_every_readable_value() -> None:
    # Given mem0ai's own `_payload_is_expired` and today's UTC date
    from mem0.memory.main import _payload_is_expired

    today = datetime.now(UTC).date()
    values = [(today + timedelta(days=d)).isoformat() for d in (-400, -1, 0, 1, 30)] + ["", None, "nope"]
    # When both decide the same payloads
    ours = [expiry_decision(v, today) == Decision.IN for v in values]
    theirs = [_payload_is_expired({"expiration_date": v}) for v in values]
    # Then they agree on what is expired
    assert ours == theirs


def test_criteria_combine_by_and_with_out_winning_over_unreadable() -> None:
    # Given both an age and an expiry criterion
    criteria = Criteria.at(NOW, older_than=timedelta(days=1), expired=True)
    old, young, expired = "2026-01-01T00:00:00Z", "2026-06-15T11:00:00Z", "2026-06-01"
    # When memories are decided
    # Then a memory is selected only when both hold; a young one stays even if its expiry is unreadable
    assert criteria.decide({"created_at": old, "expiration_date": expired}) == Decision.IN
    assert criteria.decide({"created_at": old}) == Decision.OUT
    assert criteria.decide({"created_at": young, "expiration_date": expired}) == Decision.OUT
    assert criteria.decide({"created_at": young, "expiration_date": "bad"}) == Decision.OUT
    assert criteria.decide({"created_at": "bad", "expiration_date": expired}) == Decision.UNREADABLE


def test_the_selection_confines_criteria_to_its_scope_with_type_strict_equality() -> None:
    # Given an age criterion within user alice's scope
    selection = Selection(filters={"user_id": "alice"}, criteria=Criteria(created_before=NOW))
    old = "2020-01-01T00:00:00Z"
    # When memories of alice, of bob, and with an int-typed user id are decided
    # Then only alice's old memory is selected; other scopes are out, even unreadable ones
    assert selection.decide({"user_id": "alice", "created_at": old}) == Decision.IN
    assert selection.decide({"user_id": "bob", "created_at": old}) == Decision.OUT
    assert selection.decide({"user_id": "bob", "created_at": "garbage"}) == Decision.OUT
    assert selection.decide({"user_id": 1, "created_at": old}) == Decision.OUT
    assert selection.decide(None) == Decision.OUT


def test_an_age_only_selection_spans_every_scope_but_never_a_younger_memory() -> None:
    # Given an age criterion without any filter
    selection = Selection(criteria=Criteria(created_before=NOW))
    # When memories of different scopes are decided
    # Then every old one is selected, no younger one
    assert selection.decide({"user_id": "a", "created_at": "2020-01-01T00:00:00Z"}) == Decision.IN
    assert selection.decide({"agent_id": "b", "created_at": "2020-01-01T00:00:00Z"}) == Decision.IN
    assert selection.decide({"user_id": "a", "created_at": "2026-06-15T12:00:01Z"}) == Decision.OUT


@pytest.mark.parametrize(
    "selector",
    [{}, Selection(), {"user_id": ""}, {"`~id`": "x"}],
)
def test_an_empty_selection_is_refused(selector: Any) -> None:
    # Given a selection with neither a filter nor a criterion, or a malformed filter
    # When it is used
    # Then it is refused before any scan
    with pytest.raises(ValueError):
        selection_of(selector)
    with pytest.raises(ValueError):
        Selection.model_validate({"filters": dict(selector)} if isinstance(selector, dict) else {}).decide({})


def test_criteria_round_trip_through_json_and_refuse_loose_values() -> None:
    # Given criteria fixed at request time
    criteria = Criteria.at(NOW, older_than=timedelta(hours=12), expired=True)
    # When stored as JSON and read back (a job record)
    again = Criteria.model_validate(criteria.model_dump(mode="json"))
    # Then it is the same, and numbers, naive or non-ISO values are refused
    assert again == criteria
    assert again.created_before == datetime(2026, 6, 15, 0, tzinfo=UTC)
    assert again.expired_before == date(2026, 6, 15)
    for bad in ({"created_before": 1781524800}, {"created_before": "2026-06-15"}, {"expired_before": "15.06.2026"}):
        with pytest.raises(ValidationError):
            Criteria.model_validate(bad)
    with pytest.raises(ValidationError):
        Criteria(created_before=datetime(2026, 6, 15))  # naive
    with pytest.raises(ValueError):
        Criteria.at(NOW, older_than=timedelta(0))
    with pytest.raises(ValueError):
        Criteria.at(datetime(2026, 6, 15), expired=True)


def test_the_lock_key_of_a_plain_scope_is_its_scope_hash_and_criteria_tell_jobs_apart() -> None:
    # Given a scope hash and criteria of jobs over that scope
    scope_hash = "f" * 64
    aged = Criteria(created_before=NOW)
    aged_later = Criteria(created_before=NOW + timedelta(hours=1))
    expired = Criteria(expired_before=NOW.date())
    # When their lock keys are computed
    # Then a plain scope keeps its scope hash; an age job never shares a scope job's lock, nor an expiry job's;
    # two age jobs of the same scope share one whatever their cutoffs; a policy has its own
    assert lock_key(scope_hash) == lock_key(scope_hash, Criteria()) == scope_hash
    assert lock_key(scope_hash, aged) not in (scope_hash, lock_key(scope_hash, expired))
    assert lock_key(scope_hash, aged) == lock_key(scope_hash, aged_later)
    assert lock_key(scope_hash, aged, "daily") != lock_key(scope_hash, aged)
    assert lock_key(scope_hash, None, "daily") != scope_hash


def test_a_timezone_other_than_utc_gives_the_same_fixed_cutoff() -> None:
    # Given the same instant seen from UTC+9
    tokyo = NOW.astimezone(timezone(timedelta(hours=9)))
    # When criteria are fixed from either
    # Then the cutoff and mem0's UTC "today" are the same
    assert Criteria.at(tokyo, timedelta(days=1), True) == Criteria.at(NOW, timedelta(days=1), True)
