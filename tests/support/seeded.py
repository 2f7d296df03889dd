"""mem0's memories written into both stores, and the oracle the tests compare the stores with: the part the tests'
`World` fixtures share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.support import mem0_data as m0
from tests.support.readback import Snapshot


@dataclass
class Seeded:
    """`data`, written by mem0's own S3Vectors (`s3`) and OpenSearchDB (`os_`) into their default collections."""

    data: list[m0.Memory]
    s3: Any  # mem0's S3Vectors
    os_: Any  # mem0's OpenSearchDB

    @classmethod
    def write(cls, osmem_url: str, data: list[m0.Memory]) -> Seeded:
        return cls(data, *m0.seed(osmem_url, data))

    def contents(self) -> tuple[Snapshot, Snapshot]:
        """What S3 Vectors and OpenSearch hold now, read back directly."""
        return m0.s3_contents(self.s3), m0.opensearch_contents(self.os_)

    def everything(self) -> Snapshot:
        return {m.id: m.payload for m in self.data}

    def of(self, user_id: str) -> list[m0.Memory]:
        return [m for m in self.data if m.payload["user_id"] == user_id]

    def without(self, predicate: Callable[[m0.Memory], bool]) -> Snapshot:
        """Every memory written but those `predicate` picks: what the stores should hold after erasing them."""
        return {m.id: m.payload for m in self.data if not predicate(m)}
