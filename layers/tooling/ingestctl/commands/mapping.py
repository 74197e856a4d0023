"""`ingestctl map`: map and normalise a payload offline, exactly as the ingest endpoint would (no AWS)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from ingestctl.commands.failures import EXIT_BAD_INPUT, EXIT_FAILED, fail
from ingestctl.commands.output import emit
from session_ingest.domain.json_body import parse_json_body
from session_ingest.domain.mapping import load_mapping_rules, map_payload
from session_ingest.domain.models import MappingRules
from session_ingest.errors import InvalidMapping, MalformedJson

EXIT_FIELD_ERRORS = EXIT_FAILED


def map_command(
    payload_file: Annotated[
        str, typer.Argument(metavar="PAYLOAD_FILE|-", help="JSON payload file, or - for stdin")
    ],
    org: Annotated[
        str | None,
        typer.Option("--org", help="The endpoint's organisation: ids of another organisation are rejected"),
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="Mapping rules file (JSON; see README 'Mapping rules')")
    ] = None,
) -> None:
    """Print the normalised record and warnings (exit 0), or the field errors (exit 1)."""
    rules = _load_rules(mapping) if mapping is not None else MappingRules()
    try:
        payload = parse_json_body(_read_payload(payload_file))
    except MalformedJson as error:
        _fail(f"invalid JSON in {_describe(payload_file)}: {error.reason}")
    result = map_payload(payload, rules, org)
    if result.errors or result.record is None:
        emit({"errors": [error.as_dict() for error in result.errors]})
        raise typer.Exit(EXIT_FIELD_ERRORS)
    emit({"record": result.record, "warnings": [warning.model_dump() for warning in result.warnings]})


def _load_rules(path: Path) -> MappingRules:
    try:
        return load_mapping_rules(parse_json_body(path.read_bytes()))
    except OSError as error:
        _fail(f"cannot read mapping file {path}: {error.strerror or error}")
    except MalformedJson as error:
        _fail(f"invalid JSON in mapping file {path}: {error.reason}")
    except InvalidMapping as error:
        _fail(f"invalid mapping file {path}: {error.reason}")


def _read_payload(payload_file: str) -> bytes:
    if payload_file == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(payload_file).read_bytes()
    except OSError as error:
        _fail(f"cannot read payload file {payload_file}: {error.strerror or error}")


def _describe(payload_file: str) -> str:
    return "standard input" if payload_file == "-" else payload_file


def _fail(message: str) -> NoReturn:
    fail(message, EXIT_BAD_INPUT)
