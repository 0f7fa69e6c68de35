"""Workflow step inputs -> the data the modals' flows take, with the modals' own validation.

Workflow Builder hands over what an ops manager mapped into each input: typed text, a form's
answer, an earlier step's output. Everything here is pure or a Coperniq read; a problem becomes a
StepFailed whose sentence names the step's input as Workflow Builder shows it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from bot.blocks.call import DISPOSITIONS, MAX_DURATION_MINUTES, OUTCOMES, REASONS, validate_call
from bot.blocks.request import validate_request
from bot.coperniq.errors import CoperniqError, NotFound
from bot.ids import Block, Callback
from bot.records import CLIENT, PROJECT, REQUEST, TYPES, find_project, find_record, resource
from bot.refs import NotARecordNumber, parse_id, parse_ref, ref_value, typed_number
from handlers.functions.specs import input_title

if TYPE_CHECKING:
    from bot.coperniq import CoperniqClient


class StepFailed(Exception):
    """The step cannot finish: `.user_message` is what Workflow Builder shows the person."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


# What people call each kind, as a word before a number: "request 17", "client #5".
KIND_WORDS: dict[str, str] = {
    "project": PROJECT.kind,
    "request": REQUEST.kind,
    "opportunity": REQUEST.kind,
    "client": CLIENT.kind,
    "account": CLIENT.kind,
}
_KIND_PREFIX = re.compile(r"^\s*(?P<word>[A-Za-z]+)\s*:?\s*(?P<rest>#?\s*\S+)\s*$")
# Slack text inputs turn a pasted link into <https://…> or <https://…|label>.
_SLACK_LINK = re.compile(r"^<(?P<url>[^|>]+)(?:\|[^>]*)?>$")
MAX_SHOWN = 60


def shown(value: object) -> str:
    """What a person typed, short and on one line, to quote back in an error."""
    text = " ".join(str(value).split())
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def text_of(inputs: Mapping[str, Any], name: str) -> str:
    """A text input, stripped ('' when absent or empty); numbers come through as text."""
    value = inputs.get(name)
    if value is None or isinstance(value, bool):
        return ""
    return str(value).strip()


def _problems(callback_id: str, errors: Mapping[str, str], names: Mapping[str, str]) -> str:
    parts = [f"{input_title(callback_id, names[block])}: {why}" for block, why in errors.items()]
    return " ".join(parts)


# --- records -----------------------------------------------------------------------------------


def _from_link(text: str, app_url: str) -> tuple[str, int] | None:
    """(kind, id) from a Coperniq web-app link to a project, request or client; else None."""
    match = _SLACK_LINK.match(text)
    url = urlparse(match.group("url") if match else text)
    if url.scheme not in ("http", "https") or not url.hostname:
        return None
    if url.hostname.casefold() != (urlparse(app_url).hostname or "").casefold():
        raise StepFailed(
            f"“{shown(text)}” is not a Coperniq link: links to records start with {app_url}."
        )
    segments = [s for s in url.path.split("/") if s]
    pages = {t.page: t.kind for t in TYPES.values()}
    # From the end: the last "{page}/{id}" pair names the record (".../388/project/123").
    for last, before in itertools.pairwise(reversed(segments)):
        kind = pages.get(before)
        record_id = parse_id(last)
        if kind and record_id is not None:
            return kind, record_id
    raise StepFailed(
        f"“{shown(text)}” is a Coperniq link, but not to a project, request or client."
    )


def _by_number(coperniq: CoperniqClient, kind: str, number: int) -> dict[str, Any] | None:
    """The record of `kind` with that number, else the one with that id, else None."""
    if kind == PROJECT.kind:
        return find_project(coperniq, str(number))
    found = resource(coperniq, kind).list(q=str(number), page_size=20)
    for record in itertools.islice(found, 20):
        if str(record.get("number")) == str(number):
            return record
    try:
        return resource(coperniq, kind).get(number)
    except NotFound:
        return None


