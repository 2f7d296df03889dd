"""Local development helpers: embedded stand-ins and the demo. Never deployed (not part of the Lambda layer)."""
