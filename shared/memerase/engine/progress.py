"""Where one partition of one store stands, and the hooks a run of the page loop reports through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

ProgressCallback = Callable[[str, int, int], None]  # (store label, scanned so far, deleted so far)


class PartitionProgress(BaseModel):
    """One partition's cursor and counts; `cursor` None with `done` True means finished. A job's work item record
    (`jobs.models.ItemProgress`) is this plus its item, so the job persists exactly what the engine tracks."""

    model_config = ConfigDict(hide_input_in_errors=True)

    cursor: str | None = None
    done: bool = False
    scanned: int = 0
    matched: int = 0
    deleted: int = 0
    unreadable: int = Field(0, description="records in scope a criterion could not decide, kept (this pass)")
    pending: list[tuple[str, str]] = Field(
        default_factory=list,
        description="the batch being deleted: (native id, memory id) pairs, no user ids; empty between batches",
    )
    skipped: int = Field(
        0,
        description="records of a resumed pending batch left alone: read again, they no longer matched the scope",
    )


def _never() -> bool:
    return False


def _ignore_state(_state: PartitionProgress) -> None:
    return None


def _ignore_progress(_label: str, _scanned: int, _deleted: int) -> None:
    return None


def _ignore_ids(_memory_ids: list[str]) -> None:
    return None


def _always() -> bool:
    return True


def _record(state: PartitionProgress) -> bool:
    return True


@dataclass(frozen=True)
class RunHooks:
    """What a partition run asks of its caller, with no-op defaults: an inline erasure needs none of them, a job
    worker all of them."""

    out_of_time: Callable[[], bool] = _never
    cancelled: Callable[[], bool] = _never
    checkpoint: Callable[[PartitionProgress], None] = _ignore_state
    # Before a batch is erased: record it as `pending` (not counted) and claim it; False when the caller no longer
    # runs (a cancelled job): nothing of the batch is then sent. `may_send` is asked right before the delete request:
    # False when the claim lapsed, which is then claimed again (or the run stops).
    claim: Callable[[PartitionProgress], bool] = _record
    may_send: Callable[[], bool] = _always
    progress: ProgressCallback = _ignore_progress
    erased: Callable[[list[str]], None] = _ignore_ids  # memory ids just erased from a memories collection
    actor: str | None = None  # who erases (an API key's id, a trigger's name): the audit rows' `actor_id`
