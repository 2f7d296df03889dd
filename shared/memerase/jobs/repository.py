"""The DynamoDB jobs table: job records, per-item cursors and progress, scope locks, idempotency keys.

One table, keys `pk`/`sk`:
  job#<id> / job               the job record (never its raw scope)
  job#<id> / job#scope         the job's raw scope, while the job can run or be resumed: expires (TTL) a resume
                               window after the job last stopped, is deleted on completion
  job#<id> / part#<item key>   one work item's cursor and counts
  scope#<hash> / lock          the active job of a scope (so a repeated request reuses it)
  key#<hash> / key             an idempotency key's job (the key's keyed hash)

The record and its scope are read together by one Query (`sk` between "job" and "job#scope"; work items sort after).
DynamoDB deletes expired items lazily (within days), so an expired scope is treated as gone when read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import BotoCoreError, ClientError

from memerase import dynamo
from memerase.errors import JobNotFound
from memerase.jobs.models import ItemProgress, JobRecord, JobStatus, WorkItem
from memerase.models import Scope

HOUSEKEEPING_DAYS = 30
RECORD, SCOPE = "job", "job#scope"


def now() -> str:
    return datetime.now(UTC).isoformat()


def expiry(days: int = HOUSEKEEPING_DAYS) -> int:
    """The table's TTL attribute: work item rows, scope locks and idempotency keys are housekeeping and expire;
    job records (with their receipts) do not."""
    return int(datetime.now(UTC).timestamp()) + days * 86_400


def table_schema(table_name: str) -> dict[str, Any]:
    return dynamo.table_schema(table_name, "pk", "sk")


class JobsTable:
    def __init__(
        self,
        table_name: str,
        region_name: str | None = None,
        resource: Any = None,
        resume_window_days: int = HOUSEKEEPING_DAYS,
    ):
        dynamodb = resource or boto3.resource("dynamodb", region_name=region_name, config=dynamo.CLIENT_CONFIG)
        self._table = dynamodb.Table(table_name)
        self.resume_window_days = resume_window_days

    # ---- job records ---------------------------------------------------------------------------------------------

    def create(self, job: JobRecord) -> bool:
        """Write a new job record (and its scope apart); False when the id is taken."""
        if not self._put_new({"pk": f"job#{job.job_id}", "sk": RECORD, **_doc(job)}):
            return False
        self._keep_scope(job)
        return True

    def get(self, job_id: str) -> JobRecord:
        """The record with its scope, if the scope is still kept and not expired (a completed job has none)."""
        condition = Key("pk").eq(f"job#{job_id}") & Key("sk").between(RECORD, SCOPE)
        found = {item["sk"]: item for item in self._query(condition)}
        item = found.get(RECORD)
        if not item:
            raise JobNotFound(f"Job not found: {job_id!r}")
        job = JobRecord.model_validate(_plain(item))
        stored = found.get(SCOPE)
        if job.status == JobStatus.COMPLETED:
            if stored:  # left by a write that raced the completion: gone now
                self._drop_scope(job_id)
            return job.model_copy(update={"scope": None})
        if stored and int(stored.get("expires_at", 0)) > _epoch():
            return job.model_copy(update={"scope": Scope.model_validate(stored["scope"])})
        if job.scope is not None and not _expired(job, self.resume_window_days):
            return job  # a record written before scopes were kept apart
        return job.model_copy(update={"scope": None})

    def save(self, job: JobRecord, expect: tuple[JobStatus, ...] | None = None) -> bool:
        """Overwrite the record; with `expect`, only while its stored status is one of them. The scope is kept
        apart, its expiry pushed back to a resume window from now while the job can still run or be resumed, and
        removed once the job completed (or has no scope any more)."""
        job = job.model_copy(update={"updated_at": now()})
        item = {"pk": f"job#{job.job_id}", "sk": RECORD, **_doc(job)}
        if not self._put(item, Attr("status").is_in([s.value for s in expect]) if expect else None):
            return False
        if job.scope is None or job.status == JobStatus.COMPLETED:
            self._drop_scope(job.job_id)
        else:
            self._keep_scope(job)
        return True

    def _keep_scope(self, job: JobRecord) -> None:
        if job.scope is None:
            return
        item = {
            "pk": f"job#{job.job_id}",
            "sk": SCOPE,
            "scope": job.scope.model_dump(exclude_none=True),
            "expires_at": expiry(self.resume_window_days),
        }
        self._call(self._table.put_item, Item=item)

    def _drop_scope(self, job_id: str) -> None:
        self._call(self._table.delete_item, Key={"pk": f"job#{job_id}", "sk": SCOPE})

    def list_jobs(self, limit: int, before: str | None = None) -> list[JobRecord]:
        """Job records, newest first (by `created_at`): at most `limit`, only those created before `before` when
        given. Reads every page of the table: job records share it with work-item rows, locks and keys."""
        condition = Attr("sk").eq(RECORD) & (Attr("created_at").lt(before) if before else Attr("created_at").exists())
        items = dynamo.items(self._table.scan, "jobs table", **dynamo.expressions(FilterExpression=condition))
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
                Key={"pk": f"scope#{scope_hash}", "sk": "lock"},
                **dynamo.expressions(ConditionExpression=Attr("job_id").eq(job_id)),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise dynamo.translate(exc, "jobs table") from exc

    def claim_key(self, key_digest: str, job_id: str) -> str | None:
        """Bind an idempotency key (its keyed hash: `ScopeHasher.idempotency`) to `job_id`; returns the job it is
        already bound to, if any."""
        item = {"pk": f"key#{key_digest}", "sk": "key", "job_id": job_id, "expires_at": expiry()}
        if self._put_new(item):
            return None
        return str(self._call(self._table.get_item, Key={"pk": item["pk"], "sk": "key"})["Item"]["job_id"])

    # ---- plumbing ------------------------------------------------------------------------------------------------

    def _put_new(self, item: dict[str, Any]) -> bool:
        return self._put(item, Attr("pk").not_exists())

    def _put(self, item: dict[str, Any], condition: ConditionBase | None = None) -> bool:
        """Write an item; with a condition, False (not an error) when the condition does not hold."""
        try:
            self._table.put_item(Item=item, **dynamo.expressions(ConditionExpression=condition))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise dynamo.translate(exc, "jobs table") from exc
        except BotoCoreError as exc:
            raise dynamo.translate(exc, "jobs table") from exc
        return True

    def _query(self, condition: ConditionBase) -> Iterator[dict[str, Any]]:
        return dynamo.items(self._table.query, "jobs table", **dynamo.expressions(KeyConditionExpression=condition))

    def _call(self, method: Any, **kwargs: Any) -> Any:
        return dynamo.call(method, "jobs table", **kwargs)


def _doc(job: JobRecord) -> dict[str, Any]:
    """The record as stored: never the raw scope (kept apart, with its expiry)."""
    return {k: v for k, v in job.model_dump(mode="json", exclude={"scope"}).items() if v is not None}


def _epoch() -> int:
    return int(datetime.now(UTC).timestamp())


def _expired(job: JobRecord, window_days: int) -> bool:
    """Whether a stopped job's resume window has passed (for a record that still holds its scope itself)."""
    if job.status.active or not job.completed_at:
        return False
    stopped = datetime.fromisoformat(job.completed_at).timestamp()
    return stopped + window_days * 86_400 <= _epoch()


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """Numbers back from Decimal, keys dropped."""
    return {k: dynamo.plain(v) for k, v in item.items() if k not in ("pk", "sk", "expires_at")}
