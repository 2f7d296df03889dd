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

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import BotoCoreError, ClientError

from memerase import dynamo
from memerase.errors import JobNotFound, RetryableStoreError
from memerase.jobs.models import ItemProgress, JobRecord, JobStatus, WorkItem
from memerase.models import Scope

HOUSEKEEPING_DAYS = 30
START_WINDOW_SECONDS = 60  # a lock whose job record is not written after this long belongs to a start that died
RECORD, SCOPE = "job", "job#scope"


def now() -> str:
    return datetime.now(UTC).isoformat()


def expiry(days: int = HOUSEKEEPING_DAYS) -> int:
    """The table's TTL attribute: work item rows, scope locks and idempotency keys are housekeeping and expire;
    job records (with their receipts) do not."""
    return int(datetime.now(UTC).timestamp()) + days * 86_400


def table_schema(table_name: str) -> dict[str, Any]:
    return dynamo.table_schema(table_name, "pk", "sk")


def holds_lock(job: JobRecord) -> bool:
    """A job keeps its scope's lock while it is active, and while it FAILED and can be resumed (so that the same
    request again resumes it)."""
    return job.status.active or (job.status == JobStatus.FAILED and job.scope is not None)


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
        """Overwrite the record; with `expect`, only while its stored status is one of them; its scope kept apart
        (see `place_scope`)."""
        job = job.model_copy(update={"updated_at": now()})
        item = {"pk": f"job#{job.job_id}", "sk": RECORD, **_doc(job)}
        if not self._put(item, Attr("status").is_in([s.value for s in expect]) if expect else None):
            return False
        self.place_scope(job)
        return True

    def place_scope(self, job: JobRecord) -> None:
        """The job's raw scope, kept apart: its expiry pushed back to a resume window from now while the job can still
        run or be resumed, removed once the job completed (or has no scope any more)."""
        if job.scope is None or job.status == JobStatus.COMPLETED:
            self._drop_scope(job.job_id)
        else:
            self._keep_scope(job)

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
        self._call(self._table.put_item, Item=self._progress_item(job_id, progress))

    def claim_batch(self, job_id: str, progress: ItemProgress, execution: str | None = None) -> bool:
        """Write a work item's row (its pending batch and claim) on condition, in the same transaction, that the job
        is RUNNING (and, given `execution`, run by it): False when it is not. A cancel or failure written before this
        transaction makes it fail; one written after it finds the claim in the row (see `JobLifecycle`)."""
        running = "#status = :running"
        values: dict[str, Any] = {":running": JobStatus.RUNNING.value}
        if execution is not None:
            running += " AND (attribute_not_exists(execution_arn) OR execution_arn = :execution)"
            values[":execution"] = execution
        check = {
            "TableName": self._table.name,
            "Key": {"pk": f"job#{job_id}", "sk": RECORD},
            "ConditionExpression": running,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": values,
        }
        put = {"TableName": self._table.name, "Item": self._progress_item(job_id, progress)}
        items: list[Any] = [{"ConditionCheck": check}, {"Put": put}]
        return self._conditional(self._table.meta.client.transact_write_items, TransactItems=items)

    def update_fields(self, job_id: str, fields: dict[str, Any], expect: tuple[JobStatus, ...]) -> bool:
        """Set `fields` of the record (None removes one) while its status is one of `expect`: bookkeeping, or, with
        `status` among the fields, a transition (only `JobLifecycle` makes those)."""
        update = dynamo.update_expression({**fields, "updated_at": now()})
        update["ExpressionAttributeNames"]["#status"] = "status"
        update["ExpressionAttributeValues"].update({f":s{i}": s.value for i, s in enumerate(expect)})
        return self._conditional(
            self._table.update_item,
            Key={"pk": f"job#{job_id}", "sk": RECORD},
            ConditionExpression=f"#status IN ({', '.join(f':s{i}' for i in range(len(expect)))})",
            **update,
        )

    def _progress_item(self, job_id: str, progress: ItemProgress) -> dict[str, Any]:
        row = progress.model_copy(update={"at": now()}).model_dump(mode="json", by_alias=True, exclude_none=True)
        return {"pk": f"job#{job_id}", "sk": f"part#{progress.item.key}", "expires_at": expiry(), **row}

    def get_progress(self, job_id: str, item: WorkItem) -> ItemProgress | None:
        found = self._call(self._table.get_item, Key={"pk": f"job#{job_id}", "sk": f"part#{item.key}"}).get("Item")
        return ItemProgress.model_validate(_plain(found)) if found else None

    def list_progress(self, job_id: str) -> list[ItemProgress]:
        """Every work item row of the job, read consistently (a claim written just before is seen)."""
        condition = Key("pk").eq(f"job#{job_id}") & Key("sk").begins_with("part#")
        return [ItemProgress.model_validate(_plain(i)) for i in self._query(condition)]

    # ---- scope locks and idempotency keys ------------------------------------------------------------------------

    def claim_scope(self, lock_key: str, job_id: str, keeps: Callable[[JobRecord], bool] = holds_lock) -> str | None:
        """Make `job_id` the lock's holder; returns the holder's id instead while it holds the lock: `keeps(its job)`
        (by default: active, or FAILED and resumable), or its record is not written yet (a start in progress). A lock
        whose holder ended (or never came to be) is taken over by a conditional write naming that holder, so of two
        concurrent starts exactly one takes it."""
        key = {"pk": f"scope#{lock_key}", "sk": "lock"}
        for _ in range(5):
            lock = {**key, "job_id": job_id, "claimed_at": _epoch(), "expires_at": expiry()}
            if self._put_new(lock):
                return None
            holder = self._call(self._table.get_item, Key=key, ConsistentRead=True).get("Item")
            if not holder:
                continue  # released meanwhile: claim it anew
            held_by = str(holder["job_id"])
            if held_by == job_id or self._holds(held_by, int(holder.get("claimed_at", 0)), keeps):
                return held_by
            if self._put(lock, Attr("job_id").eq(held_by)):
                return None
        raise RetryableStoreError("jobs table: the scope lock changed hands too often; try again")

    def _holds(self, job_id: str, claimed_at: int, keeps: Callable[[JobRecord], bool]) -> bool:
        try:
            job = self.get(job_id)
        except JobNotFound:  # being started (its record follows its lock within seconds), or a start that died
            return _epoch() - claimed_at < START_WINDOW_SECONDS
        return keeps(job)

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
        return self._conditional(self._table.put_item, Item=item, **dynamo.expressions(ConditionExpression=condition))

    def _conditional(self, method: Any, **kwargs: Any) -> bool:
        """One conditional write, or a transaction: False (not an error) when a condition does not hold."""
        try:
            method(**kwargs)
        except ClientError as exc:
            refused = "ConditionalCheckFailed" in dynamo.cancellation_reasons(exc)
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException" or refused:
                return False
            raise dynamo.translate(exc, "jobs table") from exc
        except BotoCoreError as exc:
            raise dynamo.translate(exc, "jobs table") from exc
        return True

    def _query(self, condition: ConditionBase) -> Iterator[dict[str, Any]]:
        request = dynamo.expressions(KeyConditionExpression=condition)
        return dynamo.items(self._table.query, "jobs table", ConsistentRead=True, **request)

    def _call(self, method: Any, **kwargs: Any) -> Any:
        return dynamo.call(method, "jobs table", **kwargs)


def _doc(job: JobRecord) -> dict[str, Any]:
    """The record as stored: never the raw scope (kept apart, with its expiry)."""
    stored = job.model_dump(mode="json", by_alias=True, exclude={"scope", "stalled", "last_activity", "resumed"})
    return {k: v for k, v in stored.items() if v is not None}


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
