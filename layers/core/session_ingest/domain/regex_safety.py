"""Which regular expressions an endpoint's JSON Schema may use (`pattern`, `patternProperties`), pure.

JSON Schema patterns are applied with Python's `re.search`, a backtracking engine: `^(a+)+$` takes
exponential time, and even `\\d+x` takes time quadratic in the string (it is tried from every start
position), so a 256 KiB payload could stall the function for minutes. Rather than guess at "evil"
shapes, a pattern is accepted only when the engine provably needs no real backtracking:

1. It is regular: no backreferences, lookaround or conditional groups.
2. Every choice the engine makes is decided by the next character. At each repetition whose count can
   vary (`*`, `+`, `?`, `{m,n}`), the characters that can start another iteration and those that can
   follow the repetition are disjoint, and the repeated part cannot match the empty string; the
   alternatives of a `|` start with pairwise disjoint characters. (So `(a+)+`, `(a|a)*`, `\\d+\\d+`
   and `[^@]+\\.[^@]+` are refused; `[a-z0-9]+(?:-[a-z0-9]+)*` and `[^@.]+(?:\\.[^@.]+)+` are fine.)
   A failed try then dies on its first character, so one start position costs time linear in the
   string.
3. It is anchored at the start (`^` without the MULTILINE flag, or `\\A`), or it can match at most
   MAX_UNANCHORED_PATTERN_MATCH_CHARS characters: an unanchored pattern is tried from every position.

Character sets are compared exactly on ASCII; beyond it, by the categories they may touch (digit,
other word character, space, other), so two sets that may share a non-ASCII character are taken to
overlap: a refusal on doubt, never an acceptance.
"""

from __future__ import annotations

import re

# The standard library's own regex parser (`sre_parse`'s home since 3.11; typeshed has no stubs for it).
import re._constants as sre  # type: ignore[import-not-found]
import re._parser as sre_parse  # type: ignore[import-not-found]
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from session_ingest import limits

_ASCII = range(128)
_CATEGORY_PROBES: dict[Any, re.Pattern[str]] = {
    sre.CATEGORY_DIGIT: re.compile(r"\d"),
    sre.CATEGORY_NOT_DIGIT: re.compile(r"\D"),
    sre.CATEGORY_SPACE: re.compile(r"\s"),
    sre.CATEGORY_NOT_SPACE: re.compile(r"\S"),
    sre.CATEGORY_WORD: re.compile(r"\w"),
    sre.CATEGORY_NOT_WORD: re.compile(r"\W"),
}
_NON_REGULAR = {
    sre.GROUPREF: "backreferences",
    sre.GROUPREF_EXISTS: "conditional groups",
    sre.ASSERT: "lookahead/lookbehind",
    sre.ASSERT_NOT: "negative lookahead/lookbehind",
}
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
_ONE_CHARACTER = (sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY)
_FIX = (
    "rewrite it so that what is repeated and what may follow it start with different characters "
    "(e.g. [^@.]+(?:\\.[^@.]+)+ rather than [^@]+\\.[^@]+)"
)


class UnsafePattern(ValueError):
    """A pattern that could make matching take more than linear time; the message says why."""


@dataclass(frozen=True)
class CharSet:
    """The characters one position may hold: exact on ASCII (a bit mask); beyond ASCII, which of the
    cells digit / other word character / space / anything else it may touch (a 4-bit mask)."""

    ascii_bits: int = 0
    cells: int = 0

    def __or__(self, other: CharSet) -> CharSet:
        return CharSet(self.ascii_bits | other.ascii_bits, self.cells | other.cells)

    def overlaps(self, other: CharSet) -> bool:
        return bool(self.ascii_bits & other.ascii_bits or self.cells & other.cells)


_DIGIT, _WORD, _SPACE, _OTHER = 1, 2, 4, 8
_ALL_CELLS = _DIGIT | _WORD | _SPACE | _OTHER
NOTHING = CharSet()
EVERYTHING = CharSet((1 << 128) - 1, _ALL_CELLS)
# Beyond ASCII, each category covers whole cells, so `\s` and `\S` are disjoint there too.
_CATEGORY_CELLS: dict[Any, int] = {
    sre.CATEGORY_DIGIT: _DIGIT,
    sre.CATEGORY_NOT_DIGIT: _WORD | _SPACE | _OTHER,
    sre.CATEGORY_SPACE: _SPACE,
    sre.CATEGORY_NOT_SPACE: _DIGIT | _WORD | _OTHER,
    sre.CATEGORY_WORD: _DIGIT | _WORD,
    sre.CATEGORY_NOT_WORD: _SPACE | _OTHER,
}
# Ranges beyond ASCII are scanned for their cells up to this many code points (beyond: every cell).
_MAX_SCANNED_RANGE = 4096


