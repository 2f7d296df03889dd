"""Routers, one per Lambda function that owns them (as template.yaml maps them)."""
