"""How an endpoint's JSON Schema applies to a payload, checked when it is configured (pure).

The schema is read as a graph of subschemas. Some edges apply a subschema to the *same* value
(`$ref`, `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `dependentSchemas`); others to a
*child* value (`properties`, `items`, `additionalProperties`, …). Three ways to make every payload fail
or stall are refused here, before any payload meets them:

- a local `$ref` that points at nothing (`#/$defs/nope`) or at something that is not a schema;
- a cycle of same-value edges (`{"$ref": "#"}`, `a → b → a`): the validator would recurse forever;
  recursion through child values (a tree of `children`) is fine, since payloads nest at most
  MAX_JSON_DEPTH deep;
- more than MAX_SCHEMA_SUBSCHEMAS_PER_VALUE subschemas applying to one value at some depth, counted
  with every reference unfolded (`allOf: [{$ref: x}, {$ref: x}]` chained level after level doubles).

Every `pattern` (and `patternProperties` key) must also pass `regex_safety.check_linear_pattern`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from session_ingest import limits
from session_ingest.domain.regex_safety import UnsafePattern, check_linear_pattern

_SAME_VALUE_ONE = ("not", "if", "then", "else")
_SAME_VALUE_LIST = ("allOf", "anyOf", "oneOf")
_SAME_VALUE_MAP = ("dependentSchemas", "dependencies")
_REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")
# Child-value edges: (keyword, slot kind, whether the subschema applies to every child of its kind).
_CHILD_ONE = {
    "additionalProperties": "property",
    "unevaluatedProperties": "property",
    "additionalItems": "item",
    "unevaluatedItems": "item",
    "contains": "item",
    "propertyNames": "name",
}
_CHILD_MAP = ("properties", "patternProperties")
_DEFINITIONS = ("$defs", "definitions")
_ANY = "*"

Slot = tuple[str, str | int]


class SchemaGraphError(ValueError):
    """The schema would fail or stall every payload; the message says where and why."""


@dataclass
class _Node:
    schema: dict[str, Any]
    location: str
    same_value: list[int] = field(default_factory=list)  # ids of subschemas applied to the same value
    children: list[tuple[Slot, int]] = field(default_factory=list)


def check_schema_graph(schema: dict[str, Any]) -> None:
    """Raise SchemaGraphError for dangling or looping references, fan-out or unsafe patterns."""
    nodes = _build_graph(schema)
    order = _same_value_order(nodes)
    closures = _closures(nodes, order)
    _check_fan_out(nodes, closures, id(schema))


def _build_graph(root: dict[str, Any]) -> dict[int, _Node]:
    from referencing import Registry, Resource
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012

    resource = Resource.from_contents(root, default_specification=DRAFT202012)
    specification = resource._specification  # the draft chosen by the schema's $schema
    nodes: dict[int, _Node] = {}
    stack: list[tuple[Any, Any, str]] = [(root, Registry().resolver_with_root(resource), "#")]
    while stack:
        schema, resolver, location = stack.pop()
        if not isinstance(schema, dict) or id(schema) in nodes:
            continue
        if location != "#" and specification.id_of(schema) is not None:
            resolver = resolver.in_subresource(specification.create_resource(schema))
        node = nodes[id(schema)] = _Node(schema, location)
        _check_patterns(schema, location)
        for keyword in _REFERENCES:
            reference = schema.get(keyword)
            if not isinstance(reference, str):
                continue
            try:
                resolved = resolver.lookup(reference)
            except Unresolvable:
                raise SchemaGraphError(
                    f"the {keyword} {reference!r} at {location} points at nothing in the schema"
                ) from None
            target = resolved.contents
            if isinstance(target, bool):
                continue
            if not isinstance(target, dict):
                raise SchemaGraphError(
                    f"the {keyword} {reference!r} at {location} does not point at a schema"
                )
            node.same_value.append(id(target))
            stack.append((target, resolved.resolver, reference))
        for sub_location, subschema, slot in _subschemas(schema, location):
            if isinstance(subschema, dict):
                if slot is None:
                    node.same_value.append(id(subschema))
                elif slot[0] != "definition":
                    node.children.append((slot, id(subschema)))
                stack.append((subschema, resolver, sub_location))
    return nodes


def _subschemas(schema: dict[str, Any], location: str) -> Iterator[tuple[str, Any, Slot | None]]:
    """(location, subschema, slot): slot None for same-value edges, ("definition", …) for `$defs`."""
    for keyword in _SAME_VALUE_ONE:
        if keyword in schema:
            yield f"{location}/{keyword}", schema[keyword], None
    for keyword in _SAME_VALUE_LIST:
        for index, subschema in enumerate(_as_list(schema.get(keyword))):
            yield f"{location}/{keyword}/{index}", subschema, None
    for keyword in _SAME_VALUE_MAP:
        for name, subschema in _as_map(schema.get(keyword)):
            yield f"{location}/{keyword}/{name}", subschema, None
    for keyword, kind in _CHILD_ONE.items():
        if keyword in schema:
            yield f"{location}/{keyword}", schema[keyword], (kind, _ANY)
    for keyword in _CHILD_MAP:
        for name, subschema in _as_map(schema.get(keyword)):
            # A patternProperties entry may match any name: counted against every property.
            yield (
                f"{location}/{keyword}/{name}",
                subschema,
                ("property", name if keyword == "properties" else _ANY),
            )
    items = schema.get("items")
    if isinstance(items, list):  # drafts before 2020-12: one schema per position
        for index, subschema in enumerate(items):
            yield f"{location}/items/{index}", subschema, ("item", index)
    elif "items" in schema:
        yield f"{location}/items", items, ("item", _ANY)
    for index, subschema in enumerate(_as_list(schema.get("prefixItems"))):
        yield f"{location}/prefixItems/{index}", subschema, ("item", index)
    for keyword in _DEFINITIONS:
        for name, subschema in _as_map(schema.get(keyword)):
            yield f"{location}/{keyword}/{name}", subschema, ("definition", name)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _as_map(value: Any) -> list[tuple[str, Any]]:
    return [(str(name), subschema) for name, subschema in value.items()] if isinstance(value, dict) else []


def _check_patterns(schema: dict[str, Any], location: str) -> None:
    patterns = [("pattern", schema["pattern"])] if isinstance(schema.get("pattern"), str) else []
    properties = schema.get("patternProperties")
    if isinstance(properties, dict):
        patterns.extend(("patternProperties", str(name)) for name in properties)
    for keyword, pattern in patterns:
        try:
            check_linear_pattern(pattern)
        except UnsafePattern as error:
            raise SchemaGraphError(f"the {keyword} {pattern[:80]!r} at {location} {error}") from None


def _same_value_order(nodes: dict[int, _Node]) -> list[int]:
    """Every node, each after the nodes it applies to the same value; a cycle is refused."""
    done: set[int] = set()
    on_path: list[int] = []
    order: list[int] = []
    for start in nodes:
        if start in done:
            continue
        stack: list[tuple[int, Iterator[int]]] = [(start, iter(nodes[start].same_value))]
        on_path.append(start)
        while stack:
            current, pending = stack[-1]
            following = next(pending, None)
            if following is None:
                stack.pop()
                on_path.pop()
                done.add(current)
                order.append(current)
            elif following in on_path:
                loop = " → ".join(nodes[node].location for node in on_path[on_path.index(following) :])
                raise SchemaGraphError(
                    f"its references loop without descending into the payload ({loop} → "
                    f"{nodes[following].location}): every payload would recurse forever"
                )
            elif following not in done:
                on_path.append(following)
                stack.append((following, iter(nodes[following].same_value)))
    return order


def _closures(nodes: dict[int, _Node], order: list[int]) -> dict[int, Counter[int]]:
    """For each node, how many times each node is applied to one value when it is (references unfolded)."""
    budget = limits.MAX_SCHEMA_SUBSCHEMAS_PER_VALUE
    closures: dict[int, Counter[int]] = {}
    for node_id in order:  # dependencies first
        closure: Counter[int] = Counter({node_id: 1})
        for following in nodes[node_id].same_value:
            closure.update(closures[following])
            if closure.total() > budget:
                raise _too_many(nodes[node_id].location)
        closures[node_id] = closure
    return closures


def _check_fan_out(nodes: dict[int, _Node], closures: dict[int, Counter[int]], root: int) -> None:
    """Follow the worst child value level by level, down to the deepest payload allowed."""
    applied = closures[root]
    for depth in range(limits.MAX_JSON_DEPTH):
        slots: dict[Slot, Counter[int]] = {}
        for node_id, times in applied.items():
            for slot, child in nodes[node_id].children:
                counter = slots.setdefault(slot, Counter())
                for applied_id, count in closures[child].items():
                    counter[applied_id] += count * times
        worst: Counter[int] = Counter()
        for slot, counter in slots.items():
            if slot[1] != _ANY:  # a named child also gets what applies to every child of its kind
                counter = counter + slots.get((slot[0], _ANY), Counter())
            worst |= counter  # element-wise maximum: at least as much as any one child gets
        if worst.total() > limits.MAX_SCHEMA_SUBSCHEMAS_PER_VALUE:
            raise _too_many(f"depth {depth + 1} of the payload")
        if not worst:
            return
        applied = worst


def _too_many(where: str) -> SchemaGraphError:
    return SchemaGraphError(
        f"more than {limits.MAX_SCHEMA_SUBSCHEMAS_PER_VALUE} subschemas would apply to one value "
        f"(at {where}, references unfolded): every payload would take too long to check"
    )
