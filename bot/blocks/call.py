"""Log-a-call modal: build, parse, validate, the Coperniq CallCreate body, and the confirmation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from bot.blocks.common import (
    MIN_SEARCH_CHARS,
    context,
    escape,
    external_select,
    flatten_state,
    input_block,
    link_button,
    modal,
    mrkdwn,
    option,
    section,
    static_select,
    text_input,
    truncate,
    versioned,
)
from bot.ids import Action, Block, Callback
from bot.phones import display, to_e164
from bot.records import parse_value

TITLE = "Log a call"

# The spec's CallCreate enums (components/schemas/CallCreateReason, ...Disposition, ...Outcome).
REASONS = (
    "PRODUCT",
    "PROCESS",
    "SERVICE",
    "ACCOUNTING",
    "REVENUE_OPPORTUNITY",
    "FEEDBACK",
    "OTHER",
)
DISPOSITIONS = (
    "INFO_PROVIDED",
    "VISIT_SCHEDULED",
    "ISSUE_RESOLVED",
    "FOLLOW_UP",
    "ESCALATION",
    "NO_ACTION",
    "UNRESPONSIVE",
    "OTHER",
)
OUTCOMES = ("ANSWERED", "MISSED")
DIRECTIONS = ("inbound", "outbound")

MAX_DURATION_MINUTES = 24 * 60


def label(enum_value: str) -> str:
    """REVENUE_OPPORTUNITY -> 'Revenue opportunity'."""
    return enum_value.replace("_", " ").capitalize()


def numbers_for_direction(
    direction: str, company_phone: str | None, from_number: str | None, to_number: str | None
) -> tuple[str | None, str | None]:
    """(from, to): the company number on the side the direction puts it, the customer's opposite."""
    company = to_e164(company_phone) if company_phone else None

    def is_company(n: str | None) -> bool:
        return bool(company and n and to_e164(n) == company)

    other = next((n for n in (from_number, to_number) if n and not is_company(n)), None)
    if not company:
        return from_number, to_number
    if direction == "outbound":
        return display(company), other
    return other, display(company)


