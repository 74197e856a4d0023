"""Operator-only use cases and adapters (endpoint administration, locations): never in the Lambda layer."""
