"""The digest message every job posts, shaped once: models, Block Kit and readable text (pure).

A digest is a main message (a header, the job's summary blocks, the first items, a footer) and
thread replies listing the rest, or, when that would take more than MAX_REPLIES replies, the full
list as one CSV file in the thread. Every item is a card: its line, what people did to it from Slack
("Taken by @x · 10:42"), and a row of buttons the job supplies (Take it, Snooze…, Open in
Coperniq) while the item is current. Its models are plain dicts kept in the store, so a posted
message can be re-rendered with an item marked resolved, moved (listed again in a later digest)
or acted on. A job supplies its header, summary blocks, one line per item and its buttons.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# Slack's limits for one message (SLACK_NOTES.md): 50 blocks; a section's text at most 3,000 chars.
MAX_BLOCKS = 50
SECTION_CHARS = 2900
# Items per thread reply: each is a section and a row of buttons (2 blocks), within 50 blocks.
ITEMS_PER_REPLY = 20
# Thread replies a digest may have. Past 100 cards nobody reads a thread to the end, and at
# Slack's pace of about a message a second a big backlog (the first digest over ~32,000 overdue
# invoices) would take half an hour of replies; beyond this the full list goes into the thread as
# one CSV file instead, which a spreadsheet sorts and filters.
MAX_REPLIES = 5
# An item's row of buttons is the actions block with this block_id prefix and the item's key.
ITEM_BLOCK = "alert-item:"
ACTS_SHOWN = 3  # the latest acts shown under an item's line

Block = dict[str, Any]
# (item view, state in this message: None | "resolved" | "moved", link=...) -> one mrkdwn line
LineFn = Callable[..., str]
# (item view, acts shown on it) -> the elements of its row of buttons (empty: no row)
ActionsFn = Callable[[Mapping[str, Any], list[Mapping[str, Any]]], list[dict[str, Any]]]


def money(amount: float) -> str:
    """Format dollars as `$12,345.67` (negative as `-$12.00`)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def mrkdwn_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def divider() -> Block:
    return {"type": "divider"}


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def item_state(model: Mapping[str, Any], key: str) -> str | None:
    """How a posted message shows an item now: 'resolved', 'moved' (listed again later) or None."""
    if key in model.get("resolved", ()):
        return "resolved"
    if key in model.get("moved", ()):
        return "moved"
    return None


# --- models ------------------------------------------------------------------------------------


def split_models(
    job: str,
    main: dict[str, Any],
    listed: list[dict[str, Any]],
    notes: list[str] | None,
    main_items: int,
    *,
    csv_name: str | None = None,
    csv_title: str | None = None,
) -> list[dict[str, Any]]:
    """Complete a main message model with its first items; the rest go to its thread.

    Up to MAX_REPLIES replies, the rest become thread replies of cards. Beyond that the main
    model says so under "attachment" (rows, filename: small, as it is stored) and one "csv" model
    follows with the items not in the main message: the engine turns the main's and its items
    into a CSV in the thread at post time. The csv model is never stored or rendered.
    """
    rest = listed[main_items:]
    main.update(
        {
            "job": job,
            "kind": "main",
            "listed": len(listed),
            "items": listed[:main_items],
            "more": len(rest),
            "notes": list(notes or []),
            "resolved": [],
        }
    )
    if len(rest) > MAX_REPLIES * ITEMS_PER_REPLY:
        filename = csv_name or f"{job}.csv"
        main["attachment"] = {"rows": len(listed), "filename": filename}
        csv_model = {
            "job": job,
            "kind": "csv",
            "items": rest,
            "rows": len(listed),
            "filename": filename,
            "title": csv_title or filename,
            "comment": f"The full list: {len(listed)} rows, in the order of the digest above.",
        }
        return [main, csv_model]
    parts = chunks(rest, ITEMS_PER_REPLY)
    replies = [
        {
            "job": job,
            "kind": "thread",
            "part": n + 1,
            "parts": len(parts),
            "items": items,
            "resolved": [],
        }
        for n, items in enumerate(parts)
    ]
    return [main, *replies]


# --- Block Kit ---------------------------------------------------------------------------------


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    """A button on an item's row; `value` is the item's key."""
    out: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        out["style"] = style
    return out


def open_button(url: str) -> dict[str, Any]:
    """ "Open in Coperniq": a link button (Slack still sends a click, which is acked)."""
    from bot.ids import Action

    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Open in Coperniq"},
        "url": url,
        "action_id": Action.OPEN_IN_COPERNIQ.value,
    }


