"""Mapping (SPEC §5): from an integrator's JSON payload to a normalised record, warnings and errors.

Mapping rules choose the root key (default `"session"`), a JMESPath source per target field (default:
the key of the same name) and defaults (used when the source yields nothing). A JSON `null` counts
as absent: the field is left out of the record (so a partial update keeps the stored value) unless
the mapping gives it a default. Rules are compiled once per distinct mapping and cached.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jmespath
import jmespath.exceptions
import jmespath.functions
from pydantic import ValidationError

from session_ingest import limits
from session_ingest.domain.models import EndpointType, MappingResult, MappingRules
from session_ingest.domain.record_types import FieldContext, RecordType, WarningCollector, shorten
from session_ingest.domain.session_fields import SESSION_RECORD
from session_ingest.domain.values import InvalidValue
from session_ingest.errors import FieldError, InvalidMapping

# One entry per endpoint type; a new type registers its record description here.
RECORD_TYPES: dict[EndpointType, RecordType] = {EndpointType.SESSION: SESSION_RECORD}

Source = Callable[[dict[str, Any]], Any]
_MAPPING_KEYS = frozenset(MappingRules.model_fields)
_FUNCTIONS: dict[str, Any] = jmespath.functions.Functions.FUNCTION_TABLE
_JMESPATH_OPTIONS = jmespath.Options(dict_cls=dict)


@dataclass(frozen=True)
class CompiledMapping:
    """Mapping rules ready to run: one source per target field, in the record type's field order."""

    record_type: RecordType
    root_key: str | None
    sources: tuple[tuple[str, Source], ...]
    # Payload keys that some source reads: every other key is reported as unknown or unsupported.
    consumed_keys: frozenset[str]
    defaults: dict[str, Any]


def map_payload(
    payload: Any,
    rules: MappingRules,
    organisation: str | None,
    endpoint_type: EndpointType = EndpointType.SESSION,
) -> MappingResult:
    """Map and normalise one payload. Never raises: every problem is a `FieldError` in the result.

    `organisation` is the endpoint's organisation slug; resource ids of another organisation are
    rejected and ids are written as `{org}/{kind}/{n}`. `None` (offline use) accepts any organisation.
    """
    try:
        compiled = compile_mapping(rules, endpoint_type)
    except InvalidMapping as error:
        return MappingResult(errors=[FieldError("mapping", error.reason)])
    warnings = WarningCollector()
    root, errors = _locate_root(payload, compiled.root_key, warnings, compiled.record_type)
    if root is None:
        return MappingResult(warnings=warnings.result(), errors=errors)
    context = FieldContext(organisation=organisation, warnings=warnings)
    record = _normalise_fields(root, compiled, context, errors)
    _report_ignored_keys(root, compiled, warnings)
    if not errors:
        errors.extend(compiled.record_type.cross_checks(record))
    if errors:
        return MappingResult(warnings=warnings.result(), errors=errors)
    return MappingResult(record=record, warnings=warnings.result())


def load_mapping_rules(data: Any, endpoint_type: EndpointType = EndpointType.SESSION) -> MappingRules:
    """Validate a mapping document (e.g. a parsed mapping file); raise `InvalidMapping` saying why."""
    if isinstance(data, MappingRules):
        rules = data
    else:
        if not isinstance(data, dict):
            raise InvalidMapping('a mapping must be a JSON object with "root_key", "fields" and "defaults"')
        unknown = sorted(str(key) for key in data if key not in _MAPPING_KEYS)
        if unknown:
            raise InvalidMapping(
                f"unknown mapping key(s) {', '.join(map(repr, unknown))}; "
                f"expected {', '.join(sorted(_MAPPING_KEYS))}"
            )
        try:
            rules = MappingRules.model_validate(data, strict=True)
        except ValidationError as error:
            raise InvalidMapping(_describe_validation_error(error)) from None
    compile_mapping(rules, endpoint_type)
    return rules


def compile_mapping(
    rules: MappingRules, endpoint_type: EndpointType = EndpointType.SESSION
) -> CompiledMapping:
    """The compiled form of `rules` (cached per distinct mapping); `InvalidMapping` when unusable."""
    try:
        defaults_key = json.dumps(rules.defaults, sort_keys=True, allow_nan=False) if rules.defaults else ""
        fields_key = tuple(sorted(rules.fields.items()))
    except (TypeError, ValueError):
        raise InvalidMapping("mapping defaults must be JSON values") from None
    return _compile(endpoint_type, rules.root_key, fields_key, defaults_key)


@functools.lru_cache(maxsize=256)
def _compile(
    endpoint_type: EndpointType,
    root_key: str | None,
    fields: tuple[tuple[str, str], ...],
    defaults_json: str,
) -> CompiledMapping:
    record_type = RECORD_TYPES.get(endpoint_type)
    if record_type is None:
        raise InvalidMapping(f"no mapper is registered for endpoint type {endpoint_type!r}")
    if root_key is not None and (not isinstance(root_key, str) or not root_key):
        raise InvalidMapping("root_key must be a non-empty string, or null to map the payload itself")
    overrides = dict(fields)
    _check_targets(overrides, record_type, "fields")
    defaults: dict[str, Any] = json.loads(defaults_json) if defaults_json else {}
    _check_targets(defaults, record_type, "defaults")
    _check_defaults(defaults, record_type)
    sources: list[tuple[str, Source]] = []
    consumed: set[str] = set()
    for target in record_type.fields:
        source, keys = _compile_source(target, overrides.get(target, _quoted_identifier(target)))
        sources.append((target, source))
        consumed.update(keys)
    return CompiledMapping(record_type, root_key, tuple(sources), frozenset(consumed), defaults)


