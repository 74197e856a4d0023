"""Fuzzing the running local stack over HTTP: schema-driven (schemathesis) and hostile payloads (hypothesis).

Every answer must be one of the statuses docs/openapi.json documents for the call, with the documented
body and headers (X-Request-Id always; RateLimit-* on 2xx/429); never a 5xx, never a hang (every
client call has a timeout). The fuzz endpoint has a rate limit far above what a run sends, so 429 does
not mask the other answers; 429 has a test of its own.

Bounded for CI: FUZZ_EXAMPLES (default 25) examples per test. `make fuzz` runs a larger set
(FUZZ_EXAMPLES=500 and schemathesis' coverage phase, FUZZ_COVERAGE=1) and prints the figures this
module writes to .local-stack/fuzz-figures.json.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st
from schemathesis.checks import CHECKS, load_all_checks, not_a_server_error
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ingestctl.local.launcher import LocalStackProcess
from ingestctl.local.stack import LOG_DIR
from ingestctl.openapi import DOCUMENT_PATH
from session_ingest import limits
from session_ingest.domain import values
from session_ingest.domain.resource_ids import ResourceKind, parse_resource_id
from session_ingest.domain.session_fields import SESSION_FIELDS
from session_ingest.domain.urls import is_site_path
from tests.e2e.conftest import HttpAnswer, http, with_room_in_the_rate_window
from tests.e2e.support import StackEndpoint, create_stack_endpoint, headers_of
from tests.support.openapi_contract import DRY_RUN, INGEST, LISTING, assert_documented

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz, pytest.mark.xdist_group("e2e")]

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
FUZZ_COVERAGE = os.environ.get("FUZZ_COVERAGE") == "1"
CLIENT_TIMEOUT_SECONDS = 30
FIGURES_PATH = LOG_DIR / "fuzz-figures.json"
# High enough that a whole run never meets it.
FUZZ_RATE_LIMIT = 1_000_000

FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
)

# Every answer of the run, by suite and status: the figures of docs/RELIABILITY.md.
TALLY: Counter[tuple[str, int]] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    """Write the run's figures when the module is done (and say where)."""
    yield
    figures = _figures_of(TALLY)
    FIGURES_PATH.parent.mkdir(parents=True, exist_ok=True)
    FIGURES_PATH.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"fuzz figures ({FIGURES_PATH}): {json.dumps(figures)}", file=sys.stderr)


def _figures_of(tally: Counter[tuple[str, int]]) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    suites: dict[str, dict[str, int]] = {}
    for (suite, status), count in sorted(tally.items()):
        statuses[status] += count
        suites.setdefault(suite, {})[str(status)] = count
    return {
        "examples_per_test": FUZZ_EXAMPLES,
        "coverage_phase": FUZZ_COVERAGE,
        "cases": sum(tally.values()),
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "server_errors": sum(count for status, count in statuses.items() if status >= 500),
        "by_suite": suites,
    }


@pytest.fixture(scope="module")
def fuzz(stack: LocalStackProcess) -> StackEndpoint:
    """The endpoint under fuzz, its rate limit out of the way."""
    return create_stack_endpoint(stack, rate_limit=FUZZ_RATE_LIMIT)


@pytest.fixture(scope="module")
def other(stack: LocalStackProcess) -> StackEndpoint:
    """Another organisation's endpoint: its token must open nothing of `fuzz`."""
    return create_stack_endpoint(stack, organisation="other", rate_limit=FUZZ_RATE_LIMIT)


@pytest.fixture(scope="module")
def known_request_id(fuzz: StackEndpoint) -> str:
    """An accepted request of the fuzz endpoint, so outcome lookups also find something."""
    answer = fuzz.post({"session": {"organisation_uid": "fuzz-known", "name": "Known"}})
    assert answer.status == 200, answer.body
    request_id: str = answer.json["request_id"]
    return request_id


def _checked(suite: str, operation: tuple[str, str], answer: HttpAnswer) -> HttpAnswer:
    """Record the answer and hold it to the document (status, headers, body)."""
    TALLY[(suite, answer.status)] += 1
    assert_documented(operation, answer.status, headers_of(answer), answer.body)
    return answer


