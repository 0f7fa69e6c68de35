"""A technician's work-order card (one DM message per work order), its header and the note modal.

Pure builders: a `CardView` (what the card shows) in, Block Kit out. Mobile first: one short line
per fact, links a thumb opens (maps, `tel:`), the buttons in one actions block.

Statuses: the spec gives a work order's current `status` as {id, label}, `statuses` as the history
of the statuses it went through ({status, startedAt, endedAt, count, spentTime}), and takes a
`status` label on PATCH; it lists no enum. The statuses a technician sets in the field are those of
Coperniq's field work orders (its help centre: QUEUED and ASSIGNED/SCHEDULED are set by the office
or automatically; ON_THE_WAY, WORKING, WAITING and COMPLETED by the technician): FIELD_STATUSES.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from bot.blocks.common import context, modal, plain, section, slack_text, text_input
from bot.ids import Action, Block, Callback

# (status id, what the button says, what the card says), in the order a day goes.
FIELD_STATUSES: tuple[tuple[str, str, str], ...] = (
    ("ON_THE_WAY", "On my way", "On the way"),
    ("WORKING", "Working", "Working"),
    ("WAITING", "Waiting", "Waiting"),
    ("COMPLETED", "Done", "Done"),
)
_SHOWN = {s: shown for s, _, shown in FIELD_STATUSES} | {
    "QUEUED": "Queued",
    "UNASSIGNED": "Unassigned",
    "ASSIGNED": "Assigned",
    "SCHEDULED": "Scheduled",
    "IN_PROGRESS": "Working",
    "CANCELLED": "Cancelled",
}
NOTE_MAX = 5000  # the spec: a note body is 1-5000 characters
MAPS = "https://www.google.com/maps/search/?api=1&query="


def status_id(value: object) -> str | None:
    """A status as one upper-case word, from {id, label}, an id or a label ("On the way")."""
    if isinstance(value, Mapping):
        value = value.get("id") or value.get("label")
    if not isinstance(value, str) or not value.strip():
        return None
    return "_".join(value.strip().upper().replace("-", " ").split())


def status_text(status: str | None, label: str | None = None) -> str:
    """How the card names a status: the technician's word, else Coperniq's label."""
    if status in _SHOWN:
        return _SHOWN[status]
    return label or (status or "No status").replace("_", " ").capitalize()


def button_statuses(history: object) -> list[tuple[str, str]]:
    """(status id, button text): the field statuses, then any other the work order went through.

    A status seen in the `statuses` history that is not a field status (a company's own) is
    offered too, so a technician can go back to it; office-only ones are left to the office.
    """
    out = [(s, text) for s, text, _ in FIELD_STATUSES]
    known = {s for s, _ in out} | {"QUEUED", "UNASSIGNED", "ASSIGNED", "SCHEDULED", "CANCELLED"}
    if isinstance(history, list):
        for item in history:
            sid = status_id(item.get("status")) if isinstance(item, Mapping) else None
            if sid and sid not in known and len(out) < 6:
                known.add(sid)
                out.append((sid, status_text(sid)))
    return out


@dataclass(frozen=True)
class CardView:
    """What one card shows."""

    work_order_id: int
    title: str
    number: int | None
    project_id: int | None
    project_title: str | None
    address: str | None
    phone: str | None
    start: datetime | None
    end: datetime | None
    status: str | None
    status_label: str | None
    history: list[Any]
    url: str | None = None
    note: str | None = None  # a line under the card (a refusal, who changed the status)


def maps_link(address: str) -> str:
    """A Google Maps search for the address (opens the maps app on a phone)."""
    return MAPS + quote_plus(address)


def tel_link(phone: str) -> str:
    """A `tel:` link of the digits (and a leading +) of a phone number."""
    digits = "".join(c for c in phone if c.isdigit())
    return "tel:" + ("+" if phone.strip().startswith("+") else "") + digits


def _time(view: CardView, tz: ZoneInfo) -> str | None:
    if view.start is None:
        return None
    start = view.start.astimezone(tz).strftime("%-I:%M %p")
    if view.end is None:
        return start
    return f"{start} – {view.end.astimezone(tz).strftime('%-I:%M %p')}"


def card_text(view: CardView, tz: ZoneInfo) -> str:
    """The plain-text fallback (notifications, screen readers)."""
    when = _time(view, tz)
    return " · ".join(
        x for x in (view.title, when, status_text(view.status, view.status_label)) if x
    )


def card_blocks(view: CardView, tz: ZoneInfo) -> list[dict[str, Any]]:
    """The card: title, time, address and phone links, status, then the buttons."""
    title = f"*{slack_text(view.title, 150)}*"
    if view.url:
        title = f"*<{view.url}|{slack_text(view.title, 150)}>*"
    lines = [title]
    when = _time(view, tz)
    if when:
        lines.append(f":clock3: {when}")
    if view.address:
        lines.append(f":round_pushpin: <{maps_link(view.address)}|{slack_text(view.address, 150)}>")
    if view.phone:
        lines.append(f":telephone_receiver: <{tel_link(view.phone)}|{slack_text(view.phone, 40)}>")
    lines.append(f"*Status:* {status_text(view.status, view.status_label)}")
    blocks: list[dict[str, Any]] = [section("\n".join(lines))]
    if view.project_title:
        blocks.append(context(f"Project: {slack_text(view.project_title, 100)}"))
    buttons: list[dict[str, Any]] = []
    for sid, text in button_statuses(view.history):
        current = sid == view.status
        button: dict[str, Any] = {
            "type": "button",
            "action_id": f"{Action.WO_STATUS.value}:{sid}",
            "text": plain(("✓ " if current else "") + text, 75),
            "value": f"{view.work_order_id}:{sid}",
        }
        if current:
            button["style"] = "primary"
        buttons.append(button)
    if view.project_id is not None:
        buttons.append(
            {
                "type": "button",
                "action_id": Action.WO_PHOTOS.value,
                "text": plain("Add photos"),
                "value": f"project:{view.project_id}",
            }
        )
    buttons.append(
        {
            "type": "button",
            "action_id": Action.WO_NOTE.value,
            "text": plain("Add note"),
            "value": str(view.work_order_id),
        }
    )
    blocks.append({"type": "actions", "block_id": f"wo:{view.work_order_id}", "elements": buttons})
    if view.note:
        blocks.append(context(view.note))
    return blocks


def header(count: int, day: datetime, tz: ZoneInfo) -> tuple[str, list[dict[str, Any]]]:
    """The DM's first message: how many work orders today."""
    when = day.astimezone(tz).strftime("%A %-d %B")
    text = f"Your {count} work order{'' if count == 1 else 's'} for {when}"
    return text, [
        section(f":sunrise: *{text}*"),
        context("Tap a status as you go; the office sees it in Coperniq."),
    ]


def note_modal(work_order_id: int, title: str, channel: str | None) -> dict[str, Any]:
    """Add a note to a work order: one text box."""
    return modal(
        Callback.NOTE_MODAL.value,
        "Add note",
        [
            context(f"On *{slack_text(title, 150)}*"),
            {
                "type": "input",
                "block_id": Block.NOTE_TEXT.value,
                "label": plain("Note"),
                "element": text_input(multiline=True, max_length=NOTE_MAX),
            },
        ],
        submit="Add note",
        metadata={"work_order_id": work_order_id, "channel": channel},
    )
