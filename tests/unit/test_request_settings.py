"""The `requests` section: reply queues allowed by URL or ARN, matched whichever way a request names them."""

from __future__ import annotations

import pytest

from memerase.errors import ConfigError
from memerase.request_settings import QueueRef, RequestsConfig
from memerase.settings import parse_settings

ARN = "arn:aws:sqs:eu-west-1:123456789012:crm-replies"
URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/crm-replies"
TARGETS = [{"name": "s3", "vector_store": {"provider": "s3_vectors", "config": {"vector_bucket_name": "mem0-prod"}}}]


@pytest.mark.parametrize(
    ("named", "expected"),
    [
        (ARN, QueueRef("123456789012", "crm-replies", "eu-west-1", URL)),
        (URL, QueueRef("123456789012", "crm-replies", "eu-west-1", URL)),
        (
            "https://eu-west-1.queue.amazonaws.com/123456789012/crm-replies",
            QueueRef(
                "123456789012",
                "crm-replies",
                "eu-west-1",
                "https://eu-west-1.queue.amazonaws.com/123456789012/crm-replies",
            ),
        ),
        (
            "arn:aws-cn:sqs:cn-north-1:123456789012:r.fifo",
            QueueRef(
                "123456789012", "r.fifo", "cn-north-1", "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/r.fifo"
            ),
        ),
        (
            "http://127.0.0.1:5000/123456789012/crm-replies",
            QueueRef("123456789012", "crm-replies", None, "http://127.0.0.1:5000/123456789012/crm-replies"),
        ),
        ("crm-replies", None),
        ("arn:aws:sns:eu-west-1:123456789012:crm-replies", None),
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/crm replies", None),
        ("https://example.com/123456789012/crm-replies/../other", None),
    ],
)
def test_a_queue_is_read_from_its_url_or_arn_and_anything_else_is_not_a_queue(
    named: str, expected: QueueRef | None
) -> None:
    # Given a queue named by URL or ARN (or something else)
    # When it is parsed
    parsed = QueueRef.parse(named)
    # Then its account, name, region and sending URL are read, or it is not a queue
    assert parsed == expected


def test_a_reply_queue_is_allowed_by_url_or_arn_and_nothing_else_is() -> None:
    # Given a configuration that allows one reply queue, by ARN
    config = RequestsConfig(reply_queues=[ARN])
    # When requests name queues
    # Then the same queue is allowed however it is named, and sent to at its URL
    assert config.allowed_reply(ARN) == config.allowed_reply(URL) == QueueRef.parse(URL)
    # And another account's, region's or name's queue, or something that is no queue, is not
    for other in (
        "arn:aws:sqs:eu-west-1:210987654321:crm-replies",
        "arn:aws:sqs:us-east-1:123456789012:crm-replies",
        "arn:aws:sqs:eu-west-1:123456789012:crm-replies-2",
        "crm-replies",
        "",
    ):
        assert config.allowed_reply(other) is None, other


def test_no_reply_queue_is_allowed_by_default() -> None:
    # Given a configuration without a requests section
    settings = parse_settings({"targets": TARGETS})
    # When a request names a queue
    # Then it is not allowed, and there is no dead-letter queue of memerase's own
    assert settings.requests.allowed_reply(ARN) is None and settings.requests.dead_letter_queue_url is None


def test_a_reply_queue_entry_that_is_not_a_queue_is_refused_naming_the_key() -> None:
    # Given a requests section listing a queue name instead of its URL or ARN
    raw = {"targets": TARGETS, "requests": {"reply_queues": [ARN, "crm-replies"]}}
    # When the configuration is read
    # Then it is refused, naming the key and the entry
    with pytest.raises(ConfigError, match=r"requests\.reply_queues: .*'crm-replies' is not an SQS queue URL or ARN"):
        parse_settings(raw)