# ------------------------------------------------------------------------------------ schema-driven

SCHEMA = schemathesis.openapi.from_path(
    DOCUMENT_PATH,
    config=schemathesis.Config.from_dict(
        {
            "phases": {"coverage": {"enabled": FUZZ_COVERAGE}},
            "generation": {"mode": "all", "database": "none", "with-security-parameters": False},
            # A body over its route's byte limit is refused with 413 before it is read: a rejection too.
            "checks": {
                "negative_data_rejection": {
                    "expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]
                }
            },
        }
    ),
)
load_all_checks()
# `--checks all`: conformance of status, content type, headers and body; positive data accepted and
# negative data refused; auth not ignored; and the stateful and method checks schemathesis has.
ALL_CHECKS = list(CHECKS.get_all())
# Without a valid token every answer is a 401 (or 404/413/415): conformance is what there is to check.
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ_ORGANISATION = "acme"
# Idempotency-Keys the fuzz endpoint has accepted, with their bodies as sent (JSON text: 1, 1.0 and
# true are equal in Python, not on the wire): a schema-valid payload reusing a key with another body is
# rightly a 422 (`idempotency_conflict`), a rule between requests.
ACCEPTED_KEYS: dict[str, str] = {}


@SCHEMA.parametrize()
@SCHEMA.given(own_endpoint=st.booleans(), known_request=st.booleans())
@FUZZ
def test_with_a_valid_token_every_answer_is_documented(
    case: Any, own_endpoint: bool, known_request: bool, fuzz: StackEndpoint, known_request_id: str
) -> None:
    # Given a schemathesis case (positive or negative) for the fuzz endpoint, or for an id it drew
    if own_endpoint:
        case.path_parameters["endpoint_id"] = fuzz.endpoint_id
    if known_request and "request_id" in case.path_parameters:
        case.path_parameters["request_id"] = known_request_id
    # (a positive case breaking a rule the document states in words only is not positive: left out)
    if case.meta is not None and case.meta.generation.mode.is_positive:
        assume(not _breaks_a_rule_the_schema_states_in_words(case))
    # When it is sent with the fuzz endpoint's valid token
    response = case.call_and_validate(
        base_url=fuzz.api_url,
        headers={"Authorization": f"Bearer {fuzz.token}"},
        checks=ALL_CHECKS,
        timeout=CLIENT_TIMEOUT_SECONDS,
    )
    # Then (checked above) no 5xx; a documented status, content type, headers and body; schema-valid
    # payloads accepted and schema-invalid ones refused
    TALLY[("schemathesis: valid token", response.status_code)] += 1
    key = (case.headers or {}).get("Idempotency-Key")
    if key is not None and response.status_code == 200:
        ACCEPTED_KEYS.setdefault(key, _as_sent(case.body))


