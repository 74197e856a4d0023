"""The one Logger, Metrics and Tracer of the service (Powertools), shared by every module."""

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE_NAME = "session-ingest"
METRICS_NAMESPACE = "SessionIngest"

logger = Logger(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)