@dataclass(frozen=True)
class _Shape:
    first: CharSet  # the characters a match can start with
    nullable: bool  # it can match the empty string
    max_chars: int | None  # the longest match, None when unbounded


def check_linear_pattern(pattern: str) -> None:
    """Raise UnsafePattern unless `pattern` matches in linear time (see the module docstring)."""
    if len(pattern) > limits.MAX_SCHEMA_PATTERN_CHARS:
        raise UnsafePattern(f"is longer than {limits.MAX_SCHEMA_PATTERN_CHARS} characters")
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as error:
        raise UnsafePattern(f"is not a valid regular expression ({error})") from None
    analysis = _Analysis(ignore_case=bool(parsed.state.flags & re.IGNORECASE))
    items = list(parsed)
    analysis.check_sequence(items, NOTHING)
    if _is_anchored(items, multi_line=bool(parsed.state.flags & re.MULTILINE)):
        return
    longest = analysis.shape_of_sequence(items).max_chars
    if longest is None or longest > limits.MAX_UNANCHORED_PATTERN_MATCH_CHARS:
        raise UnsafePattern(
            "is not anchored with ^ (without the MULTILINE flag) and can match more than "
            f"{limits.MAX_UNANCHORED_PATTERN_MATCH_CHARS} characters: it would be tried from every "
            "position of the string, in quadratic time; start it with ^ (and .* if you mean 'contains')"
        )


def _is_anchored(items: list[tuple[Any, Any]], multi_line: bool) -> bool:
    if not items or items[0][0] is not sre.AT:
        return False
    at = items[0][1]
    return at is sre.AT_BEGINNING_STRING or (at is sre.AT_BEGINNING and not multi_line)


@dataclass
class _Analysis:
    ignore_case: bool

    def check_sequence(self, items: list[tuple[Any, Any]], follow: CharSet) -> None:
        """Check every choice point of `items`, given what can follow the whole sequence."""
        after = follow
        for op, av in reversed(items):
            self._check_item(op, av, after)
            shape = self._shape_of_item(op, av)
            after = shape.first | after if shape.nullable else shape.first

    def _check_item(self, op: Any, av: Any, follow: CharSet) -> None:
        if op in _NON_REGULAR:
            raise UnsafePattern(f"uses {_NON_REGULAR[op]}, which need a backtracking engine")
        if op is sre.SUBPATTERN:
            _group, add_flags, del_flags, body = av
            self._scoped(add_flags, del_flags).check_sequence(list(body), follow)
        elif op is sre.ATOMIC_GROUP:
            self.check_sequence(list(av), follow)
        elif op is sre.BRANCH:
            self._check_branch([list(branch) for branch in av[1]], follow)
        elif op in _REPEATS:
            self._check_repeat(op, av, follow)

    def _check_branch(self, branches: list[list[tuple[Any, Any]]], follow: CharSet) -> None:
        seen = NOTHING
        for branch in branches:
            shape = self.shape_of_sequence(branch)
            starts = shape.first | follow if shape.nullable else shape.first
            if starts.overlaps(seen):
                raise UnsafePattern(
                    "has alternatives (|) that can start with the same character; make each start "
                    "differently (e.g. a(?:b|c) rather than ab|ac)"
                )
            seen = seen | starts
            self.check_sequence(branch, follow)

    def _check_repeat(self, op: Any, av: Any, follow: CharSet) -> None:
        low, high, body = av
        items = list(body)
        shape = self.shape_of_sequence(items)
        if low != high:  # the engine chooses how many times: a choice point
            if shape.nullable:
                raise UnsafePattern("repeats something that can match the empty string")
            if op is not sre.POSSESSIVE_REPEAT and shape.first.overlaps(follow):
                raise UnsafePattern(
                    f"has a repetition that can be followed by a character it could also repeat; {_FIX}"
                )
        self.check_sequence(items, shape.first | follow if high > 1 else follow)

    def _scoped(self, add_flags: int, del_flags: int) -> _Analysis:
        if add_flags & re.IGNORECASE:
            return _Analysis(ignore_case=True)
        if del_flags & re.IGNORECASE:
            return _Analysis(ignore_case=False)
        return self

    def shape_of_sequence(self, items: Iterable[tuple[Any, Any]]) -> _Shape:
        first, nullable, total = NOTHING, True, 0
        longest: int | None = 0
        for op, av in items:
            shape = self._shape_of_item(op, av)
            if nullable:
                first = first | shape.first
            nullable = nullable and shape.nullable
            if longest is not None and shape.max_chars is not None:
                total += shape.max_chars
                longest = total
            else:
                longest = None
        return _Shape(first, nullable, longest)

    def _shape_of_item(self, op: Any, av: Any) -> _Shape:
        if op in _ONE_CHARACTER:
            return _Shape(self._characters(op, av), nullable=False, max_chars=1)
        if op is sre.SUBPATTERN:
            return self._scoped(av[1], av[2]).shape_of_sequence(av[3])
        if op is sre.ATOMIC_GROUP:
            return self.shape_of_sequence(av)
        if op is sre.BRANCH:
            shapes = [self.shape_of_sequence(branch) for branch in av[1]]
            first = NOTHING
            for shape in shapes:
                first = first | shape.first
            lengths = [shape.max_chars for shape in shapes]
            longest = None if None in lengths else max(length for length in lengths if length is not None)
            return _Shape(first, any(shape.nullable for shape in shapes), longest)
        if op in _REPEATS:
            low, high, body = av
            shape = self.shape_of_sequence(body)
            unbounded = high >= sre.MAXREPEAT or shape.max_chars is None
            return _Shape(
                shape.first, low == 0 or shape.nullable, None if unbounded else high * (shape.max_chars or 0)
            )
        return _Shape(NOTHING, nullable=True, max_chars=0)  # anchors and other zero-width items

    def _characters(self, op: Any, av: Any) -> CharSet:
        if op is sre.ANY:
            return EVERYTHING
        if op is sre.LITERAL:
            return self._with_case(_literal(av))
        if op is sre.NOT_LITERAL:
            return CharSet(EVERYTHING.ascii_bits & ~_literal(av).ascii_bits, _ALL_CELLS)
        return self._with_case(_character_class(av))

    def _with_case(self, chars: CharSet) -> CharSet:
        if not self.ignore_case:
            return chars
        bits = chars.ascii_bits
        for code in _ASCII:
            if bits >> code & 1 and chr(code).isalpha():
                bits |= 1 << ord(chr(code).swapcase())
        # Case folding reaches beyond ASCII (`k` matches the Kelvin sign, `s` the long s).
        return CharSet(bits, chars.cells | (_WORD if _has_letter(chars) else 0))