def _breaks_a_rule_the_schema_states_in_words(case: Any) -> bool:
    """The rules the OpenAPI document states in its descriptions only (no JSON Schema can say them).

    Between fields: finish_time before start_time; an external card link to a site path. Against the
    endpoint: a resource id of another organisation than the endpoint's. Between requests: an
    Idempotency-Key already accepted with another body, and a listing `cursor` the service did not issue
    (it is opaque and bound to the endpoint). And one JSON Schema cannot tell apart: a resource id written
    as a number with a zero fraction (`12.0`), which the API refuses. A batch breaks them when any of its
    items does (all invalid answers 422).
    """
    key = (case.headers or {}).get("Idempotency-Key")
    if key is not None and ACCEPTED_KEYS.get(key, _as_sent(case.body)) != _as_sent(case.body):
        return True
    if (case.query or {}).get("cursor") is not None:
        return True
    if not isinstance(case.body, dict):
        return False
    items = case.body.get("items")
    if _over_the_byte_limit(case.body, limits.MAX_BATCH_BODY_BYTES if "items" in case.body else None):
        return True
    sessions = (
        [item.get("session") for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    )
    return any(_session_breaks_a_rule(session) for session in [case.body.get("session"), *sessions])


def _over_the_byte_limit(body: dict[str, Any], batch_limit: int | None) -> bool:
    """A body (or a batch item) larger than its route takes: 413 or an invalid item, whatever its shape."""
    if batch_limit is None:
        return _encoded_size(body) > limits.MAX_BODY_BYTES
    items = body.get("items")
    single_items = items if isinstance(items, list) else []
    return _encoded_size(body) > batch_limit or any(
        _encoded_size(item) > limits.MAX_BODY_BYTES for item in single_items
    )


def _encoded_size(value: Any) -> int:
    return len(json.dumps(value, default=repr).encode("utf-8", "surrogatepass"))


def _session_breaks_a_rule(session: Any) -> bool:
    if not isinstance(session, dict):
        return False
    return (
        _finishes_before_it_starts(session)
        or _links_externally_to_a_site_path(session)
        or any(_of_another_organisation(session.get(field), kind) for field, kind in _RESOURCE_ID_FIELDS)
        or any(isinstance(session.get(field), float) for field, _ in _RESOURCE_ID_FIELDS)
    )


def _as_sent(body: Any) -> str:
    return json.dumps(body, default=repr)


_RESOURCE_ID_FIELDS: tuple[tuple[str, ResourceKind], ...] = (
    ("resource_id", "session"),
    ("location_resource_id", "location"),
)


def _finishes_before_it_starts(session: dict[str, Any]) -> bool:
    start, finish = session.get("start_time"), session.get("finish_time")
    if start is None or finish is None:
        return False
    try:
        return values.normalise_datetime(finish) < values.normalise_datetime(start)
    except values.InvalidValue:
        return False


def _links_externally_to_a_site_path(session: dict[str, Any]) -> bool:
    link_type, url = session.get("card_link_type"), session.get("card_link_url")
    if not isinstance(link_type, str) or not isinstance(url, str):
        return False
    return link_type.strip().lower() == "external" and is_site_path(url.strip(" \t\r\n"))


def _of_another_organisation(value: Any, kind: ResourceKind) -> bool:
    if not isinstance(value, str):
        return False
    try:
        owner, _ = parse_resource_id(value, kind, None)
    except values.InvalidValue:
        return False
    return owner is not None and owner != FUZZ_ORGANISATION


@SCHEMA.parametrize()
@SCHEMA.given(credentials=st.sampled_from(["none", "malformed", "forged", "other endpoint's"]))
@FUZZ
def test_without_a_valid_token_nothing_but_size_and_media_type_checks_come_before_401(
    case: Any, credentials: str, fuzz: StackEndpoint, other: StackEndpoint
) -> None:
    # Given a schemathesis case aimed at the fuzz endpoint
    case.path_parameters["endpoint_id"] = fuzz.endpoint_id
    # When it carries no token, a malformed one, a well-formed unknown one or another endpoint's
    authorization = {
        "none": None,
        "malformed": "Bearer not-a-token",
        "forged": f"Bearer sit_{'0' * 32}_{'A' * 43}",
        "other endpoint's": f"Bearer {other.token}",
    }[credentials]
    headers = {} if authorization is None else {"Authorization": authorization}
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    response = case.call_and_validate(
        base_url=fuzz.api_url, headers=headers, checks=CONFORMANCE, timeout=CLIENT_TIMEOUT_SECONDS
    )
    TALLY[("schemathesis: no valid token", response.status_code)] += 1
    # Then it is refused: 401, unless the size or media type check (which come first) refused it,
    # or a drawn request id does not even make a route of the API (404, token or not)
    routable = _is_routable(str(response.request.url))
    assert response.status_code in ({401, 413, 415} if routable else {404})


# A path segment the routers accept once decoded: word characters and URI punctuation (API Gateway takes
# any segment; Powertools' route pattern in the Lambda takes these). Anything else is no route: 404.
_ROUTABLE_SEGMENT = re.compile(r"[\w\-._~()'!*:@,;=+&$%<> \[\]{}|^]+")


def _is_routable(url: str) -> bool:
    segments = urllib.parse.unquote(urllib.parse.urlsplit(url).path).strip("/").split("/")
    return all(_ROUTABLE_SEGMENT.fullmatch(segment) for segment in segments) and len(segments) in {4, 5, 6}


# --------------------------------------------------------------------------------- hostile payloads

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
FIELDS = sorted(SESSION_FIELDS)
# contract §5: a background that is no object of CSS properties is ignored with a warning, not refused.
IGNORING_FIELDS = frozenset({"eventapp_background"})
POSTS = st.sampled_from([INGEST, DRY_RUN])


@given(
    value=JSON_VALUES,
    shape=st.sampled_from(["body", "session", "field"]),
    field=st.sampled_from(FIELDS),
    operation=POSTS,
)
@FUZZ
def test_any_json_value_is_a_documented_200_or_422(
    fuzz: StackEndpoint, value: Any, shape: str, field: str, operation: tuple[str, str]
) -> None:
    # Given any JSON value as the body, as the session, or as one session field
    payload = {"body": value, "session": {"session": value}, "field": {"session": {field: value}}}[shape]
    # When it is posted
    answer = _checked("random JSON", operation, fuzz.post(payload, operation))
    # Then it is accepted or refused field by field, never refused as malformed
    assert answer.status in {200, 422}


_CONTROL = st.sampled_from([chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]])
_LETTERS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
_OBJECTS = st.dictionaries(st.text(max_size=8), _SCALARS, max_size=3)


