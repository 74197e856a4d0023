"""The session record (SPEC §5): every field, the rule that normalises it, and the cross-field checks.

The table below is the one place that says which rule applies to which field; the rules themselves
live in `values` (booleans, integers, text, times), `resource_ids`, `urls` and `css`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from session_ingest import limits
from session_ingest.domain import css, values
from session_ingest.domain.record_types import FieldContext, FieldRule, RecordType, shorten
from session_ingest.domain.resource_ids import normalise_resource_id
from session_ingest.domain.urls import is_site_path, normalise_link_url
from session_ingest.errors import FieldError

CARD_LINK_TYPES = frozenset({"internal", "external"})
# Speaker and track assignments are not available through ingest (SPEC §5): `speakers`, `tracks`,
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
    def warn(prop: str, reason: str) -> None:
        name = shorten(prop)
        context.warnings.add(
            "css_property_dropped",
            f"eventapp_background.{name}",
            f"CSS property {name!r} dropped: {reason}",
        )

    return css.normalise_background(value, warn)


_BOOLEAN = _plain(values.normalise_boolean)
_RECORD_ID = _plain(values.normalise_record_id)
_RECORD_IDS = _plain(values.normalise_record_id_list)
_MINUTES = _plain(values.normalise_non_negative_integer)
_TIME = _plain(values.normalise_datetime)

SESSION_FIELDS: dict[str, FieldRule] = {
    "resource_id": _session_id,
    "organisation_uid": _non_empty_identifier,
    "code": _single_line(),
    "name": _single_line(),
    "description": _multi_line,
    "start_time": _TIME,
    "finish_time": _TIME,
    "location_resource_id": _location_id,
    "active": _BOOLEAN,
    "restricted": _BOOLEAN,
    "restricted_allow_override": _BOOLEAN,
    "visible_in_api": _BOOLEAN,
    "allow_survey": _BOOLEAN,
    "skill_level": _single_line(),
    "sort_order": _plain(values.normalise_integer),
    "entry_buffer": _MINUTES,
    "related_content_buffer": _MINUTES,
    "categories": _RECORD_IDS,
    "traits": _RECORD_IDS,
    "card_content": _multi_line,
    "card_link_label": _single_line(),
    "card_link_type": _card_link_type,
    "card_link_url": _plain(normalise_link_url),
    "card_allow_rating": _BOOLEAN,
    "card_allow_comment": _BOOLEAN,
    "card_rating_message": _multi_line,
    "email_content_id": _RECORD_ID,
    "sms_content_id": _RECORD_ID,
    "related_email_content_id": _RECORD_ID,
    "related_sms_content_id": _RECORD_ID,
    "related_card_content_id": _RECORD_ID,
    "eventapp_promo_text": _multi_line,
    "eventapp_promo_logo": _single_line(limits.MAX_URL_CHARS),
    "eventapp_background": _background,
}


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
