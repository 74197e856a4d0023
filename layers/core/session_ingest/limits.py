"""Every numeric limit of the service in one place, named with its unit."""

MAX_BODY_BYTES = 256 * 1024
# Batch ingest (contract §4b): a body of at most this many bytes holding 1..MAX_BATCH_ITEMS payloads.
MAX_BATCH_BODY_BYTES = 1024 * 1024
MAX_BATCH_ITEMS = 100
# DynamoDB's limit of items per TransactWriteItems (a batch's request items take as few as it allows).
MAX_TRANSACTION_ITEMS = 100
MAX_JSON_DEPTH = 32
MAX_IDEMPOTENCY_KEY_CHARS = 255

DEFAULT_RATE_LIMIT_PER_MINUTE = 120
RATE_WINDOW_SECONDS = 60

# Endpoint config and tokens are cached in a warm Lambda for this long. contract §3 promises a revoked
# token stops working within 60 s, caches included, so this must stay well below 60.
CONFIG_CACHE_SECONDS = 30

IDEMPOTENCY_RETENTION_SECONDS = 24 * 60 * 60
REQUEST_RETENTION_SECONDS = 30 * 24 * 60 * 60

# A cache miss (unknown endpoint, or a token id the cached endpoint does not hold) is re-read at most
# this often per endpoint: a freshly created token works at once, and a flood of bogus tokens or
# unknown endpoint ids costs at most one read per endpoint per interval.
CACHE_MISS_REFRESH_SECONDS = 1
# Endpoints one warm Lambda keeps in its cache (the oldest is forgotten beyond this).
MAX_CACHED_ENDPOINTS = 1024

# A request holding an Idempotency-Key that was stored but not yet confirmed as queued is treated as
# in flight for this long (well above the API function's timeout); after it, it is known to have died
# before queuing, and a retry with the same key may take its place.
IDEMPOTENCY_IN_FLIGHT_SECONDS = 60

# A transaction cancelled only because another transaction touched the same item (DynamoDB's
# TransactionConflict, e.g. two requests updating one rate counter at once) is retried this often.
TRANSACTION_CONFLICT_RETRIES = 3
TRANSACTION_CONFLICT_BACKOFF_SECONDS = 0.02  # jittered, times the attempt number

# At most this many JSON Schema / field errors are listed in a 422 `details`.
MAX_VALIDATION_DETAILS = 50

# Mapping and normalisation (contract §5). Text caps are in characters (code points).
MAX_SINGLE_LINE_TEXT_CHARS = 255  # names, codes, labels, organisation uids
MAX_MULTI_LINE_TEXT_CHARS = 65_535  # description, card content
MAX_URL_CHARS = 2048
# Record ids and integers stay within what JSON consumers (JavaScript) represent exactly.
MAX_SAFE_INTEGER = 2**53 - 1
MAX_RECORD_ID_LIST_ITEMS = 1000  # categories, traits
MAX_CSS_PROPERTIES = 64
MAX_CSS_VALUE_CHARS = 1024
MAX_MAPPING_EXPRESSION_CHARS = 1024
# A mapping source's result is at most this many times the size of the payload it reads (a bound computed
# from the expression: multi-selects add up, pipes and projections multiply), so `[@, @] | [@, @] | …`
# cannot build an exponentially large value.
MAX_MAPPING_OUTPUT_FACTOR = 32

# Endpoint JSON Schemas (domain/json_schema, domain/regex_safety): at most this many subschemas apply
# to any one value of a payload (references and allOf/anyOf/oneOf unfolded), and patterns are bounded.
MAX_SCHEMA_SUBSCHEMAS_PER_VALUE = 500
MAX_SCHEMA_PATTERN_CHARS = 1000
# An unanchored pattern is tried from every position of the string: it may match at most this much.
MAX_UNANCHORED_PATTERN_MATCH_CHARS = 64
# Warnings are stored on the request outcome item (DynamoDB items are capped at 400 KB).
MAX_WARNINGS_PER_RECORD = 50


# DynamoDB items are at most 400 KB: a session whose fields (with their accept times and bookkeeping,
# estimated by domain.sessions.stored_size_bytes) exceed this can never be stored. Refused at accept
# time for one record (422), and failed as `record_too_large` when a merge would grow past it.
MAX_STORED_SESSION_BYTES = 380_000
# The ingest queue's MaximumMessageSize (template.yaml; SQS allows up to 1 MiB). An envelope holds one
# record within MAX_STORED_SESSION_BYTES plus its warnings, so it always fits.
MAX_QUEUE_MESSAGE_BYTES = 1_048_576


# Consumer: optimistic-lock conflicts and lost create races are re-read and retried this many times
# (jittered exponential backoff) before the message is left to SQS redelivery.
MAX_WRITE_ATTEMPTS = 5
WRITE_RETRY_BASE_SECONDS = 0.02
WRITE_RETRY_MAX_SECONDS = 0.5

# Listing an endpoint's requests (contract §9): page sizes, and how many index pages one listing call
# may read to fill a page when a status filter skips requests (it then returns a short page and a cursor).
DEFAULT_REQUESTS_PAGE = 25
MAX_REQUESTS_PAGE = 100
MAX_LISTING_READS = 5
MAX_CURSOR_CHARS = 512
