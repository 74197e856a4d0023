"""A cold start imports what every request needs, and what only some requests use when they use it.

Each handler is imported in a fresh interpreter, as Lambda's init does, and the modules it loaded are
listed (`make importtime` shows what each costs; README, Cold start and SnapStart).
"""

from __future__ import annotations

import pytest

from tests.support.handler_init import after_importing

# Used by some requests only: a background (tinycss2), an endpoint with a JSON Schema (jsonschema), the
# batch route, listings and the dry run's match preview.
API_ONLY_SOME_REQUESTS = [
    "tinycss2",
    "jsonschema",
    "referencing",
    "session_ingest.domain.css",
    "session_ingest.domain.json_schema",
    "session_ingest.service.batch_ingest",
    "session_ingest.domain.request_listing",
    "session_ingest.service.request_listing",
    "session_ingest.service.match_preview",
]
# The consumer never authenticates, validates against a schema, lists or previews: the ingest API's
# modules stay out. Nor does it need Powertools' parser models, which its batch utility imports when
# pydantic is already loaded (so the handler imports the batch utility first).
CONSUMER_NEVER = [
    "tinycss2",
    "jsonschema",
    "session_ingest.domain.css",
    "session_ingest.adapters.endpoint_store",
    "session_ingest.domain.tokens",
    "session_ingest.domain.batch",
    "session_ingest.service.ingest",
    "session_ingest.service.batch_ingest",
    "session_ingest.domain.request_listing",
    "session_ingest.service.match_preview",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.parser",
]


def modules_imported_by(module: str) -> set[str]:
    """Every module loaded by importing `module` in a fresh interpreter (no AWS client is made)."""
    return set(after_importing(module, "import json; print(json.dumps(sorted(sys.modules)))"))


@pytest.mark.parametrize(
    ("handler", "left_out"),
    [("ingest_api_handler", API_ONLY_SOME_REQUESTS), ("ingest_consumer_handler", CONSUMER_NEVER)],
)
def test_a_handler_import_leaves_out_what_only_some_requests_or_the_other_function_use(
    handler: str, left_out: list[str]
) -> None:
    # Given a fresh interpreter / When the handler module is imported, as Lambda's init does
    imported = modules_imported_by(handler)
    # Then the handler is loaded, and none of the modules only some requests (or the other function) use
    assert handler in imported
    assert sorted(imported & set(left_out)) == []
