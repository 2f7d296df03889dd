"""The request channels (issue 18, items 8 and 9): a queue or EventBridge request by age or expiry without a filter
(every user's memories) is refused unless the configuration allows it, as the API asks an admin key for it; each
channel is its own requester, and no request may send the retention schedule's idempotency keys. Real event shapes
through the functions' handlers, jobs run in-process (the worlds of test_sqs_requests and test_triggers)."""

from __future__ import annotations

from typing import Any

import pytest

from memerase import runtime
from memerase.errors import UnscopedCriteria
from memerase.jobs.queue_requests import FIELD_ATTRIBUTE, REASON_ATTRIBUTE
from memerase_local.handlers import LambdaContext
from tests.integration import test_sqs_requests as sqs
from tests.integration.test_triggers import eventbridge_event

world = sqs.world  # the fixture: a requests queue with its dead-letter queue, both stores seeded, jobs in-process
SCHEDULED = "2026-12-01T03:00:00Z"
RETENTION_KEY = "retention:month:2026-12-01T03:00:00+00:00"  # what the schedule's run of `month` at SCHEDULED uses
POLICY = {"name": "month", "max_age_days": 30, "user_id": "user-0"}


def retention_run(world: sqs.World) -> dict[str, Any]:
    """The schedule firing at SCHEDULED, with the `month` policy configured."""
    from functions.scheduled_erasure.app import handler

    world.deploy({**world.config, "retention": [POLICY]})
    answer: dict[str, Any] = handler({"retention": "all", "scheduled_time": SCHEDULED}, LambdaContext())
    return answer


@pytest.mark.parametrize("criteria", [{"older_than_days": 1}, {"expired": True}], ids=["age", "expiry"])
def test_a_queued_request_by_age_or_expiry_without_a_filter_is_dead_lettered_and_erases_nothing(
    world: sqs.World, criteria: dict[str, Any]
) -> None:
    """Before the fix a queued `{"older_than_days": 1}` started a job over every user's memories, and nothing was
    dead-lettered (`AssertionError: assert [] == ['unscoped_criteria']`)."""
    # Given a queued request by age (or expiry) naming no user, agent or run
    before = world.left()
    world.queue.send(criteria)
    # When it is delivered
    _, response = world.deliver()
    # Then it is moved to the dead-letter queue as unscoped, no job is started and every memory is still there
    assert response == {"batchItemFailures": []}
    assert [letter["attributes"][REASON_ATTRIBUTE] for letter in world.queue.dead_letters()] == ["unscoped_criteria"]
    assert sqs.jobs() == [] and world.left() == before


def test_a_queued_request_by_age_without_a_filter_starts_its_job_when_the_configuration_allows_it(
    world: sqs.World,
) -> None:
    """Before the fix the flag did not exist (`ConfigError: invalid configuration: unknown key
    'requests.allow_unscoped_criteria'`)."""
    # Given a deployment that allows requests by age across every scope, and such a request
    world.deploy({**world.config, "requests": {**world.config["requests"], "allow_unscoped_criteria": True}})
    world.queue.send({"older_than_days": 1})
    # When it is delivered
    world.deliver()
    # Then its job ran, with the age cutoff and no scope, and nothing was dead-lettered
    [job] = sqs.jobs()
    assert job.criteria is not None and job.criteria.created_before is not None
    assert world.queue.dead_letters() == []


def test_an_eventbridge_request_by_age_without_a_filter_is_refused(world: sqs.World) -> None:
    """Before the fix the EventBridge detail `{"older_than_days": 1}` started a job over every user's memories
    (`DID NOT RAISE`)."""
    from functions.scheduled_erasure.app import handler

    # Given an EventBridge ErasureRequested event by age naming no user, agent or run
    event = eventbridge_event({"older_than_days": 1}, event_id="evt-unscoped")
    # When the function receives it
    # Then it is refused (the invocation fails: its retries and dead-letter queue see it), and no job is started
    with pytest.raises(UnscopedCriteria):
        handler(event, LambdaContext())
    assert sqs.jobs() == []


def test_an_eventbridge_request_cannot_take_the_retention_schedules_key_and_the_run_starts(world: sqs.World) -> None:
    """Before the fix the request below was accepted (`Failed: DID NOT RAISE`) under the retention schedule's own
    requester (`schedule`), binding the key of the `month` run at SCHEDULED to user-2's job."""
    from functions.scheduled_erasure.app import handler

    # Given an EventBridge request naming the idempotency key of a future retention run
    event = eventbridge_event({"user_id": "user-2", "idempotency_key": RETENTION_KEY}, event_id="evt-squat")
    # When the function receives it
    # Then it is refused, and starts nothing
    with pytest.raises(Exception, match="idempotency_key"):
        handler(event, LambdaContext())
    assert sqs.jobs() == []
    # And when the schedule fires, the policy's job starts
    [outcome] = retention_run(world)["policies"]
    assert outcome["outcome"] == "started" and outcome["policy"] == "month"


@pytest.mark.parametrize("field", ["idempotency_key", "request_id"])
def test_a_queued_request_with_the_retention_prefix_is_dead_lettered(world: sqs.World, field: str) -> None:
    """Before the fix such a request started a job and nothing was dead-lettered (`ValueError: not enough values to
    unpack (expected 1, got 0)`)."""
    # Given a queued request whose key (or request id, its default key) takes the retention schedule's form
    world.queue.send({"user_id": "user-1", field: "Retention:month:2026-12-01T03:00:00+00:00"})
    # When it is delivered
    world.deliver()
    # Then it is dead-lettered naming the field, and no job is started
    [letter] = world.queue.dead_letters()
    attributes = letter["attributes"]
    assert (attributes[REASON_ATTRIBUTE], attributes.get(FIELD_ATTRIBUTE)) == ("reserved_key", field)
    assert sqs.jobs() == []


def test_each_channel_is_its_own_requester_so_one_key_maps_to_one_job_per_channel(world: sqs.World) -> None:
    """Before the fix EventBridge requests were made under `schedule`, the retention schedule's requester
    (`AssertionError: ... Extra items in the right set: ('eventbridge', 'eventbridge')`)."""
    from functions.scheduled_erasure.app import handler

    # Given the same request, under the same idempotency key, from the queue and from EventBridge
    request = {"user_id": "user-1", "idempotency_key": "ticket-7"}
    world.queue.send(request)
    world.deliver()
    handler(eventbridge_event(request, event_id="evt-same"), LambdaContext())
    # And a retention run
    retention_run(world)
    # When the jobs are listed
    requesters = {(j.requester, j.source) for j in runtime.intake().list_jobs(limit=100)}
    # Then each channel made its own job, under its own requester
    assert requesters == {("sqs", "sqs"), ("eventbridge", "eventbridge"), ("schedule", "schedule")}
