"""`eventapp_background`: allowed CSS properties kept, unsafe or invalid ones dropped one by one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from session_ingest import limits
from session_ingest.domain.css import normalise_background
from session_ingest.domain.values import IgnoredValue, InvalidValue


def background(value: Any) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Normalise `value`, returning the kept properties and the (property, reason) drops."""
    dropped: list[tuple[str, str]] = []
    kept = normalise_background(value, lambda prop, reason: dropped.append((prop, reason)))
    return kept, dropped


@pytest.mark.parametrize(
    ("prop", "value", "expected"),
    [
        ("background-color", "#0a2540", "#0a2540"),
        ("background-color", "#FFF", "#FFF"),
        ("background-color", "#ffffff80", "#ffffff80"),
        ("background-color", "rebeccapurple", "rebeccapurple"),
        ("background-color", "Transparent", "Transparent"),
        ("background-color", "rgba(10, 37, 64, 0.5)", "rgba(10, 37, 64, 0.5)"),
        ("background-color", "rgb(10 37 64 / 50%)", "rgb(10 37 64 / 50%)"),
        ("background-color", "hsl(210deg, 73%, 15%)", "hsl(210deg, 73%, 15%)"),
        ("color", "white", "white"),
        ("background-image", "linear-gradient(to right, #0a2540 0%, #fff 100%)", None),
        ("background-image", "radial-gradient(circle at center, red, blue)", None),
        ("background-image", "repeating-linear-gradient(45deg, red 0 10px, white 10px 20px)", None),
        ("background-image", "linear-gradient(red, blue), linear-gradient(90deg, #000, #fff)", None),
        ("background-image", "none", "none"),
        ("background-position", "center top", "center top"),
        ("background-position", "10px -5%", "10px -5%"),
        ("background-size", "cover", "cover"),
        ("background-size", "100% auto", "100% auto"),
        ("background-repeat", "no-repeat", "no-repeat"),
        ("background-attachment", "fixed", "fixed"),
        ("background-origin", "content-box", "content-box"),
        ("background-clip", "padding-box", "padding-box"),
        ("background-blend-mode", "multiply, screen", "multiply, screen"),
        ("background", "#000 linear-gradient(red, blue) center / cover no-repeat", None),
        ("opacity", "0.8", "0.8"),
        ("opacity", 0.5, "0.5"),
        ("opacity", 1, "1"),
        ("background-color", "inherit", "inherit"),
        ("Background-Color", "  red  ", "red"),
        ("background-image", "linear-gradient(\n  red,\n  blue\n)", "linear-gradient( red, blue )"),
    ],
)
def test_allowed_properties_with_valid_values_are_kept(prop: str, value: Any, expected: str | None) -> None:
    # Given one allowed property with a value its grammar accepts
    # When the background is normalised
    kept, dropped = background({prop: value})
    # Then it is kept (lower-case name, whitespace collapsed) and nothing is dropped
    assert dropped == []
    assert kept == {prop.strip().lower(): expected if expected is not None else value}


UNSAFE_DECLARATIONS = [
    ("background-image", "url(https://evil.example/x.png)", "url()"),
    ("background-image", "url('javascript:alert(1)')", "url()"),
    ("background-image", 'url("data:image/svg+xml,<svg/onload=alert(1)>")', "url()"),
    ("background-image", "URL(x)", "url()"),
    ("background-image", "u\\rl(x)", "escapes"),
    ("background-image", "\\75 rl(x)", "escapes"),
    ("background-image", "image-set('x.png' 1x)", "image-set()"),
    ("background-image", "image(x.png)", "image()"),
    ("background-image", "element(#id)", "element()"),
    ("background-image", "cross-fade(url(a), url(b))", "cross-fade()"),
    ("background-image", "linear-gradient(red, url(x))", "linear-gradient()"),
    ("background-image", "linear-gradient(red, var(--x))", "linear-gradient()"),
    ("background-image", "-webkit-gradient(linear, left top, left bottom, from(red), to(blue))", "()"),
    ("background-color", "expression(alert(1))", "expression()"),
    ("background-color", "EXPRESSION(alert(1))", "expression()"),
    ("background-color", "red; background-image: url(x)", "';'"),
    ("background-color", "red } body { color: red", "not valid CSS"),
    ("background-color", "red { color: red }", "blocks"),
    ("background-color", "red !important", "!important"),
    ("background-color", "red /* comment */", "comments"),
    ("background-color", "/**/expression(alert(1))", "comments"),
    ("background-color", "</style><script>alert(1)</script>", "not allowed"),
    ("background-color", "@import 'x.css'", "@import"),
    ("background-color", "'red'", "quoted strings"),
    ("background-color", "var(--brand)", "var()"),
    ("background-color", "calc(1px + 2px)", "calc()"),
    ("background-color", "attr(data-x)", "attr()"),
    ("background-color", "#ggg", "not a valid value"),
    ("background-color", "#12345", "not a valid value"),
    ("background-color", "notacolour", "not a valid value"),
    ("background-color", "re\\64", "escapes"),
    ("background-color", "red\x00", "control characters"),
    ("background-color", "", "empty"),
    ("background-color", ["red"], "string or a number"),
    ("background-color", True, "string or a number"),
    ("background-color", None, "string or a number"),
    ("background-color", "r" * (limits.MAX_CSS_VALUE_CHARS + 1), "longer than"),
    ("background-size", "javascript:alert(1)", "not a valid value"),
    ("opacity", "javascript:alert(1)", "not a valid value"),
    ("background-position", "10em 5furlongs", "not a valid value"),
    ("behavior", "url(x.htc)", "property is not allowed"),
    ("-moz-binding", "url(x.xml#xss)", "property is not allowed"),
    ("position", "fixed", "property is not allowed"),
    ("content", "'x'", "property is not allowed"),
    ("background-color:red;x", "red", "property is not allowed"),
    ("@import", "url(x)", "property is not allowed"),
]


