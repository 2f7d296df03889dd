"""The deletion engine: single delete, filtered bulk delete, reset. It knows stores only by their roles."""

from memerase.engine.by_id import validate_memory_id
from memerase.engine.catalog import ENTITIES, MEMORIES, StoreRef
from memerase.engine.eraser import Eraser
from memerase.engine.progress import PartitionProgress, RunHooks

__all__ = ["ENTITIES", "MEMORIES", "Eraser", "PartitionProgress", "RunHooks", "StoreRef", "validate_memory_id"]
