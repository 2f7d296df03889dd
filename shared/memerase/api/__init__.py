"""The HTTP API: mem0-compatible deletion endpoints plus memerase's own erasure jobs, on Powertools' resolver."""
