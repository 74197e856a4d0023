"""The floor under both functions once DESIGN's settings model is kept: boto3, Powertools' Logger and
Metrics, and one pydantic settings model read from the environment, with no code of ours.

Any event will do: it replays the recorded calls (baseline_handler) after reading the settings. Beside
the library floors it separates what pydantic alone costs (every request reads the settings) from what
Powertools' resolver or batch utility adds.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from baseline_handler import replay_recorded_calls
from pydantic import BaseModel, Field

logger = Logger(service="settings-floor")
metrics = Metrics(namespace="SettingsFloor", service="settings-floor")


class Settings(BaseModel):
    region: str = Field(min_length=1)
    config_cache_seconds: int = Field(default=30, ge=0, lt=60)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    Settings.model_validate({"region": os.environ["AWS_REGION"]})
    replay_recorded_calls()
    metrics.add_metric(name="Replayed", unit="Count", value=1)
    return {"statusCode": 200}
