"""One settings model, read from the environment variables that template.yaml sets."""

from __future__ import annotations

import functools
import os

from pydantic import BaseModel, Field

from session_ingest import limits


class Settings(BaseModel):
    """Resource names and tunables. Field names are the lower-cased environment variable names."""

    endpoints_table: str = Field(min_length=1)
    requests_table: str = Field(min_length=1)
    sessions_table: str = Field(min_length=1)
    ingest_queue_url: str = Field(min_length=1)
    # Only the operator CLI needs the DLQ; the Lambdas never read it.
    dead_letter_queue_url: str | None = None
    config_cache_seconds: int = Field(default=limits.CONFIG_CACHE_SECONDS, ge=0, lt=60)
    # The ingest queue's maxReceiveCount (template.yaml RedrivePolicy): the consumer dead-letters a
    # request whose message fails on that receive. Unset: the consumer cannot tell its last receive.
    max_receive_count: int | None = Field(default=None, ge=1)

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build from the environment; a missing variable fails loudly with its name."""
        env = os.environ if environ is None else environ
        names = cls.model_fields.keys()
        values = {name: env[name.upper()] for name in names if name.upper() in env}
        return cls.model_validate(values)


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call `get_settings.cache_clear()`)."""
    return Settings.from_environment()
