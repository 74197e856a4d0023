"""boto3 adapters, created lazily and cached (never at import time)."""
