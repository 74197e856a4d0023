"""`eventapp_background` (SPEC §5): CSS properties filtered through an allow-list of value grammars.

Values are tokenised by tinycss2 (a real CSS parser) and every token must fit the property's grammar:
colours, gradients with colour stops, lengths, percentages and keywords. Everything that could fetch,
execute or escape (`url(`, `image(`, `expression(`, `behavior`, `-moz-binding`, `@import`, strings,
comments, `!important`, `;`, blocks, backslash escapes, `<`/`>`) fails the grammar. A failing
property is dropped alone with a warning; the rest are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import tinycss2
import tinycss2.ast

from session_ingest import limits
from session_ingest.domain.json_body import parse_json_body
from session_ingest.domain.values import InvalidValue, check_characters
from session_ingest.errors import MalformedJson

# warn(property, reason): called once per dropped property.
DropWarning = Callable[[str, str], None]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


NAMED_COLOURS = _words(
    """aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue blueviolet
    brown burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk crimson cyan darkblue
    darkcyan darkgoldenrod darkgray darkgreen darkgrey darkkhaki darkmagenta darkolivegreen darkorange
    darkorchid darkred darksalmon darkseagreen darkslateblue darkslategray darkslategrey darkturquoise
    darkviolet deeppink deepskyblue dimgray dimgrey dodgerblue firebrick floralwhite forestgreen fuchsia
    gainsboro ghostwhite gold goldenrod gray green greenyellow grey honeydew hotpink indianred indigo
    ivory khaki lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan
    lightgoldenrodyellow lightgray lightgreen lightgrey lightpink lightsalmon lightseagreen lightskyblue
    lightslategray lightslategrey lightsteelblue lightyellow lime limegreen linen magenta maroon
    mediumaquamarine mediumblue mediumorchid mediumpurple mediumseagreen mediumslateblue
    mediumspringgreen mediumturquoise mediumvioletred midnightblue mintcream mistyrose moccasin
    navajowhite navy oldlace olive olivedrab orange orangered orchid palegoldenrod palegreen
    paleturquoise palevioletred papayawhip peachpuff peru pink plum powderblue purple rebeccapurple red
    rosybrown royalblue saddlebrown salmon sandybrown seagreen seashell sienna silver skyblue slateblue
    slategray slategrey snow springgreen steelblue tan teal thistle tomato turquoise violet wheat white
    whitesmoke yellow yellowgreen transparent currentcolor"""
)
COLOUR_FUNCTIONS = _words("rgb rgba hsl hsla hwb")
GRADIENT_FUNCTIONS = _words(
    "linear-gradient radial-gradient conic-gradient "
    "repeating-linear-gradient repeating-radial-gradient repeating-conic-gradient"
)
GRADIENT_KEYWORDS = _words(
    "to at from left right top bottom center circle ellipse "
    "closest-side closest-corner farthest-side farthest-corner"
)
LENGTH_UNITS = _words("px em rem ex ch vw vh vmin vmax cm mm in pt pc q")
ANGLE_UNITS = _words("deg rad grad turn")
GLOBAL_KEYWORDS = _words("inherit initial unset revert")
POSITION_KEYWORDS = _words("left right top bottom center")
SIZE_KEYWORDS = _words("auto cover contain")
REPEAT_KEYWORDS = _words("repeat repeat-x repeat-y no-repeat space round")
ATTACHMENT_KEYWORDS = _words("scroll fixed local")
BOX_KEYWORDS = _words("border-box padding-box content-box")
BLEND_KEYWORDS = _words(
    "normal multiply screen overlay darken lighten color-dodge color-burn hard-light soft-light "
    "difference exclusion hue saturation color luminosity"
)


class CssRejected(ValueError):
    """One property value that fails its grammar; the message says why."""


@dataclass(frozen=True)
class Grammar:
    """What a property's value may contain: keywords, component kinds and separators."""

    keywords: frozenset[str] = frozenset()
    colours: bool = False
    gradients: bool = False
    lengths: bool = False
    numbers: bool = False
    separators: frozenset[str] = frozenset()


_LIST = frozenset({","})
GRAMMARS: dict[str, Grammar] = {
    "background-color": Grammar(colours=True),
    "color": Grammar(colours=True),
    "background-image": Grammar(keywords=frozenset({"none"}), gradients=True, separators=_LIST),
    "background-position": Grammar(keywords=POSITION_KEYWORDS, lengths=True, separators=_LIST),
    "background-size": Grammar(keywords=SIZE_KEYWORDS, lengths=True, separators=_LIST),
    "background-repeat": Grammar(keywords=REPEAT_KEYWORDS, separators=_LIST),
    "background-attachment": Grammar(keywords=ATTACHMENT_KEYWORDS, separators=_LIST),
    "background-origin": Grammar(keywords=BOX_KEYWORDS, separators=_LIST),
    "background-clip": Grammar(keywords=BOX_KEYWORDS | {"text"}, separators=_LIST),
    "background-blend-mode": Grammar(keywords=BLEND_KEYWORDS, separators=_LIST),
    "background": Grammar(
        keywords=POSITION_KEYWORDS
        | SIZE_KEYWORDS
        | REPEAT_KEYWORDS
        | ATTACHMENT_KEYWORDS
        | BOX_KEYWORDS
        | {"none"},
        colours=True,
        gradients=True,
        lengths=True,
        separators=frozenset({",", "/"}),
    ),
    "opacity": Grammar(numbers=True),
}