def _wrong_values(field: str) -> st.SearchStrategy[Any]:
    """Values no rule of contract §5 accepts for `field`, whatever its type."""
    wrong = (
        st.lists(_OBJECTS.filter(bool) | st.just({}), min_size=1, max_size=3)
        | st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x))
        | st.integers(min_value=limits.MAX_SAFE_INTEGER + 1)
        | st.integers(max_value=-limits.MAX_SAFE_INTEGER - 1)
        # A control character inside text (at the edges some, like \x0b, are whitespace and trimmed)
        | st.builds(lambda a, c, b: f"x{a}{c}{b}x", st.text(max_size=10), _CONTROL, st.text(max_size=10))
        | st.lists(_LETTERS, min_size=1, max_size=3)
    )
    return wrong if field == "eventapp_background" else wrong | _OBJECTS


@given(
    data=st.data(), field=st.sampled_from([f for f in FIELDS if f not in IGNORING_FIELDS]), operation=POSTS
)
@FUZZ
def test_a_wrong_type_in_any_session_field_is_a_422_naming_the_field(
    fuzz: StackEndpoint, data: st.DataObject, field: str, operation: tuple[str, str]
) -> None:
    # Given a valid session with one field holding a value of a type its rule refuses
    value = data.draw(_wrong_values(field), label="value")
    payload = {"session": {"organisation_uid": "fuzz-typed", "name": "Typed", field: value}}
    # When it is posted
    answer = _checked("wrong types", operation, fuzz.post(payload, operation))
    # Then it is a 422 whose details name that field
    assert answer.status == 422, answer.body
    assert field in {detail["field"] for detail in answer.json["details"]}


@given(data=st.data(), field=st.sampled_from(sorted(IGNORING_FIELDS)))
@FUZZ
def test_a_wrong_type_in_an_ignoring_field_is_left_out_with_a_warning(
    fuzz: StackEndpoint, data: st.DataObject, field: str
) -> None:
    # Given a valid session whose background is no object of CSS properties
    value = data.draw(_wrong_values(field), label="value")
    payload = {"session": {"organisation_uid": "fuzz-ignored", "name": "Ignored", field: value}}
    # When it is dry-run
    answer = _checked("ignored values", DRY_RUN, fuzz.post(payload, DRY_RUN))
    # Then the rest of the record is processed, the field left out with a warning naming it
    assert answer.status == 200, answer.body
    assert field not in answer.json["record"]
    assert answer.json["record"]["name"] == "Ignored"
    assert ("invalid_value_ignored", field) in {(w["code"], w["field"]) for w in answer.json["warnings"]}


