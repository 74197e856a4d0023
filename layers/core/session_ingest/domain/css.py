"""`eventapp_background` (contract §5): CSS properties filtered through an allow-list of value grammars.

The allow-list holds the ordinary presentational properties: colours and backgrounds, fonts, text,
spacing, borders and radius, shadows, sizing and display basics. Values are tokenised by tinycss2 (a
real CSS parser) and every token must fit the property's grammar: colours, gradients with colour
stops, lengths, percentages, numbers and keywords. Everything that could fetch, execute, escape or
overlay the page (`url(`, `image(`, `expression(`, `behavior`, `-moz-binding`, `@import`, strings,
comments, `!important`, `;`, blocks, backslash escapes, `<`/`>`, `position`, `z-index`) fails. A
failing property is dropped alone with a warning; the rest are kept, stored as tinycss2 serialises the
checked tokens (so `rgb(1,2,3` is stored closed, exactly as it was checked). A value that is not an
object of properties at all is ignored with a warning (`IgnoredValue`): the reference says "invalid
values are ignored".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import tinycss2
import tinycss2.ast

from session_ingest import limits
from session_ingest.domain.json_body import parse_json_body
from session_ingest.domain.values import IgnoredValue, InvalidValue, check_characters
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
FONT_SIZE_KEYWORDS = _words("xx-small x-small small medium large x-large xx-large xxx-large smaller larger")
FONT_WEIGHT_KEYWORDS = _words("normal bold bolder lighter")
FONT_STYLE_KEYWORDS = _words("normal italic oblique")
FONT_VARIANT_KEYWORDS = _words("normal small-caps")
TEXT_ALIGN_KEYWORDS = _words("left right center justify start end")
TEXT_DECORATION_KEYWORDS = _words("none underline overline line-through solid double dotted dashed wavy")
BORDER_STYLE_KEYWORDS = _words("none hidden dotted dashed solid double groove ridge inset outset")
BORDER_WIDTH_KEYWORDS = _words("thin medium thick")
INTRINSIC_SIZE_KEYWORDS = _words("min-content max-content fit-content")
DISPLAY_KEYWORDS = _words(
    "block inline inline-block flex inline-flex grid inline-grid flow-root list-item contents none"
)
OVERFLOW_KEYWORDS = _words("visible hidden clip scroll auto")
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
    any_identifier: bool = False  # font family names


_LIST = frozenset({","})
_SLASH = frozenset({"/"})
_SIDES = ("top", "right", "bottom", "left")
_CORNERS = ("top-left", "top-right", "bottom-right", "bottom-left")
_LENGTHS = Grammar(lengths=True)
_BORDER = Grammar(keywords=BORDER_STYLE_KEYWORDS | BORDER_WIDTH_KEYWORDS, colours=True, lengths=True)
_BORDER_WIDTH = Grammar(keywords=BORDER_WIDTH_KEYWORDS, lengths=True)
_BORDER_STYLE = Grammar(keywords=BORDER_STYLE_KEYWORDS)
_COLOUR = Grammar(colours=True)
_SHADOW = Grammar(keywords=frozenset({"none"}), colours=True, lengths=True, separators=_LIST)
_SIZE = Grammar(keywords=INTRINSIC_SIZE_KEYWORDS | {"auto"}, lengths=True)
_MAX_SIZE = Grammar(keywords=INTRINSIC_SIZE_KEYWORDS | {"none"}, lengths=True)
_OVERFLOW = Grammar(keywords=OVERFLOW_KEYWORDS)
_GAP = Grammar(keywords=frozenset({"normal"}), lengths=True)


def _per_side(pattern: str, grammar: Grammar, parts: tuple[str, ...] = _SIDES) -> dict[str, Grammar]:
    return {pattern.format(part): grammar for part in parts}


# Presentational properties beyond backgrounds: fonts, text, spacing, borders, shadows, sizing, display.
PRESENTATION_GRAMMARS: dict[str, Grammar] = {
    "font-family": Grammar(any_identifier=True, separators=_LIST),
    "font-size": Grammar(keywords=FONT_SIZE_KEYWORDS, lengths=True),
    "font-weight": Grammar(keywords=FONT_WEIGHT_KEYWORDS, numbers=True),
    "font-style": Grammar(keywords=FONT_STYLE_KEYWORDS),
    "font-variant": Grammar(keywords=FONT_VARIANT_KEYWORDS),
    "font": Grammar(
        keywords=FONT_SIZE_KEYWORDS | FONT_WEIGHT_KEYWORDS | FONT_STYLE_KEYWORDS | FONT_VARIANT_KEYWORDS,
        lengths=True,
        numbers=True,
        separators=_LIST | _SLASH,
        any_identifier=True,
    ),
    "line-height": Grammar(keywords=frozenset({"normal"}), lengths=True, numbers=True),
    "letter-spacing": Grammar(keywords=frozenset({"normal"}), lengths=True),
    "word-spacing": Grammar(keywords=frozenset({"normal"}), lengths=True),
    "text-align": Grammar(keywords=TEXT_ALIGN_KEYWORDS),
    "text-decoration": Grammar(keywords=TEXT_DECORATION_KEYWORDS, colours=True, lengths=True),
    "text-decoration-line": Grammar(keywords=_words("none underline overline line-through")),
    "text-decoration-style": Grammar(keywords=_words("solid double dotted dashed wavy")),
    "text-decoration-color": _COLOUR,
    "text-transform": Grammar(keywords=_words("none capitalize uppercase lowercase")),
    "text-indent": _LENGTHS,
    "text-shadow": _SHADOW,
    "text-overflow": Grammar(keywords=_words("clip ellipsis")),
    "white-space": Grammar(keywords=_words("normal nowrap pre pre-wrap pre-line break-spaces")),
    "word-break": Grammar(keywords=_words("normal break-all keep-all break-word")),
    "overflow-wrap": Grammar(keywords=_words("normal break-word anywhere")),
    "vertical-align": Grammar(
        keywords=_words("baseline sub super text-top text-bottom middle top bottom"), lengths=True
    ),
    "margin": Grammar(keywords=frozenset({"auto"}), lengths=True),
    **_per_side("margin-{}", Grammar(keywords=frozenset({"auto"}), lengths=True)),
    "padding": _LENGTHS,
    **_per_side("padding-{}", _LENGTHS),
    "border": _BORDER,
    **_per_side("border-{}", _BORDER),
    "border-width": _BORDER_WIDTH,
    **_per_side("border-{}-width", _BORDER_WIDTH),
    "border-style": _BORDER_STYLE,
    **_per_side("border-{}-style", _BORDER_STYLE),
    "border-color": _COLOUR,
    **_per_side("border-{}-color", _COLOUR),
    "border-radius": Grammar(lengths=True, separators=_SLASH),
    **_per_side("border-{}-radius", _LENGTHS, _CORNERS),
    "outline": _BORDER,
    "outline-width": _BORDER_WIDTH,
    "outline-style": _BORDER_STYLE,
    "outline-color": _COLOUR,
    "outline-offset": _LENGTHS,
    "box-shadow": Grammar(
        keywords=frozenset({"none", "inset"}), colours=True, lengths=True, separators=_LIST
    ),
    "width": _SIZE,
    "height": _SIZE,
    "min-width": _SIZE,
    "min-height": _SIZE,
    "max-width": _MAX_SIZE,
    "max-height": _MAX_SIZE,
    "box-sizing": Grammar(keywords=_words("content-box border-box")),
    "display": Grammar(keywords=DISPLAY_KEYWORDS),
    "visibility": Grammar(keywords=_words("visible hidden collapse")),
    "overflow": _OVERFLOW,
    "overflow-x": _OVERFLOW,
    "overflow-y": _OVERFLOW,
    "flex-direction": Grammar(keywords=_words("row row-reverse column column-reverse")),
    "flex-wrap": Grammar(keywords=_words("nowrap wrap wrap-reverse")),
    "justify-content": Grammar(
        keywords=_words("flex-start flex-end center space-between space-around space-evenly start end")
    ),
    "align-items": Grammar(keywords=_words("stretch flex-start flex-end center baseline start end")),
    "gap": _GAP,
    "row-gap": _GAP,
    "column-gap": _GAP,
}
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
    **PRESENTATION_GRAMMARS,
}


def normalise_background(value: Any, warn: DropWarning) -> dict[str, str]:
    """An object (or a JSON string of one) of CSS properties → the safe properties, values tidied.

    Raises IgnoredValue when `value` is no such object (the field is then left out, with a warning).
    """
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
    """One property's value, checked against its grammar, as tinycss2 serialises the checked tokens.

    Whitespace is collapsed first, so the result is a fixed point.
    """
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
    # What was checked is what is stored: tinycss2 closed any unclosed function (`rgb(1,2,3`).
    return str(tinycss2.serialize(tokens))


def _as_object(value: Any) -> dict[Any, Any]:
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = parse_json_body(value)
        except MalformedJson as error:
            raise IgnoredValue(
                f"was ignored: it must be an object or a JSON string of an object ({error.reason})"
            ) from None
    if not isinstance(value, dict):
        raise IgnoredValue("was ignored: it must be an object of CSS properties or a JSON string of one")
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
    if ident is not None and (ident in grammar.keywords or grammar.any_identifier):
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
