"""The scope: mem0 2.x's entity-id validation, made stricter, and exact matching."""

from __future__ import annotations

import pytest

from memerase.errors import InvalidRequest, MissingFilter
from memerase.models import Scope


def test_ids_are_trimmed_and_integers_coerced_like_mem0() -> None:
    # Given an id with surrounding spaces and an integer id, as mem0 accepts them
    # When a scope is built from them
    scope = Scope.of(user_id="  alice ", agent_id=42)
    # Then the string is trimmed and the integer becomes its string
    assert scope.filters() == {"user_id": "alice", "agent_id": "42"}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a b", "whitespace"),
        ("*", "wildcard"),
        (" * ", "wildcard"),
        ("a\x00b", "control"),
        ("x" * 8193, "longer than 8192"),
        (True, "string"),
        ([1], "string"),
    ],
)
def test_invalid_ids_are_refused_naming_the_problem(value: object, reason: str) -> None:
    # Given an id mem0 would refuse or that could widen the scope
    # When a scope is built from it
    # Then it is refused with the reason named
    with pytest.raises(InvalidRequest, match=reason):
        Scope.of(user_id=value)


@pytest.mark.parametrize(
    "value",
    ["a?b", "a*b", "?", "**", "user-1*", "*:*", "x" * 1025, "x" * 8192, "\u00e9" * 8192],
    ids=[
        "question-mark",
        "star-inside",
        "question-mark-alone",
        "two-stars",
        "trailing-star",
        "lucene",
        "1025",
        "8192",
        "8192-non-ascii",
    ],
)
def test_ids_mem0_accepts_with_star_or_question_mark_inside_or_over_1024_characters_are_accepted(value: str) -> None:
    """Before the fix these were refused ("wildcard characters (* ?) are not allowed", "longer than 1024
    characters"), so a user whose id mem0 had accepted could not be erased."""
    # Given an id mem0 2.x accepts that is not mem0's whole-value wildcard "*"
    # When a scope is built from it
    scope = Scope.of(user_id=value)
    # Then it is kept exactly, to be matched exactly
    assert scope.filters() == {"user_id": value}


def test_no_filter_and_unknown_filters_are_refused() -> None:
    # Given no filter, only None values, or a key mem0 does not filter on
    # When a scope is built from each
    # Then the first two are a missing filter and the last an unknown filter
    with pytest.raises(MissingFilter):
        Scope.of()
    with pytest.raises(MissingFilter):
        Scope.of(user_id=None, agent_id=None)
    with pytest.raises(InvalidRequest, match="Unknown filter"):
        Scope.of(user_id="a", actor_id="b")


def test_matching_is_exact_typed_and_the_and_of_all_keys() -> None:
    # Given a scope of a user and a run
    scope = Scope.of(user_id="u1", run_id="r1")
    # When payloads are matched against it
    # Then only a payload with both values, exactly and as strings, matches; extra keys do not matter
    assert scope.matches({"user_id": "u1", "run_id": "r1", "agent_id": "x"})
    assert not scope.matches({"user_id": "u1"})
    assert not scope.matches({"user_id": "U1", "run_id": "r1"})
    assert not scope.matches({"user_id": "u1 ", "run_id": "r1"})
    assert not scope.matches({"user_id": ["u1"], "run_id": "r1"})
    assert not scope.matches(None)


def test_failed_jobs_cause_keeps_no_stack_trace_and_no_foreign_message() -> None:
    from memerase.jobs.steps import safe_cause

    # Given Lambda error payloads as Step Functions hands them to the failure path
    ours = (
        '{"errorType": "StoreError", "errorMessage": "S3 Vectors delete_vectors failed: AccessDenied", '
        '"stackTrace": ["  File \\"/var/task/app.py\\", line 3"], "requestId": "r"}'
    )
    foreign = '{"errorType": "ValidationError", "errorMessage": "input user_id=alice@example.com", "stackTrace": []}'
    # When the cause kept in the job record is made from them
    # Then stack traces never survive, our messages do, and a foreign message (which may quote input) is dropped
    assert safe_cause("StoreError", ours) == "StoreError: S3 Vectors delete_vectors failed: AccessDenied"
    assert safe_cause("ValidationError", foreign) == "ValidationError"
    assert "alice" not in safe_cause("ValidationError", "alice@example.com is invalid")
    assert safe_cause("VerificationFailed", "the last allowed pass still found matching memories").startswith("the")