def find_typed_record(
    coperniq: CoperniqClient, text: str, app_url: str
) -> tuple[str, dict[str, Any]] | None:
    """The record a person means by `text`, as the modals' record search finds it, or None.

    Takes 'project:12' (a picker's value), a Coperniq link, "request 17" / "client #5", and
    anything the call modal's typed record takes (a project number or id, a request's or
    client's number). Raises StepFailed for text that cannot name a record.
    """
    if ref := parse_ref(text):
        kind, record_id = ref
        try:
            return kind, resource(coperniq, kind).get(record_id)
        except NotFound:
            return None
    if link := _from_link(text, app_url):
        kind, record_id = link
        try:
            return kind, resource(coperniq, kind).get(record_id)
        except NotFound:
            return None
    if (match := _KIND_PREFIX.match(text)) and match.group("word").casefold() in KIND_WORDS:
        kind = KIND_WORDS[match.group("word").casefold()]
        number = typed_number(match.group("rest"))
        if number is None:
            raise StepFailed(
                f"“{shown(text)}”: after “{match.group('word')}” give its number, e.g. "
                f"{match.group('word').lower()} 1042."
            )
        record = _by_number(coperniq, kind, number)
        return (kind, record) if record is not None else None
    return find_record(coperniq, text)


def resolve_record(
    coperniq: CoperniqClient, text: str, app_url: str, *, what: str = "Record"
) -> tuple[str, dict[str, Any]]:
    """find_typed_record, with every way it can fail worded for the person."""
    if not text:
        raise StepFailed(f"{what}: give a project number, “request 17”, “client 5” or a link.")
    try:
        found = find_typed_record(coperniq, text, app_url)
    except NotARecordNumber as exc:
        raise StepFailed(f"{what}: {exc.user_message}") from None
    except CoperniqError as exc:
        raise StepFailed(
            f"Could not look up “{shown(text)}” in Coperniq. {exc.user_message}"
        ) from None
    if found is None or found[1].get("id") is None:
        raise StepFailed(
            f"{what}: no Coperniq project, request or client matches “{shown(text)}”. Give a "
            "project number (e.g. 1042), “request 17”, “client 5”, or the record's Coperniq link."
        )
    return found


# --- a new service request ----------------------------------------------------------------------

REQUEST_INPUTS = {
    Block.REQUEST_TITLE: "title",
    Block.REQUEST_ADDRESS: "address",
    Block.REQUEST_TRADES: "trades",
    Block.REQUEST_CONTACT: "contact_name",
    Block.REQUEST_PHONE: "contact_phone",
    Block.REQUEST_EMAIL: "contact_email",
    Block.REQUEST_DESCRIPTION: "description",
    Block.REQUEST_CLIENT: "client",
}


def match_trades(typed: str, known: list[str]) -> tuple[list[str], list[str]]:
    """(the known trades named in `typed`, the names that are none); commas separate them."""
    by_key = {" ".join(t.split()).casefold(): t for t in known}
    chosen: list[str] = []
    unknown: list[str] = []
    for part in re.split(r"[,;\n]", typed):
        name = " ".join(part.split())
        if not name:
            continue
        trade = by_key.get(name.casefold())
        if trade is None:
            unknown.append(name)
        elif trade not in chosen:
            chosen.append(trade)
    return chosen, unknown


def request_data(
    inputs: Mapping[str, Any], *, trades: list[str], client_ref: str | None
) -> dict[str, Any]:
    """The step's inputs as a parse_request result (what bot.flows.request creates)."""
    chosen, _ = match_trades(text_of(inputs, "trades"), trades)
    return {
        "title": text_of(inputs, "title"),
        "address": text_of(inputs, "address"),
        "trades": chosen,
        "contact": text_of(inputs, "contact_name"),
        "phone": text_of(inputs, "contact_phone"),
        "email": text_of(inputs, "contact_email"),
        "description": text_of(inputs, "description"),
        "client": client_ref,
    }


def check_request(inputs: Mapping[str, Any], data: Mapping[str, Any], trades: list[str]) -> None:
    """The request modal's validation, plus trades Coperniq does not know, as one StepFailed."""
    errors = validate_request(data)
    _, unknown = match_trades(text_of(inputs, "trades"), trades)
    if unknown:
        names = ", ".join(f"“{shown(u)}”" for u in unknown)
        errors[Block.REQUEST_TRADES] = (
            f"Coperniq has no trade {names}; use one or more of: {', '.join(trades)}."
        )
    if errors:
        problems = _problems(Callback.STEP_CREATE_REQUEST, errors, REQUEST_INPUTS)
        raise StepFailed(f"The service request was not created. {problems}")