@pytest.mark.parametrize(("prop", "value", "reason"), UNSAFE_DECLARATIONS, ids=repr)
def test_unsafe_or_invalid_properties_are_dropped_alone(prop: str, value: Any, reason: str) -> None:
    # Given one bad property beside a good one
    # When the background is normalised
    kept, dropped = background({prop: value, "background-repeat": "no-repeat"})
    # Then only the bad one is dropped, with its reason, and the good one is kept
    assert kept == {"background-repeat": "no-repeat"}
    assert len(dropped) == 1
    assert dropped[0][0] == prop.strip().lower()
    assert reason in dropped[0][1]


def test_a_json_string_of_an_object_is_accepted() -> None:
    # Given the background as a JSON-encoded string
    value = json.dumps({"background-color": "#fff", "background-image": "url(x)"})
    # When normalised
    kept, dropped = background(value)
    # Then it is read as the object it encodes, unsafe parts dropped
    assert kept == {"background-color": "#fff"}
    assert [prop for prop, _ in dropped] == ["background-image"]


@pytest.mark.parametrize("value", ["", "  ", {}])
def test_an_empty_background_is_an_empty_object(value: Any) -> None:
    # Given an empty background / When normalised / Then it is {} (which clears the background)
    assert background(value) == ({}, [])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("background-color: red", "JSON string"),
        ('["background-color", "red"]', "object of CSS properties"),
        ('{"background-color": "red", "background-color": "blue"}', "duplicate key"),
        ('{"opacity": NaN}', "NaN"),
        (["background-color"], "object of CSS properties"),
        (42, "object of CSS properties"),
        (True, "object of CSS properties"),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_a_background_that_is_no_object_is_ignored(value: Any, message: str) -> None:
    # Given a background that is neither an object nor a JSON string of one
    # When normalised / Then it is ignored (contract §5: "invalid values are ignored"), saying why
    with pytest.raises(IgnoredValue, match=message):
        background(value)


def test_a_background_with_too_many_properties_is_a_validation_error() -> None:
    # Given an object of more properties than the limit / When normalised / Then it is refused
    with pytest.raises(InvalidValue, match="at most"):
        background({f"p{i}": "red" for i in range(limits.MAX_CSS_PROPERTIES + 1)})


@pytest.mark.parametrize(
    ("prop", "value", "stored"),
    [
        ("background-image", "linear-gradient(red, blue", "linear-gradient(red, blue)"),
        ("background-color", "rgb(1,2,3", "rgb(1,2,3)"),
        ("background", "#000 radial-gradient(circle, red", "#000 radial-gradient(circle, red)"),
        ("box-shadow", "1px 1px 2px rgba(0, 0, 0, 0.5", "1px 1px 2px rgba(0, 0, 0, 0.5)"),
    ],
)
def test_an_unclosed_function_is_stored_as_it_was_checked(prop: str, value: str, stored: str) -> None:
    # Given a value whose function the CSS parser closes at the end of input
    # When the background is normalised
    kept, dropped = background({prop: value})
    # Then what is stored is the checked, closed form, not the raw text
    assert (kept, dropped) == ({prop: stored}, [])
    # And it is a fixed point
    assert background(kept) == (kept, [])


