"""botocore's errors turned into the service's own (errors.StoreUnavailable, errors.WriteRejected).

Adapters wrap their DynamoDB calls in `translated()`, so no use case ever catches a botocore error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from session_ingest.errors import StoreUnavailable, WriteRejected

CONDITION_FAILED = "ConditionalCheckFailedException"
_PERMANENT = frozenset({"ValidationException", "ItemCollectionSizeLimitExceededException"})


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def translate(error: ClientError | BotoCoreError) -> StoreUnavailable | WriteRejected:
    """The service's error for a botocore error (its message keeps the AWS error code)."""
    if isinstance(error, BotoCoreError):
        return StoreUnavailable(f"{type(error).__name__}: {error}")
    code = error_code(error)
    message = str(error.response.get("Error", {}).get("Message", ""))
    kind = WriteRejected if code in _PERMANENT else StoreUnavailable
    return kind(f"{code}: {message}" if message else code)


@contextmanager
def translated() -> Iterator[None]:
    """Run DynamoDB calls, raising StoreUnavailable/WriteRejected instead of botocore's errors."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise translate(error) from error


def applied(write: Callable[[], object]) -> bool:
    """Run one conditional write: True when applied, False when its condition was false."""
    try:
        write()
    except ClientError as error:
        if error_code(error) == CONDITION_FAILED:
            return False
        raise translate(error) from error
    except BotoCoreError as error:
        raise translate(error) from error
    return True
