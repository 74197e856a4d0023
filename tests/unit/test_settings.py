"""Settings come from the environment variables template.yaml sets, and fail loudly when one is missing."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from session_ingest.settings import Settings

COMPLETE_ENVIRONMENT = {
    "ENDPOINTS_TABLE": "endpoints",
    "REQUESTS_TABLE": "requests",
    "SESSIONS_TABLE": "sessions",
    "INGEST_QUEUE_URL": "https://sqs.local/queue",
}


def test_settings_read_the_template_environment_variables() -> None:
    # Given the variables template.yaml sets
    # When settings are built
    settings = Settings.from_environment(COMPLETE_ENVIRONMENT)
    # Then each lands in its field
    assert settings.sessions_table == "sessions"
    assert settings.ingest_queue_url == "https://sqs.local/queue"


@pytest.mark.parametrize("missing", sorted(COMPLETE_ENVIRONMENT))
def test_a_missing_variable_is_a_loud_error_naming_it(missing: str) -> None:
    # Given an environment without one variable
    environment = {k: v for k, v in COMPLETE_ENVIRONMENT.items() if k != missing}
    # When/Then building settings fails and names it
    with pytest.raises(ValidationError, match=missing.lower()):
        Settings.from_environment(environment)
