"""The Workflow Builder steps' definitions: title, description, typed inputs and outputs.

One home for what each step takes and gives: the manifest's `functions` section is built from
here (bot.manifest), and the listeners read their inputs by these names. Ids, numbers and links
are strings so a later step can put them in a text field (the record input of *Add a note*
accepts a Coperniq link). The manifest is version 1: each parameter carries its own
`is_required`.
"""

from __future__ import annotations

from typing import Any

from bot.blocks.call import DISPOSITIONS, OUTCOMES, REASONS
from bot.ids import Callback

STRING = "string"
INTEGER = "integer"
USER = "slack#/types/user_id"
TIMESTAMP = "slack#/types/timestamp"

RECORD_HINT = "A project number (1042), “request 17”, “client 5”, an id, or a Coperniq link"


def _param(
    name: str, kind: str, title: str, description: str, *, required: bool, hint: str | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "type": kind,
        "title": title,
        "description": description,
        "is_required": required,
        "name": name,
    }
    if hint:
        spec["hint"] = hint
    return spec


def _params(*specs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {spec["name"]: spec for spec in specs}


def _choices(values: tuple[str, ...]) -> str:
    return ", ".join(v.replace("_", " ").lower() for v in values)


def _record_outputs(what: str) -> list[dict[str, Any]]:
    return [
        _param("record_id", STRING, "Record id", f"Coperniq id of the {what}", required=True),
        _param(
            "record_number",
            STRING,
            "Record number",
            f"The {what}'s number in Coperniq (empty when it has none)",
            required=False,
        ),
        _param("record_url", STRING, "Coperniq link", f"Link to the {what}", required=True),
    ]


CREATE_REQUEST: dict[str, Any] = {
    "title": "Create Coperniq service request",
    "description": "Open a service request (an opportunity) in Coperniq",
    "input_parameters": _params(
        _param("title", STRING, "Title", "A short title, e.g. AC not cooling", required=True),
        _param("address", STRING, "Service address", "Street, city, state ZIP", required=True),
        _param(
            "trades",
            STRING,
            "Trades",
            "One or more of the trades Coperniq knows, separated by commas",
            required=True,
            hint="e.g. HVAC, Solar",
        ),
        _param("contact_name", STRING, "Contact name", "Who to call back", required=True),
        _param(
            "contact_phone",
            STRING,
            "Contact phone",
            "10 digits, or + and the country code",
            required=True,
            hint="(512) 555-0100",
        ),
        _param("contact_email", STRING, "Contact email", "The contact's email", required=False),
        _param("description", STRING, "Description", "What the customer said", required=False),
        _param(
            "client",
            STRING,
            "Existing client",
            "The client's number, id or Coperniq link; empty for a new customer",
            required=False,
        ),
        _param(
            "requested_by",
            USER,
            "Requested by",
            "Who the request is from in Slack (signs it in Coperniq)",
            required=False,
        ),
    ),
    "output_parameters": _params(
        _param("request_id", STRING, "Request id", "Coperniq id of the request", required=True),
        _param("request_number", STRING, "Request number", "The request's number", required=False),
        _param("request_url", STRING, "Coperniq link", "Link to the request", required=True),
    ),
}

LOG_CALL: dict[str, Any] = {
    "title": "Log a call in Coperniq",
    "description": "Log a phone call on a Coperniq project, request or client",
    "input_parameters": _params(
        _param(
            "record",
            STRING,
            "Record",
            "The project, request or client the call was about",
            required=True,
            hint=RECORD_HINT,
        ),
        _param(
            "direction", STRING, "Direction", "inbound or outbound", required=True, hint="inbound"
        ),
        _param(
            "from_number",
            STRING,
            "From number",
            "Who called; empty on an outbound call: the company number",
            required=False,
        ),
        _param(
            "to_number",
            STRING,
            "To number",
            "Who was called; empty on an inbound call: the company number",
            required=False,
        ),
        _param("started_at", TIMESTAMP, "Started at", "When the call started", required=True),
        _param(
            "duration_minutes",
            INTEGER,
            "Duration (minutes)",
            "How long the call took, in whole minutes",
            required=True,
        ),
        _param("reason", STRING, "Reason", _choices(REASONS), required=True, hint="service"),
        _param(
            "disposition",
            STRING,
            "Disposition",
            _choices(DISPOSITIONS),
            required=True,
            hint="info provided",
        ),
        _param("outcome", STRING, "Outcome", _choices(OUTCOMES), required=False),
        _param("note", STRING, "Note", "What was said", required=False),
        _param("recording_url", STRING, "Recording link", "http(s) link", required=False),
        _param(
            "logged_by",
            USER,
            "Logged by",
            "Who took the call in Slack (signs the note)",
            required=False,
        ),
    ),
    "output_parameters": _params(
        _param("call_id", STRING, "Call id", "Coperniq id of the logged call", required=False),
        *_record_outputs("record the call is on"),
    ),
}

ADD_NOTE: dict[str, Any] = {
    "title": "Add a note to a Coperniq record",
    "description": "Post a note on a Coperniq project, request or client",
    "input_parameters": _params(
        _param(
            "record",
            STRING,
            "Record",
            "The project, request or client to note",
            required=True,
            hint=RECORD_HINT,
        ),
        _param("text", STRING, "Note", "The note's text", required=True),
        _param(
            "written_by",
            USER,
            "Written by",
            "Who the note is from in Slack (signs it)",
            required=False,
        ),
    ),
    "output_parameters": _params(
        _param("note_id", STRING, "Note id", "Coperniq id of the note", required=True),
        *_record_outputs("record noted"),
    ),
}

STEPS: dict[str, dict[str, Any]] = {
    Callback.STEP_CREATE_REQUEST.value: CREATE_REQUEST,
    Callback.STEP_LOG_CALL.value: LOG_CALL,
    Callback.STEP_ADD_NOTE.value: ADD_NOTE,
}


def functions_manifest() -> dict[str, dict[str, Any]]:
    """The manifest's `functions`: each step by its callback id."""
    return {callback_id: dict(spec) for callback_id, spec in STEPS.items()}


def input_title(callback_id: str, name: str) -> str:
    """The title Workflow Builder shows for a step's input (how an error names it)."""
    return str(STEPS[callback_id]["input_parameters"][name]["title"])
