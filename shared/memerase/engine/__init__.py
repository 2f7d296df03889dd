"""The deletion engine: single delete, filtered bulk delete, reset. It knows stores only by their roles."""

from memerase.engine.eraser import ENTITIES, MEMORIES, Eraser, StoreRef, validate_memory_id
from memerase.engine.progress import PartitionProgress, RunHooks

__all__ = ["ENTITIES", "MEMORIES", "Eraser", "PartitionProgress", "RunHooks", "StoreRef", "validate_memory_id"]
