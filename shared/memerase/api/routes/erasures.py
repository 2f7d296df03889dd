"""Bulk routes: mem0's filtered delete, batch delete and entity deletes, and memerase's erasure jobs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.event_handler.router import Router

from memerase import runtime
from memerase.api.request import ENCODED_ID_LENGTH, absolute_url, audit, base_path, caller, path_value
from memerase.api.responses import COMMON, accepted, errors, ok
from memerase.api.schemas import (
    EVENT_STATUS,
    MAX_BATCH,
    BatchDelete,
    Entity,
    EntityList,
    ErasureRequest,
    Event,
    JobAccepted,
    JobView,
    MemoryDeleted,
    ScopeHash,
    ScopeHashRequest,
)
from memerase.api.store_labels import store_counts
from memerase.criteria import requested_days
from memerase.erasure_reason import Justification
from memerase.errors import Forbidden, InvalidRequest, PayloadTooLarge
from memerase.models import Scope
from memerase.observability import count
from memerase.principal import Principal

if TYPE_CHECKING:  # the job machinery loads when a route first asks the runtime for the job intake
    from memerase.jobs.models import ErasureSpec, JobRecord

router = Router()
ENTITY_TYPES = {"user": "user_id", "agent": "agent_id", "run": "run_id"}
JOB_ERRORS = errors(*COMMON, 409, s404="unknown job")
JOB_OK = ok(*COMMON, 409, s404="unknown job")
IdParam = Annotated[str | None, Query(max_length=1024)]


def _start(
    principal: Principal,
    what: Scope | ErasureSpec,
    *,
    reason: Justification | None = None,
    dry_run: bool = False,
    key: str | None = None,
    source: str = "api",
) -> tuple[JobRecord, bool]:
    """The job the request maps to, and whether it was created now. A criterion never widens a key's scope: the
    spec's scope must lie within the key's, and a spec without filters (criteria across every scope) is for admin
    keys only."""
    from memerase.jobs.models import ErasureSpec  # noqa: PLC0415 (the job machinery loads on first use)

    spec = what if isinstance(what, ErasureSpec) else ErasureSpec(scope=what)
    if not spec.scope.filters():
        principal.require_admin()
    principal.require(spec.scope)
    job, created = runtime.intake().start(
        spec, requester=principal.key_id, source=source, reason=reason, idempotency_key=key, dry_run=dry_run
    )
    audit(router, principal, "start_job", job_id=job.job_id, new_job=created, dry_run=dry_run)
    return job, created


def _only_filters() -> None:
    """Refuse what would silently widen a filtered delete: a parameter that is not one of mem0's filters (app_id,
    a typo, metadata) would otherwise be ignored, and a repeated filter would be reduced to one of its values."""
    raw = router.current_event.raw_event
    multi: dict[str, list[str]] = raw.get("multiValueQueryStringParameters") or {}
    single: dict[str, str] = raw.get("queryStringParameters") or {}
    names = set(multi) | set(single)
    unknown = sorted(names - set(ENTITY_TYPES.values()))
    if unknown:
        raise InvalidRequest(
            f"unsupported filter(s): {', '.join(unknown)}; memerase erases by user_id, agent_id and run_id only"
        )
    repeated = sorted(name for name, values in multi.items() if len(values) > 1)
    if repeated:
        raise InvalidRequest(f"filter(s) given more than once: {', '.join(repeated)}")


def _accepted(started: tuple[JobRecord, bool], message: str) -> Response[JobAccepted]:
    """202 with the job, and what this request did: started it (then `message`, mem0's own for its routes), resumed
    a FAILED (or stalled) one, or found one running; never "deleted" for a job that is not new."""
    job, created = started
    if job.resumed:
        message = f"The erasure of these memories had failed; job {job.job_id} was resumed"
    elif not created and job.status.active:
        message = f"Job {job.job_id} is already erasing these memories"
    elif not created:
        message = f"Job {job.job_id} already handled this request"
    body = JobAccepted(
        message=message,
        job_id=job.job_id,
        event_id=job.job_id,
        status=job.status.value,
        status_url=f"{base_path(router)}/v1/erasures/{job.job_id}",
    )
    return Response(status_code=202, content_type="application/json", body=body)


@router.delete(
    "/v1/memories/",
    summary="Delete all memories matching the filters (starts or reuses a job)",
    responses={**JOB_ERRORS, **accepted("job started or reused")},
)
def delete_all(
    user_id: IdParam = None, agent_id: IdParam = None, run_id: IdParam = None, app_id: IdParam = None
) -> Response[JobAccepted]:
    _only_filters()
    scope = Scope.of(user_id=user_id, agent_id=agent_id, run_id=run_id)
    return _accepted(_start(caller(router), scope), "Memories deleted successfully!")


@router.delete(
    "/v1/batch/",
    summary=f"Delete up to {MAX_BATCH} memories by id (all or nothing)",
    responses=ok(*COMMON, 413),
)
def batch_delete(body: BatchDelete) -> MemoryDeleted:
    if len(body.memories) > MAX_BATCH:
        raise PayloadTooLarge(f"at most {MAX_BATCH} memories per batch; got {len(body.memories)}")
    principal = caller(router)
    distinct = list(dict.fromkeys(m.memory_id for m in body.memories))  # an id given twice is one memory
    result = runtime.eraser().delete_memories(distinct, allowed=principal.memory_scopes, actor=principal.key_id)
    count("MemoriesErased", result.deleted)
    audit(router, principal, "batch_delete", memories=result.memories, deleted=result.deleted)
    return MemoryDeleted(
        message=f"Successfully deleted {len(distinct)} memories",
        deleted=result.deleted,
        stores=store_counts(result.stores, principal),  # labels for admin keys only
    )


@router.get(
    "/v1/entities/",
    summary="Users, agents and runs that have memories (within the key's scope), a bounded slice of the stores per "
    "page: follow `next`; an entity whose memories span pages is listed on each with that page's count",
    responses=ok(*COMMON),
)
def entities(cursor: Annotated[str | None, Query(max_length=4096)] = None) -> EntityList:
    principal = caller(router)
    page = runtime.eraser().entities(cursor)
    found = []
    for key, counts in page.counts.items():
        kind = key.removesuffix("_id")
        for name, total in sorted(counts.items()):
            if principal.allows_filters({key: name}):
                found.append(Entity(id=name, name=name, type=kind, total_memories=total))
    following = absolute_url(router, f"/v1/entities/?cursor={page.cursor}") if page.cursor else None
    return EntityList(count=len(found), next=following, results=found)


@router.delete(
    "/v2/entities/<entity_type>/<entity_id>/",
    summary="Delete an entity's memories (starts a job)",
    responses={**JOB_ERRORS, **accepted("job started or reused")},
)
def delete_entity(
    entity_type: Annotated[Literal["user", "agent", "run"], Path()],
    entity_id: Annotated[str, Path(min_length=1, max_length=ENCODED_ID_LENGTH)],
) -> Response[JobAccepted]:
    entity_id = path_value(entity_id)
    started = _start(caller(router), Scope.of(**{ENTITY_TYPES[entity_type]: entity_id}))
    return _accepted(started, "Entity deleted successfully.")


@router.get(
    "/v1/event/<event_id>/",
    summary="An erasure job as one of mem0's platform events (mem0's statuses)",
    responses=ok(*COMMON, s404="unknown event"),
)
def get_event(event_id: Annotated[str, Path(min_length=1, max_length=80)]) -> Event:
    job = _visible(event_id)
    return Event(
        id=job.job_id,
        status=EVENT_STATUS.get(job.status.value, "RUNNING" if job.status.active else "FAILED"),
        metadata={
            "job_status": job.status.value,
            "summary": job.summary(),
            "memories_erased": job.memories_erased,
            "records_erased": job.records_erased,
            "status_url": f"{base_path(router)}/v1/erasures/{job.job_id}",
        },
        created_at=job.created_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        completed_at=job.completed_at,
        latency=_milliseconds(job.started_at, job.completed_at),
    )


def _milliseconds(start: str | None, end: str | None) -> float | None:
    if not (start and end):
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() * 1000


@router.post("/v1/erasures", summary="Start an erasure job", responses={**JOB_ERRORS, **accepted("queued")})
def start_erasure(
    body: ErasureRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=256)] = None,
) -> Response[JobAccepted]:
    from memerase.jobs.models import ErasureSpec  # noqa: PLC0415 (the job machinery loads on first use)

    spec = ErasureSpec.of(
        requested_days(body.older_than_days, body.expired),
        user_id=body.user_id,
        agent_id=body.agent_id,
        run_id=body.run_id,
    )
    why = Justification(code=body.reason, reference=body.reference)
    started = _start(caller(router), spec, reason=why, dry_run=body.dry_run, key=idempotency_key)
    return _accepted(started, "Erasure accepted")


@router.post(
    "/v1/erasures/scope-hash",
    summary="The keyed hash of a scope, to match it against receipts, events and job records",
    responses=ok(*COMMON),
)
def scope_hash(body: ScopeHashRequest) -> ScopeHash:
    scope = Scope.of(user_id=body.user_id, agent_id=body.agent_id, run_id=body.run_id)
    caller(router).require(scope)  # an admin key, or a key whose scope covers these filters
    return ScopeHash(scope_hash=runtime.hasher().scope(scope))


@router.get("/v1/erasures/<job_id>", summary="An erasure job's status, progress and receipt", responses=JOB_OK)
def get_erasure(job_id: Annotated[str, Path(min_length=1, max_length=80)]) -> JobView:
    return JobView(**_visible(job_id).public())


@router.post("/v1/erasures/<job_id>/cancel", summary="Cancel an erasure job", responses=JOB_OK)
def cancel_erasure(job_id: Annotated[str, Path(min_length=1, max_length=80)]) -> JobView:
    job = _visible(job_id)
    cancelled = runtime.intake().cancel(job.job_id)
    audit(router, caller(router), "cancel_job", job_id=job.job_id)
    return JobView(**cancelled.public())


@router.post(
    "/v1/erasures/<job_id>/resume",
    summary="Resume a cancelled or failed erasure job from where it stopped",
    responses={
        **JOB_ERRORS,
        202: {
            "description": "resumed: queued again (without Step Functions: run to its end)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobView"}}},
        },
    },
)
def resume_erasure(job_id: Annotated[str, Path(min_length=1, max_length=80)]) -> Response[JobView]:
    job = _visible(job_id)
    resumed = runtime.intake().resume(job.job_id)
    audit(router, caller(router), "resume_job", job_id=job.job_id)
    return Response(status_code=202, content_type="application/json", body=JobView(**resumed.public()))


def _visible(job_id: str) -> JobRecord:
    job_id = path_value(job_id)
    principal = caller(router)
    job = runtime.intake().get(job_id)
    if not principal.admin and not job.may_read(principal.key_id):
        raise Forbidden("This job was started by another API key")
    return job
