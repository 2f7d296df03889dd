"""The DynamoDB jobs table: job records, per-item cursors and progress, scope locks, idempotency keys.

One table, keys `pk`/`sk`:
  job#<id> / job               the job record
  job#<id> / part#<item key>   one work item's cursor and counts
  scope#<hash> / lock          the active job of a scope (so a repeated request reuses it)
  key#<hash> / key             an idempotency key's job
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import BotoCoreError, ClientError

from memerase import dynamo
from memerase.errors import JobNotFound
from memerase.jobs.models import ItemProgress, JobRecord, JobStatus, WorkItem

HOUSEKEEPING_DAYS = 30


def now() -> str:
    return datetime.now(UTC).isoformat()


def expiry(days: int = HOUSEKEEPING_DAYS) -> int:
    """The table's TTL attribute: work item rows, scope locks and idempotency keys are housekeeping and expire;
    job records (with their receipts) do not."""
    return int(datetime.now(UTC).timestamp()) + days * 86_400


def table_schema(table_name: str) -> dict[str, Any]:
    return dynamo.table_schema(table_name, "pk", "sk")


def key_hash(idempotency_key: str) -> str:
    return hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()


class JobsTable:
    def __init__(self, table_name: str, region_name: str | None = None, resource: Any = None):
        dynamodb = resource or boto3.resource("dynamodb", region_name=region_name, config=dynamo.CLIENT_CONFIG)
        self._table = dynamodb.Table(table_name)

    # ---- job records ---------------------------------------------------------------------------------------------

    def create(self, job: JobRecord) -> bool:
        """Write a new job record; False when the id is taken."""
        return self._put_new({"pk": f"job#{job.job_id}", "sk": "job", **_doc(job)})

    def get(self, job_id: str) -> JobRecord:
        item = self._call(self._table.get_item, Key={"pk": f"job#{job_id}", "sk": "job"}).get("Item")
        if not item:
            raise JobNotFound(f"Job not found: {job_id!r}")
        return JobRecord.model_validate(_plain(item))

    def save(self, job: JobRecord, expect: tuple[JobStatus, ...] | None = None) -> bool:
        """Overwrite the record; with `expect`, only while its stored status is one of them."""
        job = job.model_copy(update={"updated_at": now()})
        item = {"pk": f"job#{job.job_id}", "sk": "job", **_doc(job)}
        return self._put(item, Attr("status").is_in([s.value for s in expect]) if expect else None)

    def list_jobs(self, limit: int, before: str | None = None) -> list[JobRecord]:
        """Job records, newest first (by `created_at`): at most `limit`, only those created before `before` when
        given. Reads every page of the table: job records share it with work-item rows, locks and keys."""
        condition = Attr("sk").eq("job") & (Attr("created_at").lt(before) if before else Attr("created_at").exists())
        items = dynamo.items(self._table.scan, "jobs table", FilterExpression=condition)
        found = [JobRecord.model_validate(_plain(i)) for i in items]
        return sorted(found, key=lambda j: (j.created_at, j.job_id), reverse=True)[: max(limit, 0)]

    # ---- work item progress --------------------------------------------------------------------------------------

    def save_progress(self, job_id: str, progress: ItemProgress) -> None:
        item = {
            "pk": f"job#{job_id}",
            "sk": f"part#{progress.item.key}",
            "expires_at": expiry(),
            **progress.model_dump(mode="json", by_alias=True),
        }
        self._call(self._table.put_item, Item=item)

    def get_progress(self, job_id: str, item: WorkItem) -> ItemProgress | None:
        found = self._call(self._table.get_item, Key={"pk": f"job#{job_id}", "sk": f"part#{item.key}"}).get("Item")
        return ItemProgress.model_validate(_plain(found)) if found else None

    def list_progress(self, job_id: str) -> list[ItemProgress]:
        condition = Key("pk").eq(f"job#{job_id}") & Key("sk").begins_with("part#")
        return [ItemProgress.model_validate(_plain(i)) for i in self._query(condition)]

    # ---- scope locks and idempotency keys ------------------------------------------------------------------------

    def claim_scope(self, scope_hash: str, job_id: str) -> str | None:
        """Make `job_id` the scope's active job; returns the already active job's id instead, if there is one."""
        lock = {"pk": f"scope#{scope_hash}", "sk": "lock", "job_id": job_id, "expires_at": expiry()}
        if self._put_new(lock):
            return None
        holder = self._call(self._table.get_item, Key={"pk": lock["pk"], "sk": "lock"}).get("Item")
        if holder:
            try:
                if self.get(holder["job_id"]).status.active:
                    return str(holder["job_id"])
            except JobNotFound:
                pass
        self._call(self._table.put_item, Item=lock)
        return None

    def release_scope(self, scope_hash: str, job_id: str) -> None:
        try:
            self._table.delete_item(
                Key={"pk": f"scope#{scope_hash}", "sk": "lock"}, ConditionExpression=Attr("job_id").eq(job_id)
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise dynamo.translate(exc, "jobs table") from exc

    def claim_key(self, idempotency_key: str, job_id: str) -> str | None:
        """Bind an idempotency key to `job_id`; returns the job it is already bound to, if any."""
        item = {"pk": f"key#{key_hash(idempotency_key)}", "sk": "key", "job_id": job_id, "expires_at": expiry()}
        if self._put_new(item):
            return None
        return str(self._call(self._table.get_item, Key={"pk": item["pk"], "sk": "key"})["Item"]["job_id"])

    # ---- plumbing ------------------------------------------------------------------------------------------------

    def _put_new(self, item: dict[str, Any]) -> bool:
        return self._put(item, Attr("pk").not_exists())

    def _put(self, item: dict[str, Any], condition: Any = None) -> bool:
        """Write an item; with a condition, False (not an error) when the condition does not hold."""
        try:
            self._table.put_item(Item=item, **({"ConditionExpression": condition} if condition is not None else {}))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise dynamo.translate(exc, "jobs table") from exc
        except BotoCoreError as exc:
            raise dynamo.translate(exc, "jobs table") from exc
        return True

    def _query(self, condition: Any) -> Iterator[dict[str, Any]]:
        return dynamo.items(self._table.query, "jobs table", KeyConditionExpression=condition)

    def _call(self, method: Any, **kwargs: Any) -> Any:
        return dynamo.call(method, "jobs table", **kwargs)


def _doc(job: JobRecord) -> dict[str, Any]:
    return {k: v for k, v in job.model_dump(mode="json").items() if v is not None}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """Numbers back from Decimal, keys dropped."""
    return {k: dynamo.plain(v) for k, v in item.items() if k not in ("pk", "sk", "expires_at")}
