"""Every numeric limit of the service in one place, named with its unit."""

MAX_BODY_BYTES = 256 * 1024
MAX_JSON_DEPTH = 32
MAX_IDEMPOTENCY_KEY_CHARS = 255

DEFAULT_RATE_LIMIT_PER_MINUTE = 120
RATE_WINDOW_SECONDS = 60

# Endpoint config and tokens are cached in a warm Lambda for this long. SPEC §3 promises a revoked
# token stops working within 60 s, caches included, so this must stay well below 60.
CONFIG_CACHE_SECONDS = 30

IDEMPOTENCY_RETENTION_SECONDS = 24 * 60 * 60
REQUEST_RETENTION_SECONDS = 30 * 24 * 60 * 60

# Consumer: optimistic-lock conflicts and lost create races are re-read and retried this many times
# (jittered exponential backoff) before the message is left to SQS redelivery.
MAX_WRITE_ATTEMPTS = 5
WRITE_RETRY_BASE_SECONDS = 0.02
WRITE_RETRY_MAX_SECONDS = 0.5