def _has_letter(chars: CharSet) -> bool:
    return any(chars.ascii_bits >> code & 1 and chr(code).isalpha() for code in _ASCII)


def _cell_of(code: int) -> int:
    char = chr(code)
    if char.isdigit() and re.fullmatch(r"\d", char):
        return _DIGIT
    if re.fullmatch(r"\w", char):
        return _WORD
    return _SPACE if re.fullmatch(r"\s", char) else _OTHER


def _literal(code: int) -> CharSet:
    return CharSet(1 << code) if code < 128 else CharSet(cells=_cell_of(code))


def _range(low: int, high: int) -> CharSet:
    bits = sum(1 << code for code in range(low, min(high, 127) + 1))
    start = max(low, 128)
    if high < start:
        return CharSet(bits)
    if high - start >= _MAX_SCANNED_RANGE:
        return CharSet(bits, _ALL_CELLS)
    cells = 0
    for code in range(start, high + 1):
        cells |= _cell_of(code)
    return CharSet(bits, cells)


def _character_class(items: list[tuple[Any, Any]]) -> CharSet:
    """A `[...]` class. For a negated class, only the cells a category covers entirely are removed."""
    chars, covered_cells, negated = NOTHING, 0, False
    for op, av in items:
        if op is sre.NEGATE:
            negated = True
        elif op is sre.LITERAL:
            chars = chars | _literal(av)
        elif op is sre.RANGE:
            chars = chars | _range(*av)
        elif op is sre.CATEGORY and av in _CATEGORY_PROBES:
            probe = _CATEGORY_PROBES[av]
            bits = sum(1 << code for code in _ASCII if probe.fullmatch(chr(code)))
            chars = chars | CharSet(bits, _CATEGORY_CELLS[av])
            covered_cells |= _CATEGORY_CELLS[av]
        else:  # anything this analysis does not model is taken to hold every character
            chars = EVERYTHING
    if negated:
        return CharSet(EVERYTHING.ascii_bits & ~chars.ascii_bits, _ALL_CELLS & ~covered_cells)
    return chars