def normalise_background(value: Any, warn: DropWarning) -> dict[str, str]:
    """An object (or a JSON string of one) of CSS properties → the safe properties, values tidied."""
    properties = _as_object(value)
    if len(properties) > limits.MAX_CSS_PROPERTIES:
        raise InvalidValue(f"must hold at most {limits.MAX_CSS_PROPERTIES} CSS properties")
    kept: dict[str, str] = {}
    for name, raw in properties.items():
        prop = str(name).strip().lower()
        try:
            kept[prop] = normalise_declaration(prop, raw)
        except CssRejected as reason:
            warn(prop, str(reason))
    return kept


def normalise_declaration(prop: str, raw: Any) -> str:
    """One property's value, checked against its grammar; whitespace collapsed (a fixed point)."""
    grammar = GRAMMARS.get(prop)
    if grammar is None:
        raise CssRejected("the property is not allowed")
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raw = repr(raw)
    if not isinstance(raw, str):
        raise CssRejected("the value must be a string or a number")
    if len(raw) > limits.MAX_CSS_VALUE_CHARS:
        raise CssRejected(f"the value is longer than {limits.MAX_CSS_VALUE_CHARS} characters")
    if "\\" in raw:
        raise CssRejected("escapes (backslashes) are not allowed")
    try:
        check_characters(raw, multi_line=True)
    except InvalidValue as error:
        raise CssRejected(f"the value {error.message}") from None
    value = " ".join(raw.split())
    if not value:
        raise CssRejected("the value is empty")
    tokens = tinycss2.parse_component_value_list(value, skip_comments=False)
    _check_value(tokens, grammar)
    return value


def _as_object(value: Any) -> dict[Any, Any]:
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = parse_json_body(value)
        except MalformedJson as error:
            raise InvalidValue(f"must be an object or a JSON string of an object ({error.reason})") from None
    if not isinstance(value, dict):
        raise InvalidValue("must be an object of CSS properties or a JSON string of one")
    return value


def _check_value(tokens: Sequence[tinycss2.ast.Node], grammar: Grammar) -> None:
    components = [token for token in tokens if token.type != "whitespace"]
    if len(components) == 1 and _ident(components[0]) in GLOBAL_KEYWORDS:
        return
    for token in components:
        if token.type == "literal" and token.value in grammar.separators:
            continue
        if not _fits(token, grammar):
            raise CssRejected(_describe_rejection(token))


def _fits(token: tinycss2.ast.Node, grammar: Grammar) -> bool:
    ident = _ident(token)
    if ident is not None and ident in grammar.keywords:
        return True
    if grammar.colours and _is_colour(token):
        return True
    if grammar.gradients and _is_gradient(token):
        return True
    if grammar.lengths and _is_length_percentage(token):
        return True
    return grammar.numbers and token.type in ("number", "percentage")


def _ident(token: tinycss2.ast.Node) -> str | None:
    return str(token.lower_value) if token.type == "ident" else None


def _is_colour(token: tinycss2.ast.Node) -> bool:
    if token.type == "ident":
        return str(token.lower_value) in NAMED_COLOURS
    if token.type == "hash":
        text = str(token.value)
        return len(text) in (3, 4, 6, 8) and all(char in "0123456789abcdefABCDEF" for char in text)
    if token.type == "function" and token.lower_name in COLOUR_FUNCTIONS:
        return all(_is_colour_argument(argument) for argument in token.arguments)
    return False


def _is_colour_argument(token: tinycss2.ast.Node) -> bool:
    if token.type in ("whitespace", "number", "percentage"):
        return True
    if token.type == "literal":
        return token.value in {",", "/"}
    if token.type == "dimension":
        return str(token.lower_unit) in ANGLE_UNITS
    return bool(token.type == "ident" and token.lower_value == "none")


def _is_gradient(token: tinycss2.ast.Node) -> bool:
    if token.type != "function" or token.lower_name not in GRADIENT_FUNCTIONS:
        return False
    return all(_is_gradient_argument(argument) for argument in token.arguments)


def _is_gradient_argument(token: tinycss2.ast.Node) -> bool:
    if token.type in ("whitespace", "percentage", "number"):
        return True
    if token.type == "literal":
        return bool(token.value == ",")
    if token.type == "dimension":
        unit = str(token.lower_unit)
        return unit in LENGTH_UNITS or unit in ANGLE_UNITS
    if token.type == "ident" and token.lower_value in GRADIENT_KEYWORDS:
        return True
    return _is_colour(token)


def _is_length_percentage(token: tinycss2.ast.Node) -> bool:
    if token.type == "percentage":
        return True
    if token.type == "dimension":
        return str(token.lower_unit) in LENGTH_UNITS
    return bool(token.type == "number" and token.value == 0)


def _describe_rejection(token: tinycss2.ast.Node) -> str:
    kind = token.type
    if kind == "url" or (kind == "function" and token.lower_name == "url"):
        return "url() is not allowed"
    if kind == "function":
        return f"{str(token.lower_name)[:32]}() is not allowed here"
    if kind == "comment":
        return "comments are not allowed"
    if kind == "at-keyword":
        return f"@{str(token.lower_value)[:32]} is not allowed"
    if kind == "string":
        return "quoted strings are not allowed"
    if kind == "literal" and token.value == "!":
        return "!important is not allowed"
    if kind == "literal":
        return f"{token.value!r} is not allowed here"
    if kind.endswith("block"):
        return "brackets and blocks are not allowed"
    if kind == "ident":
        return f"{str(token.value)[:32]!r} is not a valid value here"
    if kind == "error":
        return f"the value is not valid CSS ({token.message})"
    return f"{tinycss2.serialize([token])[:32]!r} is not a valid value here"
