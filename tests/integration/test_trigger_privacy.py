"""Refused trigger messages never carry their input values: not in the Lambda error, not in the logs, not in the
batch response (pydantic's `input_value=...` would quote an e-mail address or free text)."""

from __future__ import annotations

import json

import pytest

from memerase_local.handlers import LambdaContext
from tests.integration.test_triggers import eventbridge_event, sqs_event
from tests.support.targets import Deploy, memerase_config

SECRET_ID = "zoe@example.com"
SECRET_TEXT = "my diagnosis is confidential "


def test_a_refused_scheduled_request_names_the_problem_without_its_values(capsys: pytest.CaptureFixture[str]) -> None:
    from functions.scheduled_erasure.app import handler

    # Given a scheduled request with a secret user id, a reason over the limit and an unknown key
    detail = {"user_id": SECRET_ID, "reason": SECRET_TEXT * 40, "note": SECRET_TEXT}
    # When the scheduled-erasure function receives it
    with pytest.raises(Exception) as refused:
        handler(eventbridge_event(detail, event_id="evt-privacy"), LambdaContext())
    # Then the error names the fields but quotes none of the values, and nothing printed quotes them either
    message = f"{refused.value!s} {refused.value!r}"
    assert "reason" in message
    printed = capsys.readouterr()
    for secret in (SECRET_ID, SECRET_TEXT.strip()):
        assert secret not in message and secret not in printed.out + printed.err


def test_a_refused_queue_message_is_reported_failed_without_its_values(
    capsys: pytest.CaptureFixture[str], deploy: Deploy
) -> None:
    from functions.sqs_erasure.app import handler

    # Given a deployment without a dead-letter queue of its own, and an SQS message with a secret user id and an
    # unknown key holding free text
    deploy(memerase_config("http://127.0.0.1:9", jobs={}))
    event = sqs_event(json.dumps({"user_id": SECRET_ID, "note": SECRET_TEXT}), ids=["bad"])
    # When the batch (of that one message) is processed
    with pytest.raises(Exception) as refused:  # Powertools fails a batch whose every record failed, for redelivery
        handler(event, LambdaContext())
    # Then the failure, with the individual errors it carries, and anything printed quote none of the values
    message = f"{refused.value!s} {refused.value!r}"
    assert "1 individual errors" in message and "unknown_field" in message
    printed = capsys.readouterr()
    for secret in (SECRET_ID, SECRET_TEXT.strip()):
        assert secret not in message and secret not in printed.out + printed.err
