"""Cheaper update and condition expressions for the serial moto server (ingestctl.local.serial_moto).

moto parses an UpdateExpression afresh on every call, then runs ten validators over a copy of the tree,
three of which check only its shape (one clause of each kind, no overlapping paths, no key attribute set),
the first two once per nested expression node, so their cost grows with the square of the actions. Each
validator also rebuilds its node-type table for every node it visits. Measured by the local stack's
benchmark (`make bench-local-stack`): a consumer's TransactWriteItems (its request-outcome update sets 10
attributes) held serial_moto's DynamoDB lock for 12.4 ms of CPU, and every DynamoDB call waits for that
lock; 6.7 ms with this patch, which keeps moto's code path and its answers:

- the parse of an expression string is remembered (moto copies the tree before it changes it);
- the structural validators' verdict is a function of the expression, its ExpressionAttributeNames and
  the table's key attributes alone, so a combination that passed them once skips them afterwards; one
  that failed is never remembered and fails again, with moto's own error;
- a validator's node-type table is built once per validator;
- the validator's private copy of the parsed tree is made by pickling it, a third of `copy.deepcopy`'s
  time for the same copy (the tree holds plain nodes and strings, no values yet).

A ConditionExpression is lexed three times for each item of a transaction (moto's request checks, the
transaction, the write); its tokens depend on the expression's text alone and are remembered too.

Values, the item, functions, type checks and the update itself are evaluated on every call, as before.
Like moto_transactions, it is only applied in the serial moto server's process.
"""

from __future__ import annotations

import collections
import copy
import functools
import pickle
import weakref
from collections.abc import Callable
from typing import Any

from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.parsing import ast_nodes, validators
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

PARSED_EXPRESSIONS = 512  # distinct expression strings kept parsed (the service writes a few dozen)
LEXED_CONDITIONS = 512
# Checks of the expression's shape only: no values, no item.
STRUCTURAL_VALIDATORS = (
    validators.ActionCountValidator,
    validators.OverlappingPathsValidator,
    validators.UpdateHashRangeKeyValidator,
)

# moto's ast_nodes module is untyped (`# type: ignore` at its top): its traverser class is Any here.
DepthFirstTraverser: Any = ast_nodes.DepthFirstTraverser  # type: ignore[attr-defined]
Node: Any = ast_nodes.Node  # type: ignore[attr-defined]

# The signatures (names, key attributes) each parsed expression passed the structural checks with. Weak:
# an expression the parse cache lets go takes its verdicts with it.
_STRUCTURE_PASSED: weakref.WeakKeyDictionary[Any, set[tuple[Any, ...]]] = weakref.WeakKeyDictionary()


def _signature(validator: validators.UpdateExpressionValidator) -> tuple[Any, ...]:
    names = validator.expression_attribute_names or {}
    return (tuple(sorted(names.items())), tuple(validator.table.table_key_attrs))


def _validate(self: validators.UpdateExpressionValidator) -> Any:
    """moto's `Validator.validate`, skipping the structural validators for a known-good expression."""
    source = getattr(self, "_source_expression", None)
    passed = _STRUCTURE_PASSED.setdefault(source, set()) if source is not None else set()
    signature = _signature(self)
    known_good = signature in passed
    node = self.node_to_validate
    for processor in self.processors:
        if isinstance(processor, STRUCTURAL_VALIDATORS):
            if known_good:
                continue
            node = processor.traverse(node)
        else:
            if not known_good:  # every structural validator has run (they come first) and passed
                passed.add(signature)
                known_good = True
            node = processor.traverse(node)
    return node


def _remembering_source(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(self: validators.Validator, expression: Any, *args: Any, **kwargs: Any) -> None:
        original(self, expression, *args, **kwargs)
        self._source_expression = expression  # type: ignore[attr-defined]

    return __init__


def _nodes_to_be_processed(self: Any) -> tuple[type, ...]:
    types: tuple[type, ...] | None = self.__dict__.get("_node_types")
    if types is None:
        types = self.__dict__["_node_types"] = tuple(self._processing_map())
    return types


def _process(self: Any, node: Any) -> Any:
    processing_map: dict[type, Callable[[Any], Any]] | None = self.__dict__.get("_processors")
    if processing_map is None:
        processing_map = self.__dict__["_processors"] = self._processing_map()
    for node_type, processor in processing_map.items():
        if isinstance(node, node_type):
            return processor(node)
    return None


def _copy(value: Any) -> Any:
    """`copy.deepcopy` as moto's validators use it, by a pickle round trip for a parsed tree."""
    if isinstance(value, Node):
        try:
            return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301 - our own tree
        except (pickle.PicklingError, TypeError, AttributeError):
            pass
    return copy.deepcopy(value)


def _lexing_once(lex: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's condition lexer, remembered by the expression's text (it reads nothing else). The parser
    consumes the token deque it gets, so each call gets a deque of its own; the tokens are named tuples of
    strings, never changed."""

    @functools.lru_cache(maxsize=LEXED_CONDITIONS)
    def tokens_of(text: str) -> tuple[Any, ...]:
        return tuple(lex(ConditionExpressionParser(text, None, None)))

    @functools.wraps(lex)
    def _lex_condition_expression(self: Any) -> Any:
        return collections.deque(tokens_of(self.condition_expression))

    return _lex_condition_expression


def install() -> None:
    """Patch moto's update-expression handling in this process (idempotent)."""
    if getattr(UpdateExpressionParser.make, "cache_info", None) is not None:
        return
    parse = functools.lru_cache(maxsize=PARSED_EXPRESSIONS)(UpdateExpressionParser.make.__func__)
    UpdateExpressionParser.make = classmethod(parse)  # type: ignore[arg-type]
    validators.Validator.__init__ = _remembering_source(validators.Validator.__init__)  # type: ignore[method-assign]
    validators.UpdateExpressionValidator.validate = _validate  # type: ignore[method-assign,assignment]
    DepthFirstTraverser.nodes_to_be_processed = _nodes_to_be_processed
    DepthFirstTraverser.process = _process
    validators.deepcopy = _copy  # type: ignore[attr-defined,assignment]
    ConditionExpressionParser._lex_condition_expression = _lexing_once(  # type: ignore[method-assign,assignment]
        ConditionExpressionParser._lex_condition_expression
    )