def _check_targets(targets: dict[str, Any], record_type: RecordType, section: str) -> None:
    unknown = sorted(name for name in targets if name not in record_type.fields)
    if unknown:
        raise InvalidMapping(
            f"{section} names unknown {record_type.name} field(s): {', '.join(map(repr, unknown))}"
        )


def _check_defaults(defaults: dict[str, Any], record_type: RecordType) -> None:
    """Defaults go through the same rules as payload values, so a bad default fails at load time."""
    context = FieldContext(organisation=None, warnings=WarningCollector())
    for target, value in defaults.items():
        if value is None:
            continue
        try:
            record_type.fields[target](value, context)
        except InvalidValue as error:
            raise InvalidMapping(f"the default for {target!r} {error.message}") from None


def _compile_source(target: str, expression: Any) -> tuple[Source, set[str]]:
    """A getter for one target: a plain key lookup when the expression is a bare field name."""
    if not isinstance(expression, str) or not expression.strip():
        raise InvalidMapping(f"the source for {target!r} must be a non-empty JMESPath expression")
    if len(expression) > limits.MAX_MAPPING_EXPRESSION_CHARS:
        raise InvalidMapping(
            f"the source for {target!r} is longer than {limits.MAX_MAPPING_EXPRESSION_CHARS} characters"
        )
    try:
        parsed = jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as error:
        raise InvalidMapping(f"the source for {target!r} is not valid JMESPath: {_one_line(error)}") from None
    ast: dict[str, Any] = parsed.parsed
    keys: set[str] = set()
    for node in _walk(ast):
        if node["type"] == "field":
            keys.add(node["value"])
        elif node["type"] == "function_expression":
            _check_function(target, node)
    if ast["type"] == "field":
        key: str = ast["value"]
        return (lambda root: root.get(key)), keys
    return (lambda root: parsed.search(root, _JMESPATH_OPTIONS)), keys


def _walk(ast: dict[str, Any]) -> Iterator[dict[str, Any]]:
    stack = [ast]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child for child in node.get("children", ()) if isinstance(child, dict))


def _check_function(target: str, node: dict[str, Any]) -> None:
    """JMESPath reports unknown functions and wrong arity only when evaluated; check them up front."""
    name = node["value"]
    spec = _FUNCTIONS.get(name)
    if spec is None:
        raise InvalidMapping(f"the source for {target!r} calls an unknown JMESPath function {name}()")
    signature = spec["signature"]
    given = len(node["children"])
    variadic = bool(signature) and bool(signature[-1].get("variadic"))
    if given != len(signature) and not (variadic and given >= len(signature)):
        raise InvalidMapping(
            f"the source for {target!r} calls {name}() with {given} argument(s), expected {len(signature)}"
        )


def _quoted_identifier(name: str) -> str:
    """The default source: the field's own name, quoted so names with `-` or digits also work."""
    return json.dumps(name)


def _locate_root(
    payload: Any, root_key: str | None, warnings: WarningCollector, record_type: RecordType
) -> tuple[dict[str, Any] | None, list[FieldError]]:
    if root_key is None:
        if isinstance(payload, dict):
            return payload, []
        return None, [FieldError("payload", f"must be a JSON object of {record_type.name} fields")]
    if not isinstance(payload, dict):
        return None, [
            FieldError("payload", f'must be a JSON object with the {record_type.name} under "{root_key}"')
        ]
    root = payload.get(root_key)
    if not isinstance(root, dict):
        problem = "is required" if root is None else "must be a JSON object"
        return None, [
            FieldError(root_key, f"{problem}: the payload carries the {record_type.name} fields under it")
        ]
    for key in payload:
        if key != root_key:
            _report_ignored_key(str(key), record_type, warnings)
    return root, []


def _normalise_fields(
    root: dict[str, Any], compiled: CompiledMapping, context: FieldContext, errors: list[FieldError]
) -> dict[str, Any]:
    record: dict[str, Any] = {}
    rules = compiled.record_type.fields
    for target, source in compiled.sources:
        try:
            raw = source(root)
        except (jmespath.exceptions.JMESPathError, TypeError, ValueError) as error:
            errors.append(
                FieldError(target, f"the mapping source could not be evaluated: {_one_line(error)}")
            )
            continue
        if raw is None:
            raw = compiled.defaults.get(target)
            if raw is None:
                continue
        try:
            record[target] = rules[target](raw, context)
        except InvalidValue as error:
            errors.append(FieldError(target, error.message))
    return record


def _report_ignored_keys(root: dict[str, Any], compiled: CompiledMapping, warnings: WarningCollector) -> None:
    for key in root:
        if key not in compiled.consumed_keys:
            _report_ignored_key(str(key), compiled.record_type, warnings)


def _report_ignored_key(key: str, record_type: RecordType, warnings: WarningCollector) -> None:
    name = shorten(key)
    if record_type.is_unsupported_field(key):
        warnings.add("unsupported_field", name, f"{name!r} is not available through ingest and was ignored")
    else:
        warnings.add("unknown_field", name, f"unknown field {name!r} was ignored")


def _describe_validation_error(error: ValidationError) -> str:
    problems = []
    for detail in error.errors():
        location = ".".join(str(part) for part in detail["loc"]) or "mapping"
        problems.append(f"{location}: {detail['msg']}")
    return "; ".join(problems)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:200]
