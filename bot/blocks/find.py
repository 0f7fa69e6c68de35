"""The `/coperniq find` answer: pure builders for results, nothing found, short query, errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.blocks.common import escape, slack_text
from bot.ids import Action
from bot.records import CLIENT, KINDS, PROJECT, option_value, record_type, record_url

MIN_QUERY = 2
# Longer is no search a person means (and would not fit a query string): say so, call nothing.
MAX_QUERY = 100
_TEXT_MAX = 3000
_BUTTON_TEXT_MAX = 75


def _section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": text[:_TEXT_MAX]},
    }
    if block_id:
        block["block_id"] = block_id
    return block


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:_TEXT_MAX]}]}


def _button(text: str, action_id: str, *, value: str | None = None, url: str | None = None) -> dict:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:_BUTTON_TEXT_MAX], "emoji": True},
        "action_id": action_id,
    }
    if value is not None:
        button["value"] = value
    if url is not None:
        button["url"] = url
    return button


def _humanise(value: str) -> str:
    return value.replace("_", " ").capitalize()


def describe_status(kind: str, record: Mapping[str, Any]) -> str:
    """Status and phase (projects), phase (requests) or account type (clients), as one phrase."""
    parts: list[str] = []
    status = record.get("status")
    if isinstance(status, str) and status:
        parts.append(_humanise(status))
    for key in ("phase", "stage"):
        value = record.get(key)
        if isinstance(value, Mapping) and value.get("name"):
            parts.append(str(value["name"]))
            break
    if kind == CLIENT.kind and isinstance(record.get("accountType"), str):
        parts.append(_humanise(record["accountType"]))
    return " · ".join(parts)


def address_of(record: Mapping[str, Any]) -> str:
    """The record's one-line address (the API sends a list holding one string)."""
    address = record.get("address")
    if isinstance(address, list):
        return ", ".join(str(a) for a in address if a)
    return str(address or "")


def record_blocks(kind: str, record: Mapping[str, Any], app_url: str) -> list[dict]:
    """A section describing one record and an actions block with its buttons."""
    record_id = record["id"]
    title = escape(str(record.get("title") or "(untitled)"))
    number = record.get("number")
    head = f"*{title}*" + (f"  #{number}" if number is not None else "")
    details = [d for d in (address_of(record), describe_status(kind, record)) if d]
    text = head + ("\n" + escape(" — ".join(details)) if details else "")
    value = option_value(kind, record_id)
    buttons = [_button("Log a call", Action.OPEN_CALL_MODAL.value, value=value)]
    if kind == PROJECT.kind:
        buttons.append(_button("Attach photos", Action.OPEN_PHOTO_MODAL.value, value=value))
    buttons.append(_button("Create work order", Action.OPEN_WORKORDER_MODAL.value, value=value))
    buttons.append(
        _button(
            "Open in Coperniq",
            Action.OPEN_IN_COPERNIQ.value,
            url=record_url(app_url, kind, record_id),
        )
    )
    block_id = f"find_{kind}_{record_id}"
    return [
        _section(text, block_id=block_id),
        {"type": "actions", "block_id": block_id + "_actions", "elements": buttons},
    ]


def build_find_results(
    query: str,
    results: Mapping[str, Sequence[Mapping[str, Any]]],
    app_url: str,
    errors: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ephemeral answer: matches grouped by type, each with its buttons; failures named."""
    errors = dict(errors or {})
    shown_query = slack_text(query)
    total = sum(len(results.get(t, ())) for t in KINDS)
    if total == 0 and not errors:
        return build_find_empty(query)
    if total == 0:
        failed = "; ".join(f"{record_type(t).plural.lower()}: {msg}" for t, msg in errors.items())
        return build_find_error(query, failed)
    blocks: list[dict[str, Any]] = [_section(f"Matches for *{shown_query}*:")]
    lines = [f"Matches for {shown_query}:"]
    for kind in KINDS:
        records = list(results.get(kind, ()))
        if not records:
            continue
        group = record_type(kind)
        blocks.append(_context(f"*{group.plural}*"))
        for record in records:
            blocks += record_blocks(kind, record, app_url)
            number = record.get("number")
            lines.append(
                f"{group.label}: "
                f"{slack_text(record.get('title') or '(untitled)', 150)}"
                + (f" #{number}" if number is not None else "")
            )
    for kind, message in errors.items():
        note = f":warning: Couldn't search {record_type(kind).plural.lower()}: {message}"
        blocks.append(_context(note))
        lines.append(note)
    return {"response_type": "ephemeral", "text": "\n".join(lines), "blocks": blocks}


def build_find_empty(query: str) -> dict[str, Any]:
    """No project, request or client matched."""
    text = (
        f"Nothing in Coperniq matches *{slack_text(query)}*. Try part of a name, a street, "
        "a phone number or a record number."
    )
    return {"response_type": "ephemeral", "text": text, "blocks": [_section(text)]}


def build_find_too_short(command: str, query: str) -> dict[str, Any]:
    """The query is empty, too short or too long to search."""
    text = (
        f"Tell me what to look for, at least {MIN_QUERY} characters: "
        f"`{command} find smith` or `{command} find 1234`."
    )
    if len(query) > MAX_QUERY:
        text = (
            f"That is too long to search ({len(query):,} characters; at most {MAX_QUERY}). " + text
        )
    elif query:
        text = f"*{slack_text(query)}* is too short to search. " + text
    return {"response_type": "ephemeral", "text": text, "blocks": [_section(text)]}


def build_find_error(query: str, user_message: str) -> dict[str, Any]:
    """The search failed: say what failed and what to do (the client's user_message)."""
    text = f":warning: I couldn't search Coperniq for *{slack_text(query)}*: {user_message}"
    return {"response_type": "ephemeral", "text": text, "blocks": [_section(text)]}