@given(depth=st.integers(min_value=1, max_value=120), kind=st.sampled_from("[{"), decoy=st.booleans())
@FUZZ
def test_nesting_deeper_than_the_limit_is_a_400_and_up_to_it_is_parsed(
    fuzz: StackEndpoint, depth: int, kind: str, decoy: bool
) -> None:
    # Given a session whose `extra` nests `depth` levels below the session object (itself 2 deep),
    # optionally with brackets inside a string, which are not nesting
    opener, closer = ("[", "]") if kind == "[" else ('{"a":', "}")
    nested = opener * depth + "1" + closer * depth
    name = '"' + "[[[[{{{{" * 10 + '"' if decoy else '"n"'
    body = f'{{"session": {{"name": {name}, "extra": {nested}}}}}'.encode()
    # When it is posted
    answer = _checked("deep nesting", INGEST, fuzz.send(INGEST, body))
    # Then past the limit it is malformed JSON; up to it, it is parsed (extra is an unknown field)
    if depth + 2 > limits.MAX_JSON_DEPTH:
        assert (answer.status, answer.json["error_type"]) == (400, "malformed_json")
    else:
        assert answer.status == 200


_WIDE_CHARACTERS = st.sampled_from(["a", "é", "€", "😀"])


@given(
    size=st.integers(min_value=limits.MAX_BODY_BYTES - 16, max_value=limits.MAX_BODY_BYTES + 16)
    | st.integers(min_value=limits.MAX_BODY_BYTES - 4096, max_value=4 * limits.MAX_BODY_BYTES),
    wide=st.lists(_WIDE_CHARACTERS, max_size=64),
    operation=POSTS,
)
@example(size=limits.MAX_BODY_BYTES, wide=["😀"], operation=INGEST)
@example(size=limits.MAX_BODY_BYTES + 1, wide=["é"], operation=INGEST)
@FUZZ
def test_a_body_is_413_exactly_when_it_is_over_256_kib(
    fuzz: StackEndpoint, size: int, wide: list[str], operation: tuple[str, str]
) -> None:
    # Given a body of exactly `size` bytes, multi-byte characters included
    head = '{"session": {"name": "big", "description": "' + "".join(wide)
    tail = '"}}'
    filler = size - len((head + tail).encode())
    body = (head + "x" * max(filler, 0) + tail).encode()
    # When it is posted
    answer = _checked("body size", operation, fuzz.send(operation, body))
    # Then it is refused as too large exactly when it is over the limit (in bytes, not characters)
    assert (answer.status == 413) == (len(body) > limits.MAX_BODY_BYTES)
    if answer.status != 413:
        assert answer.status in {200, 422}  # a description over 65,535 characters is a field error


def _json_string(text: str) -> str:
    return json.dumps(text)[1:-1]


@given(
    prefix=st.text(max_size=10),
    suffix=st.text(max_size=10),
    surrogate=st.integers(min_value=0xD800, max_value=0xDFFF),
    in_key=st.booleans(),
    operation=POSTS,
)
@FUZZ
def test_an_unpaired_surrogate_escape_is_malformed_json(
    fuzz: StackEndpoint, prefix: str, suffix: str, surrogate: int, in_key: bool, operation: tuple[str, str]
) -> None:
    # Given a string (a value or a key) holding one \uD800-\uDFFF escape with no partner
    lone = f"{_json_string(prefix)}\\u{surrogate:04x}{_json_string(suffix)}"
    member = f'"{lone}": "x"' if in_key else f'"name": "{lone}"'
    body = f'{{"session": {{{member}}}}}'.encode()
    # When it is posted
    answer = _checked("lone surrogates", operation, fuzz.send(operation, body))
    # Then it is malformed JSON: such a string cannot be stored as UTF-8
    assert (answer.status, answer.json["error_type"]) == (400, "malformed_json")


@given(raw=st.sampled_from([b"\xed\xa0\x80", b"\xff", b"\xc3\x28", b"\xf0\x28\x8c\xbc", b"\xc0\xaf"]))
@settings(FUZZ, max_examples=5)
def test_a_body_that_is_not_utf8_is_malformed_json(fuzz: StackEndpoint, raw: bytes) -> None:
    # Given a body holding bytes that are not UTF-8 (an encoded surrogate, overlong forms, …)
    body = b'{"session": {"name": "' + raw + b'"}}'
    # When it is posted
    answer = _checked("invalid UTF-8", INGEST, fuzz.send(INGEST, body))
    # Then it is malformed JSON
    assert (answer.status, answer.json["error_type"]) == (400, "malformed_json")


