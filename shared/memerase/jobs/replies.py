"""The answer to an SQS erasure request that named a `reply_to` queue: sent when its job ends (COMPLETED with the
receipt, FAILED or CANCELLED with the error name only), with the request id and the job id, never raw ids or text.

Sending it is one of the effects of a job's end (`JobLifecycle`), so every end of a job answers every request
mapped onto it, whether the job ran in Step Functions (Finalize Job, Record Failure), in-process or was cancelled. A
reply that cannot be sent is logged and counted (`ErasureRepliesFailed`); the job's outcome never changes for it."""

from __future__ import annotations

import json
from typing import Any

from memerase.jobs.events import CANCELLED, COMPLETED, FAILED
from memerase.jobs.models import JobRecord, JobStatus, ReplyTo
from memerase.jobs.queues import Queues
from memerase.observability import count, logger

DETAIL_TYPES = {JobStatus.COMPLETED: COMPLETED, JobStatus.FAILED: FAILED, JobStatus.CANCELLED: CANCELLED}


def reply_body(job: JobRecord, reply: ReplyTo) -> dict[str, Any]:
    """What the reply queue receives: the request id, the job id, the outcome; the receipt or the error name."""
    body: dict[str, Any] = {
        "type": DETAIL_TYPES.get(job.status, job.status.value),
        "request_id": reply.request_id,
        "job_id": job.job_id,
        "status": job.status.value,
    }
    if job.status == JobStatus.COMPLETED and job.receipt is not None:
        body["receipt"] = job.receipt.model_dump(mode="json")
    elif job.status == JobStatus.FAILED:
        body["error"] = job.error.error if job.error else "Error"
    elif job.status == JobStatus.CANCELLED:
        body["error"] = "Cancelled"
    return body


class JobReplies:
    def __init__(self, queues: Queues):
        self._queues = queues

    def send(self, job: JobRecord, reply: ReplyTo) -> bool:
        body = json.dumps(reply_body(job, reply), separators=(",", ":"))
        try:
            self._queues.send(reply.queue_url, body, {"memerase-status": job.status.value})
        except Exception as exc:  # the job ended as it did whatever happens here
            logger.warning("erasure reply not sent", extra={"job_id": job.job_id, "error": type(exc).__name__})
            count("ErasureRepliesFailed", 1)
            return False
        logger.info("erasure reply sent", extra={"job_id": job.job_id, "status": job.status.value})
        count("ErasureRepliesSent", 1)
        return True