def build_call_modal(
    meta: Mapping[str, Any],
    *,
    now: datetime,
    values: Mapping[str, Any] | None = None,
    record_option: dict[str, Any] | None = None,
    company_phone: str | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    """The call form. `values` (a parse_call result) keeps what was typed across updates."""
    v = dict(values or {})
    direction = v.get("direction") or "inbound"
    from_number, to_number = v.get("from"), v.get("to")
    if "from" not in v and "to" not in v:
        from_number, to_number = numbers_for_direction(direction, company_phone, None, None)
    start = v.get("start") or int(now.timestamp())
    direction_opts = [
        option("Inbound (they called us)", "inbound"),
        option("Outbound (we called them)", "outbound"),
    ]
    direction_el: dict[str, Any] = {
        "type": "radio_buttons",
        "action_id": Action.CALL_DIRECTION,
        "options": direction_opts,
        "initial_option": direction_opts[DIRECTIONS.index(direction)],
    }
    start_el: dict[str, Any] = {
        "type": "datetimepicker",
        "action_id": Action.INPUT,
        "initial_date_time": int(start),
    }
    end_el: dict[str, Any] = {"type": "datetimepicker", "action_id": Action.INPUT}
    if v.get("end"):
        end_el["initial_date_time"] = int(v["end"])
    duration_el: dict[str, Any] = {
        "type": "number_input",
        "action_id": Action.INPUT,
        "is_decimal_allowed": False,
        "min_value": "1",
        "max_value": str(MAX_DURATION_MINUTES),
    }
    if v.get("duration"):
        duration_el["initial_value"] = str(v["duration"])
    url_el: dict[str, Any] = {"type": "url_text_input", "action_id": Action.INPUT}
    if v.get("recording"):
        url_el["initial_value"] = v["recording"]
    blocks: list[dict[str, Any]] = []
    if notice:
        blocks.append(section(notice))
    blocks += [
        input_block(
            Block.CALL_RECORD,
            "Project, request or client",
            external_select(
                Action.CALL_RECORD,
                initial=record_option,
                min_query_length=MIN_SEARCH_CHARS,
                placeholder="Type a name, number or address",
            ),
        ),
        input_block(Block.CALL_DIRECTION, "Direction", direction_el, dispatch=True),
        # Versioned by direction: Slack keeps typed input for an unchanged block id, and the
        # company number must move sides when the direction changes.
        input_block(
            versioned(Block.CALL_FROM, direction),
            "From number",
            text_input(from_number, max_length=40),
        ),
        input_block(
            versioned(Block.CALL_TO, direction), "To number", text_input(to_number, max_length=40)
        ),
        input_block(Block.CALL_START, "Started", start_el),
        input_block(
            Block.CALL_DURATION,
            "Duration (minutes)",
            duration_el,
            optional=True,
            hint="Or give the end time below.",
        ),
        input_block(Block.CALL_END, "Ended", end_el, optional=True),
        input_block(
            Block.CALL_REASON,
            "Reason",
            static_select([option(label(r), r) for r in REASONS], initial=v.get("reason")),
        ),
        input_block(
            Block.CALL_DISPOSITION,
            "Disposition",
            static_select(
                [option(label(d), d) for d in DISPOSITIONS], initial=v.get("disposition")
            ),
        ),
        input_block(
            Block.CALL_OUTCOME,
            "Outcome",
            static_select([option(label(o), o) for o in OUTCOMES], initial=v.get("outcome")),
            optional=True,
        ),
        input_block(
            Block.CALL_NOTE,
            "Note",
            text_input(v.get("note"), multiline=True, max_length=2900),
            optional=True,
        ),
        input_block(Block.CALL_RECORDING, "Recording URL", url_el, optional=True),
    ]
    return modal(Callback.CALL_MODAL, TITLE, blocks, submit="Log call", metadata=meta)


def parse_call(view: Mapping[str, Any]) -> dict[str, Any]:
    """The call form's values as a plain dict (times as epoch seconds, duration as text)."""
    s = flatten_state(view)

    def text(block: str) -> str:
        return (s.get(block) or "").strip()

    return {
        "record": s.get(Block.CALL_RECORD) or None,
        "direction": s.get(Block.CALL_DIRECTION) or None,
        "from": text(Block.CALL_FROM),
        "to": text(Block.CALL_TO),
        "start": s.get(Block.CALL_START),
        "duration": text(Block.CALL_DURATION),
        "end": s.get(Block.CALL_END),
        "reason": s.get(Block.CALL_REASON) or None,
        "disposition": s.get(Block.CALL_DISPOSITION) or None,
        "outcome": s.get(Block.CALL_OUTCOME) or None,
        "note": text(Block.CALL_NOTE),
        "recording": text(Block.CALL_RECORDING),
    }


def call_times(data: Mapping[str, Any]) -> tuple[datetime, datetime] | None:
    """(start, end) in UTC from the start and the end or the duration; None when incomplete."""
    if not data.get("start"):
        return None
    start = datetime.fromtimestamp(int(data["start"]), UTC)
    if data.get("end"):
        return start, datetime.fromtimestamp(int(data["end"]), UTC)
    duration = str(data.get("duration") or "")
    if duration.isdigit():
        return start, start + timedelta(minutes=int(duration))
    return None


def validate_call(data: Mapping[str, Any]) -> dict[str, str]:
    """Every problem with the call form at once, keyed by input block id."""
    errors: dict[str, str] = {}
    if parse_value(data.get("record")) is None:
        errors[Block.CALL_RECORD] = "Choose the project, request or client the call was about."
    if data.get("direction") not in DIRECTIONS:
        errors[Block.CALL_DIRECTION] = "Choose inbound or outbound."
    for key, block, what in (
        ("from", Block.CALL_FROM, "caller's"),
        ("to", Block.CALL_TO, "called"),
    ):
        if not data.get(key):
            errors[block] = f"Enter the {what} number."
        elif to_e164(data[key]) is None:
            errors[block] = "Not a valid phone number: use 10 digits or + and the country code."
    if not data.get("start"):
        errors[Block.CALL_START] = "Enter when the call started."
    duration = str(data.get("duration") or "")
    if duration and (not duration.isdigit() or not 1 <= int(duration) <= MAX_DURATION_MINUTES):
        errors[Block.CALL_DURATION] = f"Give whole minutes from 1 to {MAX_DURATION_MINUTES}."
    if data.get("end"):
        if data.get("start") and int(data["end"]) <= int(data["start"]):
            errors[Block.CALL_END] = "The end must be after the start."
    elif not duration and Block.CALL_DURATION not in errors:
        errors[Block.CALL_DURATION] = "Give the duration in minutes, or the end time."
    if data.get("reason") not in REASONS:
        errors[Block.CALL_REASON] = "Choose a reason."
    if data.get("disposition") not in DISPOSITIONS:
        errors[Block.CALL_DISPOSITION] = "Choose a disposition."
    if data.get("outcome") and data["outcome"] not in OUTCOMES:
        errors[Block.CALL_OUTCOME] = "Choose answered or missed."
    rec = data.get("recording")
    if rec and not is_http_url(rec):
        errors[Block.CALL_RECORDING] = "The recording link must start with http:// or https://."
    return errors


def is_http_url(text: str) -> bool:
    """True for an absolute http(s) URL with a host and no spaces."""
    if any(c.isspace() for c in text):
        return False
    parts = urlparse(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def call_body(data: Mapping[str, Any], signature: str | None = None) -> dict[str, Any]:
    """The CallCreate body for valid form data; `signature`, a line saying who logged it from
    Slack, ends the note (the only text on a call that people read in Coperniq)."""
    times = call_times(data)
    assert times is not None  # validated
    body: dict[str, Any] = {
        "fromNumber": to_e164(data["from"]),
        "toNumber": to_e164(data["to"]),
        "isInbound": data["direction"] == "inbound",
        "startTime": _iso(times[0]),
        "endTime": _iso(times[1]),
        "reason": data["reason"],
        "disposition": data["disposition"],
    }
    if data.get("outcome"):
        body["outcome"] = data["outcome"]
    # No length limit in the spec; the modal caps the person's note at 2,900 characters.
    if note := "\n".join(p for p in (data.get("note"), signature) if p):
        body["note"] = note
    if data.get("recording"):
        body["recordingUrl"] = data["recording"]
    return body


def fingerprint_details(data: Mapping[str, Any]) -> dict[str, Any]:
    """What makes two call submissions the same call: record, numbers, times, direction.

    Never the note or its signature: a retry signed with another name is still the same call.
    """
    times = call_times(data)
    return {
        "record": data.get("record"),
        "direction": data.get("direction"),
        "from": to_e164(data.get("from")),
        "to": to_e164(data.get("to")),
        "start": _iso(times[0]) if times else None,
        "end": _iso(times[1]) if times else None,
    }


def call_confirmation(
    what: str, body: Mapping[str, Any], url: str, user: str, tz: ZoneInfo
) -> dict[str, Any]:
    """The channel message after a call was logged: record number and title, when, link."""
    start_utc = datetime.fromisoformat(body["startTime"].replace("Z", "+00:00"))
    end_utc = datetime.fromisoformat(body["endTime"].replace("Z", "+00:00"))
    # In UTC: Python subtracts two times of one zone on the wall clock, wrong across a DST change.
    minutes = max(1, round((end_utc - start_utc).total_seconds() / 60))
    start = start_utc.astimezone(tz)
    direction = "Inbound" if body["isInbound"] else "Outbound"
    other = body["fromNumber"] if body["isInbound"] else body["toNumber"]
    what = escape(what)
    text = f"Call logged on {what} by <@{user}>"
    lines = (
        f":telephone_receiver: *Call logged* on *{what}* by <@{user}>\n"
        f"{direction} · {display(other)} · {start:%a %b %-d, %-I:%M %p} {start.tzname()} · "
        f"{minutes} min\n{label(body['reason'])} → {label(body['disposition'])}"
    )
    if body.get("note"):
        # Every line quoted: "> " covers one line only.
        quoted = escape(truncate(body["note"], 300)).splitlines()
        lines += "".join(f"\n> {line}" for line in quoted)
    blocks = [
        {"type": "section", "text": mrkdwn(lines)},
        {"type": "actions", "elements": [link_button("Open in Coperniq", url)]},
    ]
    return {"text": text, "blocks": blocks}


def call_done_modal(text: str) -> dict[str, Any]:
    """The modal's last state: one line saying what happened."""
    return modal(Callback.CALL_MODAL, TITLE, [section(text)], close="Close")


def call_saving_modal(meta: Mapping[str, Any]) -> dict[str, Any]:
    """What the modal shows while Coperniq logs the call."""
    return modal(
        Callback.CALL_MODAL,
        TITLE,
        [
            section(":hourglass_flowing_sand: Logging the call in Coperniq…"),
            context("You can close this window; the confirmation is posted in the channel."),
        ],
        metadata=meta,
        close="Close",
    )
