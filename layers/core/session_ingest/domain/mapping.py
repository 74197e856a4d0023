"""Mapping (contract §5): from an integrator's JSON payload to a normalised record, warnings and errors.

Mapping rules choose the root key (default `"session"`), a JMESPath source per target field (default:
the key of the same name) and defaults (used when the source yields nothing). A JSON `null` counts
as absent: the field is left out of the record (so a partial update keeps the stored value) unless
the mapping gives it a default. Rules are compiled once per distinct mapping and cached.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jmespath
import jmespath.exceptions
import jmespath.functions
from pydantic import ValidationError

from session_ingest import limits
from session_ingest.domain.models import EndpointType, MappingResult, MappingRules
from session_ingest.domain.record_types import FieldContext, FieldRule, RecordType, WarningCollector, shorten
from session_ingest.domain.session_fields import SESSION_RECORD
from session_ingest.domain.values import IgnoredValue, InvalidValue
from session_ingest.errors import FieldError, InvalidMapping

# One entry per endpoint type; a new type registers its record description here.
RECORD_TYPES: dict[EndpointType, RecordType] = {EndpointType.SESSION: SESSION_RECORD}

Source = Callable[[dict[str, Any]], Any]
_MAPPING_KEYS = frozenset(MappingRules.model_fields)
_FUNCTIONS: dict[str, Any] = jmespath.functions.Functions.FUNCTION_TABLE
_JMESPATH_OPTIONS = jmespath.Options(dict_cls=dict)


@dataclass(frozen=True)
class CompiledMapping:
    """Mapping rules ready to run.

    Sources that are a bare key are looked up in one pass over the payload's keys (`by_key`: payload
    key → target fields); only real JMESPath expressions are evaluated (`expressions`).
    """

    record_type: RecordType
    root_key: str | None
    by_key: dict[str, tuple[tuple[str, FieldRule], ...]]
    expressions: tuple[tuple[str, FieldRule, Source], ...]
    # Payload keys read by an expression: with `by_key`, every other key is unknown or unsupported.
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
    if not errors:
        errors.extend(compiled.record_type.cross_checks(record))
    # Built without re-validation: every part was constructed with its own type just above.
    if errors:
        return MappingResult.model_construct(record=None, warnings=warnings.result(), errors=errors)
    return MappingResult.model_construct(record=record, warnings=warnings.result(), errors=[])


def renormalise_record(
    record: dict[str, Any], organisation: str, endpoint_type: EndpointType = EndpointType.SESSION
) -> tuple[dict[str, Any], list[FieldError]]:
    """A record that did not necessarily come out of `map_payload`, put through its field rules again.

    Every field must be known and pass its rule; the result holds the rules' output (the rules are
    fixed points, so a record the API produced comes back unchanged), and the cross-field checks must
    pass. The consumer runs this on every envelope: whoever can send to the queue cannot write fields
    the API would have refused or changed.
    """
    record_type = RECORD_TYPES.get(endpoint_type)
    if record_type is None:
        return {}, [FieldError("endpoint_type", f"no record type {str(endpoint_type)!r}")]
    context = FieldContext(organisation=organisation, warnings=WarningCollector())
    normalised: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, value in record.items():
        rule = record_type.fields.get(name)
        if rule is None:
            errors.append(FieldError(shorten(str(name)), f"is not a {record_type.name} field"))
            continue
        try:
            normalised[name] = rule(value, context)
        except (InvalidValue, IgnoredValue) as error:
            errors.append(FieldError(name, error.message))
    return normalised, errors or record_type.cross_checks(normalised)


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
    record_type = RECORD_TYPES.get(endpoint_type)
    if record_type is None:
        raise InvalidMapping(f"no mapper is registered for endpoint type {str(endpoint_type)!r}")
    try:
        defaults_key = json.dumps(rules.defaults, sort_keys=True, allow_nan=False) if rules.defaults else ""
        fields_key = tuple(sorted(rules.fields.items()))
        hash((rules.root_key, fields_key))
    except (TypeError, ValueError):  # not JSON values, or unhashable where strings were promised
        raise InvalidMapping(
            "mapping fields must map names to strings and defaults must be JSON values"
        ) from None
    return _compile(record_type, rules.root_key, fields_key, defaults_key)


@functools.lru_cache(maxsize=256)
def _compile(
    record_type: RecordType,
    root_key: str | None,
    fields: tuple[tuple[str, str], ...],
    defaults_json: str,
) -> CompiledMapping:
    if root_key is not None and (not isinstance(root_key, str) or not root_key):
        raise InvalidMapping("root_key must be a non-empty string, or null to map the payload itself")
    overrides = dict(fields)
    _check_targets(overrides, record_type, "fields")
    defaults: dict[str, Any] = json.loads(defaults_json) if defaults_json else {}
    _check_targets(defaults, record_type, "defaults")
    _check_defaults(defaults, record_type)
    by_key: dict[str, tuple[tuple[str, FieldRule], ...]] = {}
    expressions: list[tuple[str, FieldRule, Source]] = []
    consumed: set[str] = set()
    for target, rule in record_type.fields.items():
        expression = overrides.get(target, _quoted_identifier(target))
        key, search, keys = _compile_source(target, expression)
        if key is not None:
            by_key[key] = (*by_key.get(key, ()), (target, rule))
        else:
            expressions.append((target, rule, search))
            consumed.update(keys)
    return CompiledMapping(
        record_type, root_key, by_key, tuple(expressions), frozenset(consumed - by_key.keys()), defaults
    )


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
        except (InvalidValue, IgnoredValue) as error:
            raise InvalidMapping(f"the default for {target!r} {error.message}") from None


def _compile_source(target: str, expression: Any) -> tuple[str | None, Source, set[str]]:
    """(payload key, None, …) when the expression is a bare field name, else (None, search, keys read)."""
    if not isinstance(expression, str) or not expression.strip():
        raise InvalidMapping(f"the source for {target!r} must be a non-empty JMESPath expression")
    if len(expression) > limits.MAX_MAPPING_EXPRESSION_CHARS:
        raise InvalidMapping(
            f"the source for {target!r} is longer than {limits.MAX_MAPPING_EXPRESSION_CHARS} characters"
        )
    try:
        parsed = jmespath.compile(expression)
        factor = _output_factor(parsed.parsed)
    except jmespath.exceptions.JMESPathError as error:
        raise InvalidMapping(f"the source for {target!r} is not valid JMESPath: {_one_line(error)}") from None
    except RecursionError:
        raise InvalidMapping(f"the source for {target!r} nests too deeply") from None
    if factor > limits.MAX_MAPPING_OUTPUT_FACTOR:
        raise InvalidMapping(
            f"the source for {target!r} can build a result more than {limits.MAX_MAPPING_OUTPUT_FACTOR} "
            "times the size of the payload (multi-selects add up, pipes and projections multiply)"
        )
    ast: dict[str, Any] = parsed.parsed
    keys: set[str] = set()
    for node in _walk(ast):
        if node["type"] == "field":
            keys.add(node["value"])
        elif node["type"] == "function_expression":
            _check_function(target, node)

    def search(root: dict[str, Any]) -> Any:
        return parsed.search(root, _JMESPATH_OPTIONS)

    return (ast["value"] if ast["type"] == "field" else None), search, keys


# Nodes whose right side runs on the left side's result (or on each of its elements): sizes multiply.
_CHAINS = frozenset({"subexpression", "index_expression", "pipe", "projection", "value_projection"})
# Nodes that build one value out of all their children: sizes add up.
_COLLECTIONS = frozenset({"multi_select_list", "multi_select_dict", "comparator"})


def _output_factor(node: dict[str, Any]) -> int:
    """An upper bound on |result| / |input| for a JMESPath AST (sizes counted with shared parts expanded).

    A comparator is counted like a collection: comparing two values walks both. A function's result
    is at most the sum of its arguments, times what an `&expression` argument makes of each element.
    """
    kind = node["type"]
    children = [_output_factor(child) for child in node.get("children", ()) if isinstance(child, dict)]
    if not children:
        return 1
    if kind in _CHAINS or kind == "filter_projection":
        return math.prod(children)
    if kind in _COLLECTIONS:
        return sum(children)
    if kind == "function_expression":
        arguments = node["children"]
        plain = sum(
            factor for factor, arg in zip(children, arguments, strict=True) if arg["type"] != "expref"
        )
        applied = math.prod(
            factor for factor, arg in zip(children, arguments, strict=True) if arg["type"] == "expref"
        )
        return max(plain, 1) * applied
    return max(children)  # or/and/not, flatten, key_val_pair, expref: no bigger than a child


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
    """Normalise every mapped field (in payload order) and report keys no source reads.

    Bare-key sources are served by one pass over the payload, so a record costs about one dict
    lookup per key it carries rather than one per field the record type knows.
    """
    record: dict[str, Any] = {}
    by_key = compiled.by_key
    for key, raw in root.items():
        targets = by_key.get(key)
        if targets is None:
            if key not in compiled.consumed_keys:
                _report_ignored_key(str(key), compiled.record_type, context.warnings)
        elif raw is not None:
            for target, rule in targets:
                _apply_rule(target, rule, raw, context, record, errors)
    for target, rule, search in compiled.expressions:
        try:
            raw = search(root)
        except (jmespath.exceptions.JMESPathError, TypeError, ValueError, RecursionError) as error:
            errors.append(FieldError(target, f"the mapping source failed: {_one_line(error)}"))
            continue
        if raw is not None:
            _apply_rule(target, rule, raw, context, record, errors)
    if compiled.defaults:
        _apply_defaults(record, compiled, context, errors)
    return record


def _apply_rule(
    target: str,
    rule: FieldRule,
    raw: Any,
    context: FieldContext,
    record: dict[str, Any],
    errors: list[FieldError],
) -> None:
    """Normalise one value into `record`: an invalid value is an error, an ignored one a warning."""
    try:
        record[target] = rule(raw, context)
    except InvalidValue as error:
        errors.append(FieldError(target, error.message))
    except IgnoredValue as ignored:
        context.warnings.add(ignored.code, target, f"{target} {ignored.message}")


def _apply_defaults(
    record: dict[str, Any], compiled: CompiledMapping, context: FieldContext, errors: list[FieldError]
) -> None:
    """Defaults fill the fields whose source yielded nothing (absent or null)."""
    failed = {error.field for error in errors}
    rules = compiled.record_type.fields
    for target, value in compiled.defaults.items():
        if value is None or target in record or target in failed:
            continue
        _apply_rule(target, rules[target], value, context, record, errors)


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
