"""Admin routes: reset (off unless enabled, admin key, explicit confirmation)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import Router

from memerase import runtime
from memerase.api.request import audit, caller
from memerase.api.responses import COMMON, ok
from memerase.api.schemas import ResetDone, ResetRequest, StoreCount

router = Router()


@router.post("/v1/reset", summary="Wipe and recreate one target's collections", responses=ok(*COMMON))
def reset(body: ResetRequest) -> ResetDone:
    principal = caller(router)
    principal.require_admin()
    result = runtime.eraser().reset(body.target, body.confirm)
    audit(router, principal, "reset", target=body.target, deleted=result.deleted)
    return ResetDone(
        message=f"target {body.target} reset",
        target=body.target,
        stores=[StoreCount(**s.model_dump()) for s in result.stores],
    )
