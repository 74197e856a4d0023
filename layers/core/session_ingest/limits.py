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

# Mapping and normalisation (SPEC §5). Text caps are in characters (code points).
MAX_SINGLE_LINE_TEXT_CHARS = 255  # names, codes, labels, organisation uids
MAX_MULTI_LINE_TEXT_CHARS = 65_535  # description, card content
MAX_URL_CHARS = 2048
# Record ids and integers stay within what JSON consumers (JavaScript) represent exactly.
MAX_SAFE_INTEGER = 2**53 - 1
MAX_RECORD_ID_LIST_ITEMS = 1000  # categories, traits
MAX_CSS_PROPERTIES = 64
MAX_CSS_VALUE_CHARS = 1024
MAX_MAPPING_EXPRESSION_CHARS = 1024
# Warnings are stored on the request outcome item (DynamoDB items are capped at 400 KB).
MAX_WARNINGS_PER_RECORD = 50