def snooze_menu(choices: list[tuple[str, str]]) -> dict[str, Any]:
    """ "Snooze…": a menu of (label, value) choices such as ("1 day", "1d")."""
    from bot.ids import Action

    return {
        "type": "static_select",
        "action_id": Action.ALERT_SNOOZE.value,
        "placeholder": {"type": "plain_text", "text": "Snooze…"},
        "options": [
            {"text": {"type": "plain_text", "text": label}, "value": value}
            for label, value in choices
        ],
    }


def item_acts(model: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """What people did to an item from this message (oldest first)."""
    return list((model.get("acts") or {}).get(key, []))


def item_key_of(block_id: str | None) -> str | None:
    """The item key an item's row of buttons carries in its block_id, if it is one."""
    if not block_id or not block_id.startswith(ITEM_BLOCK):
        return None
    return block_id[len(ITEM_BLOCK) :]


def open_only(item: Mapping[str, Any], acts: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The buttons of an item that has no actions of its own: Open in Coperniq."""
    return [open_button(item["url"])] if item.get("url") else []


def item_blocks(
    model: Mapping[str, Any], item: Mapping[str, Any], line: LineFn, actions: ActionsFn
) -> list[Block]:
    """One item's card: its line, the latest acts on it, and its buttons while it is current."""
    key = item["key"]
    state = item_state(model, key)
    acts = item_acts(model, key)
    text = line(item, state, link=False)
    if acts and state != "moved":
        text += "".join(f"\n      ↳ {act['text']}" for act in acts[-ACTS_SHOWN:])
    blocks = [section(text[:SECTION_CHARS])]
    if state is None:
        elements = actions(item, acts)
        if elements:
            blocks.append({"type": "actions", "block_id": ITEM_BLOCK + key, "elements": elements})
    return blocks


def _listed_blocks(
    model: Mapping[str, Any], line: LineFn, noun: str, actions: ActionsFn
) -> list[Block]:
    """A main message's listed items (each with its buttons while current) and footer."""
    blocks: list[Block] = []
    for item in model["items"]:
        blocks.extend(item_blocks(model, item, line, actions))
    footer = []
    attachment = model.get("attachment")
    if attachment and attachment.get("failed"):
        footer.append(
            f"The full list of {attachment['rows']} {noun} could not be attached; the "
            f"{model['more']} not shown here are listed again in the next digest."
        )
    elif attachment:
        footer.append(
            f"The full list of {attachment['rows']} {noun} is attached in the thread as a CSV."
        )
    elif model["more"]:
        footer.append(f"…and {model['more']} more in the thread.")
    resolved = model.get("resolved", [])
    if resolved:
        # The items of an attached CSV are recorded against this message: they count here.
        where = "in this digest and its CSV" if attachment else "listed here"
        footer.append(
            f"✅ Since this was posted, {len(set(resolved))} of the {noun} {where} were resolved."
        )
    footer.extend(f"⚠️ {note}"[:SECTION_CHARS] for note in model["notes"][:3])
    blocks.extend(context(text) for text in footer)
    return blocks


def main_message(
    model: Mapping[str, Any],
    *,
    text: str,
    title: str,
    summary: list[Block],
    line: LineFn,
    noun: str,
    actions: ActionsFn = open_only,
) -> tuple[str, list[Block]]:
    """A digest's main message: header, the job's summary blocks, listed items, footer."""
    blocks = [header(title), *summary, *_listed_blocks(model, line, noun, actions)]
    assert len(blocks) <= MAX_BLOCKS, len(blocks)
    return text, blocks


def thread_message(
    model: Mapping[str, Any], title: str, line: LineFn, actions: ActionsFn = open_only
) -> tuple[str, list[Block]]:
    """A thread reply: its title, then every item's card."""
    blocks = [context(title)]
    for item in model["items"]:
        blocks.extend(item_blocks(model, item, line, actions))
    assert len(blocks) <= MAX_BLOCKS, len(blocks)
    return title, blocks


# --- readable text -----------------------------------------------------------------------------


def digest_text(
    models: list[dict[str, Any]], head: list[str], item_text: Callable[[dict[str, Any]], str]
) -> str:
    """A digest as plain text: its head lines, its notes, then every item, thread ones marked."""
    main, replies = models[0], models[1:]
    lines = [*head, *(f"! {note}" for note in main["notes"])]
    attachment = main.get("attachment")
    if attachment:
        lines.append(
            f"Full list: attached in the thread as a CSV of {attachment['rows']} rows "
            f"({attachment['filename']}), instead of thread replies"
        )
    items = main["items"] + [i for r in replies for i in r["items"]]
    for n, item in enumerate(items, 1):
        if n == len(main["items"]) + 1:
            lines.append("  -- in the CSV only --" if attachment else "  -- thread reply --")
        lines.append(item_text(item))
    return "\n".join(lines)
