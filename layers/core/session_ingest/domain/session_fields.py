"""The session record (contract §5): every field, the rule that normalises it, and the cross-field checks.

`SESSION_RECORD_FIELDS` is the one description of the record: for each field its rule, the type of
its normalised value and the JSON Schema of the raw values accepted. The rules themselves live in
`values` (booleans, integers, text, times), `resource_ids`, `urls` and `css`; the schemas of accepted
values in `value_schemas`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from session_ingest import limits
from session_ingest.domain import value_schemas, values
from session_ingest.domain.record_types import FieldContext, FieldRule, RecordType, shorten
from session_ingest.domain.resource_ids import normalise_resource_id
from session_ingest.domain.urls import is_site_path, normalise_link_url
from session_ingest.domain.value_schemas import JsonSchema
from session_ingest.errors import FieldError

CARD_LINK_TYPES = frozenset({"internal", "external"})
# Speaker and track assignments are not available through ingest (contract §5): `speakers`, `tracks`,
# `speaker_ids`, `track_resource_ids`, … are recognised and reported as `unsupported_field`.
_UNSUPPORTED_FIELD = re.compile(r"(?:speaker|track)s?(?:_.*)?", re.IGNORECASE | re.DOTALL)


def _plain(normalise: Callable[[Any], Any]) -> FieldRule:
    """A rule that needs nothing but the value."""
    return lambda value, _context: normalise(value)


def _single_line(max_chars: int = limits.MAX_SINGLE_LINE_TEXT_CHARS) -> FieldRule:
    return lambda value, _context: values.normalise_text(value, max_chars=max_chars)


def _multi_line(value: Any, _context: FieldContext) -> str:
    return values.normalise_text(value, max_chars=limits.MAX_MULTI_LINE_TEXT_CHARS, multi_line=True)


def _non_empty_identifier(value: Any, _context: FieldContext) -> str:
    text = values.normalise_text(value, max_chars=limits.MAX_SINGLE_LINE_TEXT_CHARS)
    if not text:
        raise values.InvalidValue("must not be empty")
    return text


def _session_id(value: Any, context: FieldContext) -> str:
    return normalise_resource_id(value, "session", context.organisation)


def _location_id(value: Any, context: FieldContext) -> str:
    return normalise_resource_id(value, "location", context.organisation)


def _card_link_type(value: Any, _context: FieldContext) -> str:
    return values.normalise_choice(value, CARD_LINK_TYPES)


def _background(value: Any, context: FieldContext) -> dict[str, str]:
    # Imported here: the CSS parser (tinycss2) is only needed for a payload that has a background.
    from session_ingest.domain import css

    def warn(prop: str, reason: str) -> None:
        name = shorten(prop)
        context.warnings.add(
            "css_property_dropped",
            f"eventapp_background.{name}",
            f"CSS property {name!r} dropped: {reason}",
        )

    return css.normalise_background(value, warn)


@dataclass(frozen=True, slots=True)
class SessionField:
    """One kind of session field: its rule, the type of its normalised value, the raw values accepted.

    `stored` annotates the normalised record model (`session_record_model`); `accepts` is the JSON
    Schema of the raw values the rule accepts (the request side of the OpenAPI document).
    """

    rule: FieldRule
    stored: Any
    accepts: JsonSchema


def _text(max_chars: int = limits.MAX_SINGLE_LINE_TEXT_CHARS, *, multi_line: bool = False) -> SessionField:
    rule = _multi_line if multi_line else _single_line(max_chars)
    return SessionField(rule, str, value_schemas.text_value(max_chars, multi_line=multi_line))


def _integer(normalise: Callable[[Any], int], minimum: int) -> SessionField:
    """An integer field; `normalise` is the `values` rule for integers from `minimum`."""
    return SessionField(
        _plain(normalise),
        Annotated[int, Field(ge=minimum, le=limits.MAX_SAFE_INTEGER)],
        value_schemas.integer_value(minimum),
    )


def _url(what: str) -> SessionField:
    return SessionField(_plain(normalise_link_url), str, value_schemas.url_value(what))


_UTC_TIME = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")]
_BOOLEAN = SessionField(_plain(values.normalise_boolean), bool, value_schemas.boolean_value())
_RECORD_ID = _integer(values.normalise_record_id, 1)
_RECORD_IDS = SessionField(
    _plain(values.normalise_record_id_list),
    list[Annotated[int, Field(ge=1, le=limits.MAX_SAFE_INTEGER)]],
    value_schemas.record_id_list(),
)
_MINUTES = _integer(values.normalise_non_negative_integer, 0)
_TIME = SessionField(_plain(values.normalise_datetime), _UTC_TIME, value_schemas.datetime_value())
_SINGLE_LINE = _text()
_MULTI_LINE = _text(limits.MAX_MULTI_LINE_TEXT_CHARS, multi_line=True)

# The session record (contract §5), in output order: the one list of its fields. The mapper's rules
# (`SESSION_FIELDS`), the normalised record's model and the OpenAPI request and response schemas are
# all derived from it, so adding a field is one line here (plus its rule, if it needs a new one).
SESSION_RECORD_FIELDS: dict[str, SessionField] = {
    "resource_id": SessionField(
        _session_id,
        Annotated[str, Field(examples=["acme/session/12"])],
        value_schemas.resource_id_value("session"),
    ),
    "organisation_uid": SessionField(
        _non_empty_identifier,
        str,
        value_schemas.text_value(limits.MAX_SINGLE_LINE_TEXT_CHARS, non_empty=True),
    ),
    "code": _SINGLE_LINE,
    "name": _SINGLE_LINE,
    "description": _MULTI_LINE,
    "start_time": _TIME,
    "finish_time": _TIME,
    "location_resource_id": SessionField(
        _location_id,
        Annotated[str, Field(examples=["acme/location/3"])],
        value_schemas.resource_id_value("location"),
    ),
    "active": _BOOLEAN,
    "restricted": _BOOLEAN,
    "restricted_allow_override": _BOOLEAN,
    "visible_in_api": _BOOLEAN,
    "allow_survey": _BOOLEAN,
    "skill_level": _SINGLE_LINE,
    "sort_order": _integer(values.normalise_integer, -limits.MAX_SAFE_INTEGER),
    "entry_buffer": _MINUTES,
    "related_content_buffer": _MINUTES,
    "categories": _RECORD_IDS,
    "traits": _RECORD_IDS,
    "card_content": _MULTI_LINE,
    "card_link_label": _SINGLE_LINE,
    "card_link_type": SessionField(
        _card_link_type, Literal["internal", "external"], value_schemas.choice_value(CARD_LINK_TYPES)
    ),
    "card_link_url": _url("The card's link (a site path only when `card_link_type` is not `external`)"),
    "card_allow_rating": _BOOLEAN,
    "card_allow_comment": _BOOLEAN,
    "card_rating_message": _MULTI_LINE,
    "email_content_id": _RECORD_ID,
    "sms_content_id": _RECORD_ID,
    "related_email_content_id": _RECORD_ID,
    "related_sms_content_id": _RECORD_ID,
    "related_card_content_id": _RECORD_ID,
    "eventapp_promo_text": _MULTI_LINE,
    "eventapp_promo_logo": _url("The promotion's logo image"),
    "eventapp_background": SessionField(_background, dict[str, str], value_schemas.css_properties_value()),
}

SESSION_FIELDS: dict[str, FieldRule] = {name: field.rule for name, field in SESSION_RECORD_FIELDS.items()}


@functools.cache
def session_record_model() -> type[BaseModel]:
    """The normalised session record as a pydantic model (strict; absent fields are absent, never null).

    Built on first use, not at import: the Lambdas map payloads as plain dicts and never need it.
    Validate with `model_validate(record)`; `model_dump(exclude_unset=True)` gives the record back.
    """
    fields: dict[str, Any] = {
        name: (field.stored, Field(default=None, json_schema_extra=_no_default))
        for name, field in SESSION_RECORD_FIELDS.items()
    }
    model: type[BaseModel] = create_model(
        "NormalisedSession",
        __config__=ConfigDict(extra="forbid", strict=True),
        __doc__="A session record after mapping and normalisation: absent fields are absent, never null.",
        **fields,
    )
    return model


def _no_default(schema: dict[str, Any]) -> None:
    """Absent means "not given": the record model documents no default (and never null)."""
    schema.pop("default", None)


def is_unsupported_session_field(name: str) -> bool:
    return _UNSUPPORTED_FIELD.fullmatch(name) is not None


def check_session(record: dict[str, Any]) -> list[FieldError]:
    """Rules between fields of one payload: time order, and external links need absolute URLs.

    Both compare only what this payload carries; stored values are the consumer's concern.
    """
    errors: list[FieldError] = []
    start, finish = record.get("start_time"), record.get("finish_time")
    # The canonical form is fixed-width UTC, so string order is time order.
    if start is not None and finish is not None and finish < start:
        errors.append(FieldError("finish_time", f"must not be before start_time ({start})"))
    errors.extend(check_card_link(record))
    return errors


def check_card_link(record: dict[str, Any]) -> list[FieldError]:
    """An external link needs an absolute URL. The consumer applies this to the merged session too,
    so a later payload cannot flip `card_link_type` to "external" under a stored site path."""
    url = record.get("card_link_url")
    if record.get("card_link_type") == "external" and url is not None and is_site_path(str(url)):
        return [
            FieldError("card_link_url", 'must be an absolute http(s) URL when card_link_type is "external"')
        ]
    return []


SESSION_RECORD = RecordType(
    name="session",
    fields=SESSION_FIELDS,
    is_unsupported_field=is_unsupported_session_field,
    cross_checks=check_session,
)
