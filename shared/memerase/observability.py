"""One set of observability objects for the whole library, and the one way ids reach a log line."""

from __future__ import annotations

import hashlib

from aws_lambda_powertools import Logger

logger = Logger(service="memerase")


def fingerprint(value: str) -> str:
    """A short, stable stand-in for a raw id in logs. Unsalted: it hides an id from a reader of the logs, but
    whoever can guess an id can confirm it by hashing it."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]
