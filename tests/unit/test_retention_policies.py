"""Retention policies in the configuration: strict, each refusal naming the policy (by index) and the problem, never
a value; a policy's cutoff is fixed from the time it is given, never from the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from memerase.errors import ConfigError, InvalidRequest
from memerase.retention import select_policies
from memerase.settings import parse_settings

SECRET = "zoe@example.com"
TARGET = {"name": "s3", "vector_store": {"provider": "s3_vectors", "config": {"vector_bucket_name": "mem0-prod"}}}


def config(*policies: dict[str, Any]) -> dict[str, Any]:
    return {"targets": [TARGET], "retention": list(policies)}


def refusal(*policies: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as refused:
        parse_settings(config(*policies))
    return str(refused.value)


def test_valid_policies_are_read_with_their_criterion_scope_and_dry_run() -> None:
    # Given an age policy across every scope, an expiry policy of one agent, and a dry-run age policy of one user
    raw = config(
        {"name": "ninety-days", "max_age_days": 90},
        {"name": "expired_support", "expired": True, "agent_id": "support-bot"},
        {"name": "trial", "max_age_days": 7, "user_id": "u-1", "run_id": "r-1", "dry_run": True},
    )
    # When the configuration is read
    policies = parse_settings(raw).retention
    # Then each policy has its criterion, scope and dry-run switch
    assert [p.name for p in policies] == ["ninety-days", "expired_support", "trial"]
    assert [p.criterion() for p in policies] == ["older than 90 days", "expired", "older than 7 days"]
    assert [p.scope_filters() for p in policies] == [
        {},
        {"agent_id": "support-bot"},
        {"user_id": "u-1", "run_id": "r-1"},
    ]
    assert [p.dry_run for p in policies] == [False, False, True]


def test_a_configuration_without_retention_has_no_policies() -> None:
    # Given a configuration with targets only
    raw = {"targets": [TARGET]}
    # When it is read
    settings = parse_settings(raw)
    # Then it has no retention policies
    assert settings.retention == []


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        ({"name": "both", "max_age_days": 30, "expired": True}, "exactly one of max_age_days or expired"),
        ({"name": "neither"}, "exactly one of max_age_days or expired"),
        ({"name": "only-false", "expired": False}, "exactly one of max_age_days or expired"),
        ({"name": "zero", "max_age_days": 0}, "greater than 0"),
        ({"name": "negative", "max_age_days": -3}, "greater than 0"),
        ({"name": "centuries", "max_age_days": 36_501}, "less than or equal to 36500"),
        ({"name": "text-age", "max_age_days": "30"}, "valid integer"),
        ({"name": "fraction", "max_age_days": 1.5}, "valid integer"),
        ({"name": "bool-age", "max_age_days": True}, "valid integer"),
        ({"name": "text-expired", "expired": "true"}, "true or false"),
        ({"name": "text-dry", "max_age_days": 3, "dry_run": "yes"}, "true or false"),
        ({"name": "has space", "max_age_days": 3}, "name"),
        ({"name": "", "max_age_days": 3}, "name"),
        ({"name": "x" * 65, "max_age_days": 3}, "name"),
        ({"name": "-leading", "max_age_days": 3}, "name"),
        ({"name": "all", "max_age_days": 3}, "reserved"),
        ({"max_age_days": 3}, "name"),
        ({"name": "typo", "max_age": 3}, "unknown key 'retention.1.max_age'"),
        ({"name": "scoped", "max_age_days": 3, "scope": {"user_id": "u"}}, "unknown key 'retention.1.scope'"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_an_invalid_policy_is_refused_naming_the_policy_and_the_problem(policy: dict[str, Any], problem: str) -> None:
    # Given a valid first policy and an invalid second one
    valid = {"name": "fine", "max_age_days": 30}
    # When the configuration is read
    message = refusal(valid, policy)
    # Then it is refused, naming the second policy by its index (never the first) and the problem
    assert "retention.1" in message and "retention.0" not in message
    assert problem in message


@pytest.mark.parametrize(
    "policy",
    [
        {"name": "wild", "max_age_days": 3, "user_id": "*"},
        {"name": "spaced", "max_age_days": 3, "agent_id": SECRET + " x"},
        {"name": "long", "max_age_days": 3, "run_id": SECRET * 600},
        {"name": "typed", "max_age_days": 3, "user_id": [SECRET]},
        {"name": "extra", "max_age_days": 3, "note": SECRET},
    ],
    ids=["wildcard", "whitespace", "too-long", "not-a-string", "unknown-key"],
)
def test_a_refused_scope_names_the_field_and_never_its_value(policy: dict[str, Any]) -> None:
    # Given a policy whose scope (or an unknown key) holds an e-mail address
    # When the configuration is read
    message = refusal(policy)
    # Then the refusal names the policy and the field, and does not quote the value
    assert "retention.0" in message
    assert any(field in message for field in ("user_id", "agent_id", "run_id", "note"))
    assert SECRET not in message and "zoe" not in message


def test_repeated_policy_names_are_refused_naming_them() -> None:
    # Given two policies with one name
    # When the configuration is read
    message = refusal({"name": "daily", "max_age_days": 30}, {"name": "daily", "expired": True})
    # Then it is refused, naming the repeated name
    assert "unique" in message and "daily" in message


def test_the_cutoff_is_fixed_from_the_given_time_in_utc() -> None:
    # Given an age policy and an expiry policy, and a scheduled time given with an offset
    age, expiry = parse_settings(
        config({"name": "month", "max_age_days": 30}, {"name": "gone", "expired": True})
    ).retention
    scheduled = datetime(2026, 12, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))  # 2026-11-30T23:30Z
    # When their criteria are computed at that time
    aged, expired = age.criteria_at(scheduled), expiry.criteria_at(scheduled)
    # Then the age cutoff is 30 days before it, in UTC, and the expiry day is its UTC date
    assert aged.created_before == datetime(2026, 10, 31, 23, 30, tzinfo=UTC) and aged.expired_before is None
    assert expired.expired_before == date(2026, 11, 30) and expired.created_before is None
    # And the same time always gives the same criteria
    assert age.criteria_at(scheduled) == aged


def test_policies_are_selected_all_or_by_name_and_an_unknown_name_is_refused_without_echoing_it() -> None:
    # Given two policies
    policies = parse_settings(
        config({"name": "month", "max_age_days": 30}, {"name": "gone", "expired": True})
    ).retention
    # When every policy, "all", one name and an unknown name are asked for
    # Then every policy, every policy, that one, and a refusal that does not repeat the name are the answers
    assert select_policies(policies, None) == policies == select_policies(policies, "all")
    assert [p.name for p in select_policies(policies, "gone")] == ["gone"]
    with pytest.raises(InvalidRequest) as refused:
        select_policies(policies, "weekly-secret")
    assert "weekly-secret" not in str(refused.value)
    # And with no policies configured, "all" is none, and a name is refused
    assert select_policies([], "all") == [] == select_policies([], None)
    with pytest.raises(InvalidRequest):
        select_policies([], "gone")
