"""SQS as memerase writes to it: answers on the reply queues erasure requests name, and malformed requests moved to
the dead-letter queue. Each queue is written through a client of its own region (the region its URL names)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from memerase.errors import RetryableStoreError
from memerase.request_settings import QueueRef

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)


class Queues:
    def __init__(self, region_name: str | None = None, client: Any = None):
        self._region = region_name
        self._clients: dict[str | None, Any] = {} if client is None else {None: client}

    def send(self, queue_url: str, body: str, attributes: dict[str, str] | None = None) -> str:
        """Send one message; its message id. A refusal or an unreachable queue is a RetryableStoreError naming the
        error class, never the body."""
        parsed = QueueRef.parse(queue_url)
        message_attributes = {k: {"DataType": "String", "StringValue": v} for k, v in (attributes or {}).items()}
        fifo: dict[str, str] = {}
        if parsed is not None and parsed.name.endswith(".fifo"):  # one group; a repeated message is sent once
            digest = hashlib.sha256(json.dumps([body, attributes], sort_keys=True).encode()).hexdigest()
            fifo = {"MessageGroupId": "memerase", "MessageDeduplicationId": digest}
        try:
            sent = self._client(parsed.region if parsed else None).send_message(
                QueueUrl=queue_url, MessageBody=body, MessageAttributes=message_attributes, **fifo
            )
        except ClientError as exc:
            raise RetryableStoreError(f"SQS refused the message: {exc.response['Error']['Code']}") from exc
        except BotoCoreError as exc:
            raise RetryableStoreError(f"SQS send_message failed: {type(exc).__name__}") from exc
        return str(sent["MessageId"])

    def _client(self, region: str | None) -> Any:
        if None in self._clients:  # a client given by the caller serves every queue
            return self._clients[None]
        key = region or self._region
        if key not in self._clients:
            self._clients[key] = boto3.client("sqs", region_name=key, config=CLIENT_CONFIG)
        return self._clients[key]
