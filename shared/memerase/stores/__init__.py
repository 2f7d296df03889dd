"""Store adapters: one narrow interface (list matching ids -> delete batch -> count remaining)."""
