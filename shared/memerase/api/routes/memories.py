"""Single-memory routes (mem0-compatible): the client handshake, delete one memory, its history."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import Router

from memerase import runtime
from memerase.api.request import ENCODED_ID_LENGTH, audit, caller, path_value
from memerase.api.responses import COMMON, ok
from memerase.api.schemas import HistoryRow, MemoryDeleted, Ping
from memerase.api.store_labels import store_counts
from memerase.observability import count

router = Router()
ERRORS = ok(*COMMON)
MemoryId = Annotated[
    str, Path(min_length=1, max_length=ENCODED_ID_LENGTH, description="mem0 memory id (at most 1024 characters)")
]


@router.get("/v1/ping/", summary="mem0 client handshake", responses=ok(401))
def ping() -> Ping:
    caller(router)
    return Ping(org_id="memerase", project_id="memerase")


@router.delete("/v1/memories/<memory_id>/", summary="Delete one memory from every store", responses=ERRORS)
def delete_memory(memory_id: MemoryId) -> MemoryDeleted:
    memory_id = path_value(memory_id)
    principal = caller(router)
    result = runtime.eraser().delete_memory(memory_id, allowed=principal.memory_scopes, actor=principal.key_id)
    count("MemoriesErased", result.deleted)
    audit(router, principal, "delete_memory", memories=result.memories, deleted=result.deleted)
    return MemoryDeleted(deleted=result.deleted, stores=store_counts(result.stores, principal))


@router.get(
    "/v1/memories/<memory_id>/history/", summary="A memory's history (content-free after erasure)", responses=ERRORS
)
def history(memory_id: MemoryId) -> list[HistoryRow]:
    principal = caller(router)
    rows = runtime.eraser().history(path_value(memory_id), allowed=principal.memory_scopes)
    return [HistoryRow(**row) for row in rows]