@given(
    constant=st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "[NaN]", '{"x": Infinity}']),
    field=st.sampled_from(FIELDS),
    operation=POSTS,
)
@FUZZ
def test_nan_infinity_and_out_of_range_numbers_are_malformed_json(
    fuzz: StackEndpoint, constant: str, field: str, operation: tuple[str, str]
) -> None:
    # Given a session field holding a non-finite number (JSON has none; Python's parser accepts them)
    body = f'{{"session": {{"name": "n", "{field}": {constant}}}}}'.encode()
    # When it is posted
    answer = _checked("NaN/Infinity", operation, fuzz.send(operation, body))
    # Then it is malformed JSON
    assert (answer.status, answer.json["error_type"]) == (400, "malformed_json")


@given(
    key=st.text(max_size=12),
    first=JSON_VALUES,
    second=JSON_VALUES,
    level=st.sampled_from(["root", "session", "nested"]),
    operation=POSTS,
)
@FUZZ
def test_a_duplicate_key_is_malformed_json(
    fuzz: StackEndpoint, key: str, first: Any, second: Any, level: str, operation: tuple[str, str]
) -> None:
    # Given an object holding the same key twice, at the root, in the session or deeper
    pair = f"{json.dumps(key)}: {json.dumps(first)}, {json.dumps(key)}: {json.dumps(second)}"
    body = {
        "root": f'{{"session": {{"name": "n"}}, {pair}}}',
        "session": f'{{"session": {{{pair}}}}}',
        "nested": f'{{"session": {{"name": "n", "extra": [{{{pair}}}]}}}}',
    }[level].encode()
    # When it is posted
    answer = _checked("duplicate keys", operation, fuzz.send(operation, body))
    # Then it is malformed JSON, not silently the last value
    assert (answer.status, answer.json["error_type"]) == (400, "malformed_json")


_LATIN_1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF)
NOT_JSON_TYPES = [
    "text/plain",
    "text/json",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonx",
    "application/json-patch",
    "application/+json",
    "application/json; charset=latin-1",
    "application/json; charset=utf-16",
    "json",
    "*/*",
]
JSON_TYPES = [
    "application/json",
    "APPLICATION/JSON",
    "application/json; charset=utf-8",
    'application/json; charset="UTF-8"',
    "application/vnd.acme.session+json",
    "application/merge-patch+json",
]


@given(
    content_type=st.sampled_from(NOT_JSON_TYPES)
    | st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).filter(
        lambda t: "json" not in t.lower() and t.strip() == t
    ),
    operation=POSTS,
)
@FUZZ
def test_a_body_not_declared_as_json_is_415(
    fuzz: StackEndpoint, content_type: str, operation: tuple[str, str]
) -> None:
    # Given a valid payload declared as something other than UTF-8 JSON (or not declared at all)
    body = json.dumps({"session": {"name": "n"}}).encode()
    # When it is posted
    answer = _checked(
        "content types", operation, fuzz.send(operation, body, content_type=content_type or None)
    )
    # Then it is refused as an unsupported media type
    assert (answer.status, answer.json["error_type"]) == (415, "unsupported_media_type")


@pytest.mark.parametrize("content_type", JSON_TYPES)
def test_json_media_types_are_accepted(fuzz: StackEndpoint, content_type: str) -> None:
    # Given a valid payload declared as JSON in one of its accepted spellings
    body = json.dumps({"session": {"name": "n"}}).encode()
    # When it is posted
    answer = _checked("content types", INGEST, fuzz.send(INGEST, body, content_type=content_type))
    # Then it is accepted
    assert answer.status == 200, answer.body


@given(
    key=st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), min_size=1, max_size=300
    ).filter(lambda key: key.strip() == key),
    body=st.dictionaries(st.sampled_from(["name", "code"]), st.text(max_size=10), max_size=2),
)
@FUZZ
def test_any_idempotency_key_gets_a_documented_answer(
    fuzz: StackEndpoint, key: str, body: dict[str, str]
) -> None:
    # Given any printable Idempotency-Key (as HTTP carries it: Latin-1) with a small session
    payload = json.dumps({"session": {"organisation_uid": "fuzz-idem", **body}}).encode()
    headers = {"Idempotency-Key": key}
    # When it is posted
    answer = _checked("idempotency keys", INGEST, fuzz.send(INGEST, payload, headers=headers))
    # Then keys over 255 characters or with control characters are refused; others are accepted,
    # replayed, or in conflict with an earlier body
    if len(key) > limits.MAX_IDEMPOTENCY_KEY_CHARS or not key.isprintable():
        assert (answer.status, answer.json["error_type"]) == (400, "invalid_idempotency_key")
    else:
        assert answer.status in {200, 409, 422}


