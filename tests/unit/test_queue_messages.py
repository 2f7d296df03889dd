"""An SQS erasure request's body read at the edge: each malformed one gets a reason code and, when the problem is in
a known field, that field's name; never a value, nor a key the sender made up."""

from __future__ import annotations

import json

import pytest

from memerase.jobs.queue_requests import Refusal, read_message

SECRET = "zoe@example.com"

MALFORMED = [
    ("not JSON", '{"user_id": "zoe@example.com"', "bad_json", None),
    ("empty body", "", "bad_json", None),
    ("a JSON list", json.dumps([SECRET]), "not_an_object", None),
    ("a JSON string", json.dumps(SECRET), "not_an_object", None),
    ("an unknown key named like an id", json.dumps({"user_id": "u", SECRET: 1}), "unknown_field", None),
    ("mem0's nested filters", json.dumps({"filters": {"user_id": SECRET}}), "unknown_field", None),
    ("a number as an id", json.dumps({"user_id": 5}), "wrong_type", "user_id"),
    ("a list as an id", json.dumps({"agent_id": [SECRET]}), "wrong_type", "agent_id"),
    ("an object as reply_to", json.dumps({"run_id": "r", "reply_to": {"url": SECRET}}), "wrong_type", "reply_to"),
    ("an empty request id", json.dumps({"user_id": "u", "request_id": ""}), "bad_length", "request_id"),
    ("a free-text reason", json.dumps({"user_id": "u", "reason": SECRET}), "invalid_value", "reason"),
    ("an overlong reference", json.dumps({"user_id": "u", "reference": SECRET * 40}), "invalid_value", "reference"),
]


@pytest.mark.parametrize(("body", "reason", "field"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_body_is_refused_with_its_reason_code_and_known_field_only(
    body: str, reason: str, field: str | None
) -> None:
    # Given a malformed SQS message body
    # When it is read
    with pytest.raises(Refusal) as refused:
        read_message(body)
    # Then the refusal names the reason code and the known field, and quotes nothing of the body
    assert (refused.value.reason, refused.value.field) == (reason, field)
    assert SECRET not in f"{refused.value!s} {refused.value!r}"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"user_id": "zoe@example.com", "user_id": "bob"}', "user_id"),
        ('{"user_id": "u", "expired": true, "expired": true}', "expired"),
        ('{"user_id": "u", "older_than_days": 400, "older_than_days": 1}', "older_than_days"),
        ('{"user_id": "u", "zoe@example.com": 1, "zoe@example.com": 2}', None),
    ],
    ids=["an-id-given-twice", "the-same-value-twice", "a-criterion-given-twice", "an-unknown-key-given-twice"],
)
def test_a_body_giving_a_key_twice_is_refused_as_duplicate_key(body: str, field: str | None) -> None:
    """Before the fix the last value won: the first body was read as an erasure of "bob", the third as one of
    everything older than a day (an unknown key was refused as unknown_field)."""
    # Given a body whose object gives a key twice (JSON parsers disagree on which value counts)
    # When it is read
    with pytest.raises(Refusal) as refused:
        read_message(body)
    # Then it is refused as duplicate_key, naming the field only when it is a known one, and quoting nothing
    assert (refused.value.reason, refused.value.field) == ("duplicate_key", field)
    assert SECRET not in f"{refused.value!s} {refused.value!r}" and "bob" not in str(refused.value)


def test_a_well_formed_body_is_read_with_its_reply_fields() -> None:
    # Given a body with filters, a reason, a request id and a reply queue
    body = json.dumps(
        {
            "user_id": "u-1",
            "reason": "gdpr_art17",
            "request_id": "t-1",
            "reply_to": "arn:aws:sqs:eu-west-1:123456789012:r",
        }
    )
    # When it is read
    message = read_message(body)
    # Then every field is kept as sent (ids are checked when the job's scope is built)
    assert (message.user_id, message.reason, message.request_id, message.reply_to) == (
        "u-1",
        "gdpr_art17",
        "t-1",
        "arn:aws:sqs:eu-west-1:123456789012:r",
    )
