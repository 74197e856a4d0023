"""An endpoint's optional JSON Schema: checked when configured, applied to every payload (pure).

The schema's own `$schema` picks the draft (2020-12 when absent); `format` is asserted, since an
operator who writes `"format": "date-time"` expects it enforced. References are never fetched over
the network (the `referencing` library resolves only what the schema itself contains). A schema that
would fail or stall every payload (dangling or looping references, runaway fan-out, patterns that
backtrack) is refused when configured (`schema_graph`); should one be stored anyway (configured before
these checks, or written to the table by hand), each payload gets a 422 naming the problem, never a 500.

jsonschema is imported on first use, not with this module: it is the largest import of the ingest
function (~0.4 s of a cold start measured by `make bench-cold-start`) and only endpoints that have a
schema need it.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from session_ingest import limits
from session_ingest.domain.schema_graph import SchemaGraphError, check_schema_graph
from session_ingest.errors import FieldError

_MAX_MESSAGE_CHARS = 300


class InvalidJsonSchema(ValueError):
    """The endpoint's JSON Schema is not a valid schema of its draft."""


def check_json_schema(schema: dict[str, Any]) -> None:
    """Raise InvalidJsonSchema unless `schema` is a valid JSON Schema."""
    from jsonschema import Draft202012Validator, SchemaError, validators  # lazy: see the module docstring

    if not isinstance(schema, dict):
        raise InvalidJsonSchema("a JSON Schema must be a JSON object")
    cls = validators.validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as error:
        raise InvalidJsonSchema(f"invalid JSON Schema: {error.message}") from error
    except RecursionError:
        raise InvalidJsonSchema("invalid JSON Schema: it nests too deeply") from None
    external = next(_external_references(schema), None)
    if external is not None:
        # Never fetched, so it could never resolve: refuse it now rather than fail every payload later.
        raise InvalidJsonSchema(
            f"$ref {external!r} points outside the schema; only local '#…' references work"
        )
    try:
        check_schema_graph(schema)
    except SchemaGraphError as error:
        raise InvalidJsonSchema(f"unusable JSON Schema: {error}") from error
    except RecursionError:
        raise InvalidJsonSchema("unusable JSON Schema: it nests too deeply") from None


def _external_references(node: Any) -> Iterator[str]:
    """Every `$ref`/`$dynamicRef` of the schema that does not point inside it."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str) and not value.startswith("#"):
                yield value
            else:
                yield from _external_references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _external_references(item)


@functools.lru_cache(maxsize=128)
def _validator(schema_text: str) -> Any:
    """A compiled validator per distinct schema, kept across requests of a warm Lambda.

    The configuration-time checks run again here (once per schema, cached): a stored schema that
    fails them yields an `InvalidJsonSchema` instead of a validator.
    """
    from jsonschema import Draft202012Validator, validators  # lazy: see the module docstring

    schema = json.loads(schema_text)
    try:
        check_json_schema(schema)
    except InvalidJsonSchema as error:
        return error
    cls = validators.validator_for(schema, default=Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _field_path(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "$"


def schema_errors(payload: Any, schema: dict[str, Any]) -> list[FieldError]:
    """Every way `payload` breaks `schema` (at most MAX_VALIDATION_DETAILS), as field errors.

    Never raises for a broken schema: the payload is refused (fail closed) with one error saying so.
    """
    from referencing.exceptions import Unresolvable  # lazy: see the module docstring

    validator = _validator(json.dumps(schema, sort_keys=True))
    if isinstance(validator, InvalidJsonSchema):
        return [_unusable_schema(str(validator))]
    try:
        # Stop early: a hostile payload can break a schema millions of times.
        first = list(itertools.islice(validator.iter_errors(payload), limits.MAX_VALIDATION_DETAILS))
    except (RecursionError, Unresolvable, re.error) as error:
        return [_unusable_schema(f"{type(error).__name__}: {error}")]
    errors = [FieldError(_field_path(error.absolute_path), _shorten(error.message)) for error in first]
    return sorted(errors, key=lambda error: error.field)


def _unusable_schema(problem: str) -> FieldError:
    return FieldError(
        "$", _shorten(f"the endpoint's JSON Schema cannot be applied, so no payload is accepted: {problem}")
    )


def _shorten(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE_CHARS else message[: _MAX_MESSAGE_CHARS - 1] + "…"
