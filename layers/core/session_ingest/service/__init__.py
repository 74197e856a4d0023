"""Use cases called by the Lambda handlers and by ingestctl."""
