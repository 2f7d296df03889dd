"""moto's DynamoDB `TransactWriteItems`, each table snapshotted once per transaction instead of once per action.

moto 5.2.5 keeps a copy of a table for its rollback, and takes it again for every action of the transaction that
names the table: 100 deep copies of the whole history table for one transaction of 100 audit events, so the cost of
one write grows with everything the table already holds (seconds per transaction at a few thousand rows). The copies
are all taken before the first action runs, so they are identical: keeping the first and reusing it changes nothing
in what moto answers or rolls back. Used by the local stand-ins, the tests and the benchmarks (never deployed).

moto's server also serves requests on several threads without a lock, and a table copied while another
transaction writes it fails with "dictionary changed size during iteration" (a 500 the real service never sends):
transactions are run one at a time. Real DynamoDB runs them side by side and cancels one that touches an item
another is writing (`TransactionConflict`); memerase's retry of that is tested with injected cancellations.
"""

from __future__ import annotations

import copy
import threading
import types
import warnings
from typing import Any

from moto.dynamodb import models
from moto.dynamodb.models.table import Table

_within = threading.local()  # the snapshots of the transaction this thread is running, by id of the table
_one_at_a_time = threading.Lock()


class _CopyModule(types.ModuleType):
    """What `moto.dynamodb.models` sees as `copy`: the standard module, except that inside a transaction a table is
    deep-copied once."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(obj: Any, memo: dict[int, Any] | None = None) -> Any:
        snapshots: dict[int, tuple[Any, Any]] | None = getattr(_within, "snapshots", None)
        if snapshots is None or not isinstance(obj, Table):
            return copy.deepcopy(obj, memo)
        if id(obj) not in snapshots:
            snapshots[id(obj)] = (obj, copy.deepcopy(obj, memo))  # the table itself is held: its id stays its own
        return snapshots[id(obj)][1]


def snapshot_each_table_once() -> None:
    """Patch moto's DynamoDB backend (idempotent: a second call changes nothing)."""
    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, "snapshots_once", False):
        return
    if models.copy is not copy:  # a moto that no longer copies tables this way: leave it as it is (slower, not wrong)
        warnings.warn("moto.dynamodb.models no longer imports copy: transactions left unpatched", stacklevel=2)
        return
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _one_at_a_time:
            _within.snapshots = {}
            try:
                original(self, transact_items)
            finally:
                _within.snapshots = None

    transact_write_items.snapshots_once = True  # type: ignore[attr-defined]
    models.copy = _CopyModule("copy")  # type: ignore[assignment]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
