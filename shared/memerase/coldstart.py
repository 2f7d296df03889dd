"""A function's cold import with Python's cyclic garbage collector paused, boto3 included.

A cold import leaves about a hundred thousand objects (modules, classes, functions, pydantic's schemas) that live
as long as the process. The collector runs over a hundred times while they load and frees next to nothing: about 4 %
of a cold import's instructions (counted under valgrind; `bench/README.md`). Every function calls AWS
on its first call, so boto3 loads here too, inside the pause, rather than in that call with the collector running.

On a clean exit everything loaded so far is frozen (`gc.freeze`: moved to the permanent generation, which later
collections never traverse), then the collector resumes. It always resumes, even if the import failed; it is never
turned on by this when it was off before.

In a process that imports handlers later on (`memerase serve` loads each on its first request; some tests import
them), each first import freezes what that process holds at that moment: it is never collected afterwards, which costs
at most one heap's worth of cyclic garbage per handler module; a module already imported is not loaded again.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cold_import() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        import boto3  # noqa: F401  (every function's first call needs it)

        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()
