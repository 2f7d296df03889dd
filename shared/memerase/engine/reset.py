"""Reset: wipe and recreate one target's collections, only when enabled and confirmed with the target's name."""

from __future__ import annotations

import time

from memerase.engine.catalog import ENTITIES, MEMORIES, StoreCatalog
from memerase.errors import ResetNotAllowed
from memerase.models import ErasureResult, StoreOutcome
from memerase.observability import logger


class Resetter:
    def __init__(self, catalog: StoreCatalog, allow_reset: bool):
        self._catalog = catalog
        self._allow_reset = allow_reset

    def reset(self, target_name: str, confirm: str | None) -> ErasureResult:
        """Returns, per collection, how many records were removed."""
        if not self._allow_reset:
            raise ResetNotAllowed("reset is disabled: set allow_reset to true in the configuration to enable it")
        target = self._catalog.target(target_name)
        if confirm != target.name:
            raise ResetNotAllowed(f"reset of {target.name!r} needs the confirmation {target.name!r}")
        started = time.monotonic()
        outcomes = []
        collections = [(MEMORIES, target.memories), (ENTITIES, target.entities), *target.graph]
        for role, store in collections:
            if store is not None:
                removed = store.reset()
                outcomes.append(
                    StoreOutcome(target=target.name, store=store.label, role=role, matched=removed, deleted=removed)
                )
        if target.mem0_history is not None:
            removed = target.mem0_history.reset()
            outcomes.append(
                StoreOutcome(target=target.name, store="mem0_history", role="history", matched=removed, deleted=removed)
            )
        logger.warning("target reset", extra={"target": target.name})
        return ErasureResult(operation="reset", stores=outcomes, duration_ms=int((time.monotonic() - started) * 1000))