# --- a call --------------------------------------------------------------------------------------

CALL_INPUTS = {
    Block.CALL_RECORD: "record",
    Block.CALL_DIRECTION: "direction",
    Block.CALL_FROM: "from_number",
    Block.CALL_TO: "to_number",
    Block.CALL_START: "started_at",
    Block.CALL_DURATION: "duration_minutes",
    Block.CALL_END: "duration_minutes",
    Block.CALL_REASON: "reason",
    Block.CALL_DISPOSITION: "disposition",
    Block.CALL_OUTCOME: "outcome",
    Block.CALL_NOTE: "note",
    Block.CALL_RECORDING: "recording_url",
}
DIRECTION_WORDS = {"inbound": "inbound", "in": "inbound", "outbound": "outbound", "out": "outbound"}


def enum_value(text: str, allowed: tuple[str, ...]) -> str | None:
    """'Revenue opportunity' / 'revenue_opportunity' -> 'REVENUE_OPPORTUNITY' when allowed."""
    value = "_".join(text.replace("-", " ").replace("_", " ").split()).upper()
    return value if value in allowed else None


def epoch_seconds(value: object) -> int | None:
    """A timestamp input (Unix seconds, as Workflow Builder sends it, or ISO 8601) -> seconds."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"[0-9]{1,12}(\.[0-9]+)?", text):
        return int(float(text))
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None  # a wall-clock time without a zone could be any of 24 hours
    return int(when.astimezone(UTC).timestamp())


def call_data(
    inputs: Mapping[str, Any], *, record: tuple[str, int] | None, company_phone: str | None
) -> dict[str, Any]:
    """The step's inputs as a parse_call result (what bot.flows.call logs); unchecked.

    `record` None: not looked up yet (check_call then checks only that one was given).
    """
    direction = DIRECTION_WORDS.get(text_of(inputs, "direction").casefold())
    from_number, to_number = text_of(inputs, "from_number"), text_of(inputs, "to_number")
    # The company's side of the call defaults to its own number, as the modal prefills it.
    if company_phone and direction == "inbound" and not to_number:
        to_number = company_phone
    if company_phone and direction == "outbound" and not from_number:
        from_number = company_phone
    start = epoch_seconds(inputs.get("started_at"))
    return {
        "record": ref_value(*record) if record else None,
        "direction": direction,
        "from": from_number,
        "to": to_number,
        "start": start,
        "duration": text_of(inputs, "duration_minutes"),
        "end": None,
        "reason": enum_value(text_of(inputs, "reason"), REASONS),
        "disposition": enum_value(text_of(inputs, "disposition"), DISPOSITIONS),
        "outcome": enum_value(text_of(inputs, "outcome"), OUTCOMES),
        "note": text_of(inputs, "note"),
        "recording": text_of(inputs, "recording_url"),
    }


def check_call(inputs: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    """The call modal's validation, worded for the step's inputs, as one StepFailed."""
    errors = validate_call(data)
    if data.get("record") is None:
        errors.pop(Block.CALL_RECORD, None)  # looked up after these checks
        if not text_of(inputs, "record"):
            errors[Block.CALL_RECORD] = "Give a project number, “request 17”, “client 5” or a link."
    if text_of(inputs, "started_at") and data.get("start") is None:
        errors[Block.CALL_START] = "Not a time: give a timestamp (or ISO 8601 with its zone)."
    if Block.CALL_DURATION in errors:
        errors[Block.CALL_DURATION] = f"Give whole minutes from 1 to {MAX_DURATION_MINUTES}."
    for block, allowed in ((Block.CALL_REASON, REASONS), (Block.CALL_DISPOSITION, DISPOSITIONS)):
        if block in errors:
            words = ", ".join(a.replace("_", " ").lower() for a in allowed)
            errors[block] = f"Use one of: {words}."
    if text_of(inputs, "outcome") and data.get("outcome") is None:
        errors[Block.CALL_OUTCOME] = "Use answered or missed."
    if Block.CALL_DIRECTION in errors:
        errors[Block.CALL_DIRECTION] = "Use inbound or outbound."
    if errors:
        problems = _problems(Callback.STEP_LOG_CALL, errors, CALL_INPUTS)
        raise StepFailed(f"The call was not logged. {problems}")
