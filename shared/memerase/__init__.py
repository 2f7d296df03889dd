"""memerase: erase mem0 memories from the stores mem0 writes them to, in scope and provably."""

__version__ = "0.1.0"
