"""One lock around a method of a library that is not thread-safe, where the local tools run handlers on threads of
one process (a Lambda process runs one invocation at a time). Used by the stand-in corrections (never deployed)."""

from __future__ import annotations

import functools
import threading
from typing import Any


def serialise(owner: type, name: str, lock: threading.RLock) -> None:
    """Make `owner.name` run under `lock` (idempotent: a second call changes nothing). The method as the library has
    it stays reachable as its `__wrapped__`; the patched one says `one_at_a_time`."""
    method = getattr(owner, name)
    if getattr(method, "one_at_a_time", False):
        return

    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)

    locked.one_at_a_time = True  # type: ignore[attr-defined]
    setattr(owner, name, locked)
