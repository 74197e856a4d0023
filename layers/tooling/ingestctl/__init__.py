"""ingestctl: the operator CLI and the local stack (not deployed to Lambda)."""