@given(
    query=st.dictionaries(
        st.sampled_from(["status", "since", "limit", "cursor"]),
        st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=60)
        | st.sampled_from(["queued", "failed", "2026-01-01T00:00:00Z", "1", "100", "101", "0"]),
        max_size=4,
    )
)
@FUZZ
def test_any_listing_query_gets_a_documented_200_or_400(fuzz: StackEndpoint, query: dict[str, str]) -> None:
    # Given any query string for the fuzz endpoint's listing (its own token)
    url = f"{fuzz.url_for(LISTING)}?{urllib.parse.urlencode(query)}"
    # When it is sent
    answer = _checked(
        "listing queries", LISTING, http("GET", url, headers={"Authorization": f"Bearer {fuzz.token}"})
    )
    # Then it is a page or a 400 invalid_query, never a server error
    assert answer.status in {200, 400}, answer.body
    if answer.status == 400:
        assert answer.json["error_type"] == "invalid_query"


# ------------------------------------------------------------------------------- single shapes


def test_the_rate_limit_answer_is_documented(stack: LocalStackProcess) -> None:
    # Given an endpoint allowing one request a minute, and its one request spent
    limited = create_stack_endpoint(stack, rate_limit=1)
    with_room_in_the_rate_window()  # all four requests in one window of the clock
    first = _checked("rate limit", INGEST, limited.post({"session": {"name": "one"}}))
    # When a second payload, a dry run and an invalid body follow within the minute
    answers = [
        _checked("rate limit", INGEST, limited.post({"session": {"name": "two"}})),
        _checked("rate limit", DRY_RUN, limited.post({"session": {"name": "two"}}, DRY_RUN)),
        _checked("rate limit", INGEST, limited.send(INGEST, b"{not json")),
    ]
    # Then the first was accepted with RateLimit-Remaining 0, and each later one is a documented 429
    assert (first.status, first.header("RateLimit-Remaining")) == (200, "0")
    for answer in answers:
        assert (answer.status, answer.json["error_type"]) == (429, "rate_limited")
        assert answer.header("RateLimit-Limit") == "1"
        assert 0 < int(answer.header("Retry-After") or "0") <= limits.RATE_WINDOW_SECONDS


def test_a_body_over_api_gateways_10_mb_is_refused_by_the_gateway_as_documented(
    fuzz: StackEndpoint,
) -> None:
    # Given a body larger than API Gateway accepts at all
    body = b'{"session": {"name": "' + b"x" * (10 * 1024 * 1024) + b'"}}'
    # When it is posted
    answer = _checked("body size", INGEST, fuzz.send(INGEST, body))
    # Then API Gateway refuses it with the documented 413 (no function involved)
    assert (answer.status, answer.json["error_type"]) == (413, "payload_too_large")


def test_the_documentation_is_served_by_the_local_stack(stack: LocalStackProcess) -> None:
    # Given the running stack
    api_url = stack.ready["api_url"]
    # When its OpenAPI document and Swagger UI are fetched
    document = http("GET", f"{api_url}/openapi.json")
    swagger = http("GET", f"{api_url}/swagger")
    # Then the document is the committed one, addressed to this stack
    committed = json.loads(Path(DOCUMENT_PATH).read_text(encoding="utf-8"))
    assert document.status == 200
    assert document.json["servers"] == [
        {"url": api_url, "description": "this local stack (`ingestctl local up`)"}
    ]
    assert {**document.json, "servers": committed["servers"]} == committed
    # And Swagger UI renders it from the stack itself (no internet)
    assert swagger.status == 200
    assert b"/swagger/swagger-ui-bundle.min.js" in swagger.body
    assert http("GET", f"{api_url}/swagger/swagger-ui-bundle.min.js").status == 200