PRESENTATIONAL_DECLARATIONS = [
    ("font-family", "Helvetica, Arial, sans-serif"),
    ("font-size", "16px"),
    ("font-size", "1.25rem"),
    ("font-size", "larger"),
    ("font-weight", "700"),
    ("font-weight", "bold"),
    ("font-style", "italic"),
    ("font-variant", "small-caps"),
    ("font", "italic bold 12px/1.5 Georgia, serif"),
    ("line-height", "1.4"),
    ("letter-spacing", "0.05em"),
    ("word-spacing", "normal"),
    ("text-align", "center"),
    ("text-decoration", "underline dotted red"),
    ("text-transform", "uppercase"),
    ("text-indent", "2em"),
    ("text-shadow", "1px 1px 2px #000, 0 0 1em blue"),
    ("text-overflow", "ellipsis"),
    ("white-space", "nowrap"),
    ("vertical-align", "middle"),
    ("margin", "0 auto"),
    ("margin-top", "-4px"),
    ("padding", "8px 16px"),
    ("padding-left", "1rem"),
    ("border", "1px solid #ccc"),
    ("border-bottom", "thick double rgb(0, 0, 0)"),
    ("border-width", "thin medium"),
    ("border-style", "dashed"),
    ("border-color", "red"),
    ("border-top-color", "transparent"),
    ("border-radius", "8px"),
    ("border-radius", "10% / 50%"),
    ("border-top-left-radius", "4px 8px"),
    ("outline", "2px dotted blue"),
    ("box-shadow", "inset 0 1px 2px rgba(0, 0, 0, 0.2), 0 0 0 1px #fff"),
    ("width", "100%"),
    ("max-width", "640px"),
    ("min-height", "fit-content"),
    ("box-sizing", "border-box"),
    ("display", "inline-block"),
    ("display", "flex"),
    ("visibility", "hidden"),
    ("overflow", "hidden"),
    ("flex-direction", "column"),
    ("justify-content", "space-between"),
    ("align-items", "center"),
    ("gap", "12px"),
]


@pytest.mark.parametrize(("prop", "value"), PRESENTATIONAL_DECLARATIONS, ids=repr)
def test_ordinary_presentational_properties_are_kept(prop: str, value: str) -> None:
    # Given a font, text, spacing, border, shadow, sizing or display property with a valid value
    # When the background is normalised
    kept, dropped = background({prop: value})
    # Then it is kept as given
    assert (kept, dropped) == ({prop: value}, [])


UNSAFE_PRESENTATIONAL_DECLARATIONS = [
    ("font-family", "'Comic Sans'", "quoted strings"),
    ("font-family", "x, url(https://evil.example/f.woff)", "url()"),
    ("font-size", "expression(alert(1))", "expression()"),
    ("font-size", "calc(100vh * 10)", "calc()"),
    ("padding", "var(--x)", "var()"),
    ("border", "1px solid url(x)", "url()"),
    ("border-image", "url(x) 30", "property is not allowed"),
    ("box-shadow", "0 0 0 100vmax r\\65 d", "escapes"),
    ("text-shadow", "1px 1px red !important", "!important"),
    ("display", "block; position: fixed", "';'"),
    ("display", "fixed", "not a valid value"),
    ("position", "fixed", "property is not allowed"),
    ("position", "absolute", "property is not allowed"),
    ("z-index", "2147483647", "property is not allowed"),
    ("top", "0", "property is not allowed"),
    ("behavior", "url(x.htc)", "property is not allowed"),
    ("-moz-binding", "url(x.xml#xss)", "property is not allowed"),
    ("cursor", "url(x.cur), auto", "property is not allowed"),
    ("font-weight", "heavy", "not a valid value"),
    ("text-align", "center</style>", "not allowed"),
]


@pytest.mark.parametrize(("prop", "value", "reason"), UNSAFE_PRESENTATIONAL_DECLARATIONS, ids=repr)
def test_presentational_values_keep_the_value_grammar_discipline(prop: str, value: str, reason: str) -> None:
    # Given a presentational property whose value could fetch, execute, escape or overlay the page
    # When the background is normalised beside a good property
    kept, dropped = background({prop: value, "font-style": "normal"})
    # Then that property alone is dropped, saying why
    assert kept == {"font-style": "normal"}
    assert [name for name, _ in dropped] == [prop]
    assert reason in dropped[0][1]


def test_normalised_backgrounds_are_fixed_points() -> None:
    # Given a background normalised once
    kept, _ = background(
        {"Background-Image": " linear-gradient( to right ,\n red 0% , blue ) ", "opacity": 0.25}
    )
    # When normalised again / Then nothing changes
    assert background(kept) == (kept, [])
