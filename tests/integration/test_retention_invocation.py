"""The scheduled-erasure handler's retention input: a refused one names the problem and never quotes a value (not in
the error, not in the logs); an EventBridge rule event still goes the erasure-request way."""

from __future__ import annotations

from typing import Any

import pytest

from memerase.errors import InvalidRequest
from memerase_local.handlers import LambdaContext
from tests.support.targets import Deploy

SECRET = "zoe@example.com"
TARGET = {"name": "s3", "vector_store": {"provider": "s3_vectors", "config": {"vector_bucket_name": "mem0-prod"}}}
CONFIG = {
    "targets": [TARGET],
    "jobs": {"table_name": "memerase-jobs"},
    "retention": [{"name": "month", "max_age_days": 30}],
}


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"retention": "all", "scheduled_time": "2026-12-01T03:00:00Z", "note": SECRET}, "note"),
        ({"retention": SECRET, "scheduled_time": "2026-12-01T03:00:00Z"}, "retention"),
        ({"retention": "all", "scheduled_time": "<aws.scheduler.scheduled-time>"}, "scheduled_time"),
        ({"retention": "all", "scheduled_time": "2026-12-01T03:00:00"}, "scheduled_time"),
        ({"retention": "all"}, "scheduled_time"),
    ],
    ids=["unknown-key", "bad-policy-name", "placeholder-not-rendered", "naive-time", "no-time"],
)
def test_a_refused_retention_input_names_the_field_without_its_value(
    event: dict[str, Any], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from functions.scheduled_erasure.app import handler

    # Given a retention input that is not what the schedule sends
    # When the scheduled-erasure function receives it
    with pytest.raises(Exception) as refused:
        handler(event, LambdaContext())
    # Then the error names the field and quotes no value; nothing printed quotes it either
    message = f"{refused.value!s} {refused.value!r}"
    assert field in message
    printed = capsys.readouterr()
    assert SECRET not in message and SECRET not in printed.out + printed.err


def test_a_retention_input_naming_no_configured_policy_is_refused_without_the_name(deploy: Deploy) -> None:
    from functions.scheduled_erasure.app import handler

    # Given a configuration with one policy
    deploy(CONFIG)
    # When the function is asked to run a policy the configuration does not have
    with pytest.raises(InvalidRequest) as refused:
        handler({"retention": "weekly-secret", "scheduled_time": "2026-12-01T03:00:00Z"}, LambdaContext())
    # Then it is refused, saying so without repeating the name
    assert "no configured retention policy" in str(refused.value) and "weekly-secret" not in str(refused.value)


def test_a_scheduled_run_without_policies_configured_does_nothing_and_succeeds(deploy: Deploy) -> None:
    from functions.scheduled_erasure.app import handler

    # Given a deployment whose configuration has no retention policies (the template's default)
    deploy({k: v for k, v in CONFIG.items() if k != "retention"})
    # When the schedule fires
    answer = handler({"retention": "all", "scheduled_time": "2026-12-01T03:00:00Z"}, LambdaContext())
    # Then it succeeds having started nothing (a daily failure would fill the dead-letter queue)
    assert answer == {"policies": []}
