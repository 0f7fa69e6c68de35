"""The digest message every job posts, shaped once: models, Block Kit and readable text (pure).

A digest is a main message (a header, the job's summary blocks, the first items with "Open in
Coperniq" buttons, a footer) and thread replies listing the rest. Its models are plain dicts kept
in the store, so a posted message can be re-rendered with an item marked resolved or moved (listed
again in a later digest). A job supplies its header, summary blocks and one line per item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

# Slack's limits for one message (SLACK_NOTES.md): 50 blocks; a section's text at most 3,000 chars.
MAX_BLOCKS = 50
SECTION_CHARS = 2900
# Keep one thread reply readable and well under Slack's ~40k character message cap.
LINES_PER_REPLY = 100

Block = dict[str, Any]
# (item view, state in this message: None | "resolved" | "moved", link=...) -> one mrkdwn line
LineFn = Callable[..., str]


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


def pack_sections(lines: Iterable[str], limit: int = SECTION_CHARS) -> list[Block]:
    """Pack lines into as few mrkdwn sections as fit Slack's per-section text limit."""
    blocks: list[Block] = []
    buf: list[str] = []
    size = 0
    for line in lines:
        line = line[:limit]
        if buf and size + len(line) + 1 > limit:
            blocks.append(section("\n".join(buf)))
            buf, size = [], 0
        buf.append(line)
        size += len(line) + 1
    if buf:
        blocks.append(section("\n".join(buf)))
    return blocks


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
) -> list[dict[str, Any]]:
    """Complete a main message model with its first items; the rest become thread replies."""
    main.update(
        {
            "job": job,
            "kind": "main",
            "listed": len(listed),
            "items": listed[:main_items],
            "more": max(0, len(listed) - main_items),
            "notes": list(notes or []),
            "resolved": [],
        }
    )
    rest = chunks(listed[main_items:], LINES_PER_REPLY)
    replies = [
        {
            "job": job,
            "kind": "thread",
            "part": n + 1,
            "parts": len(rest),
            "items": items,
            "resolved": [],
        }
        for n, items in enumerate(rest)
    ]
    return [main, *replies]


# --- Block Kit ---------------------------------------------------------------------------------


def _listed_blocks(model: Mapping[str, Any], line: LineFn, noun: str) -> list[Block]:
    """A main message's listed items (with Open-in-Coperniq buttons while current) and footer."""
    from bot.ids import Action

    blocks: list[Block] = []
    for item in model["items"]:
        state = item_state(model, item["key"])
        block = section(line(item, state, link=False)[:SECTION_CHARS])
        if state is None:
            block["accessory"] = {
                "type": "button",
                "text": {"type": "plain_text", "text": "Open in Coperniq"},
                "url": item["url"],
                "action_id": Action.OPEN_IN_COPERNIQ.value,
            }
        blocks.append(block)
    footer = []
    if model["more"]:
        footer.append(f"…and {model['more']} more in the thread.")
    resolved = model.get("resolved", [])
    if resolved:
        footer.append(
            f"✅ Since this was posted, {len(set(resolved))} of the {noun} listed here "
            "were resolved."
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
) -> tuple[str, list[Block]]:
    """A digest's main message: header, the job's summary blocks, listed items, footer."""
    blocks = [header(title), *summary, *_listed_blocks(model, line, noun)]
    assert len(blocks) <= MAX_BLOCKS, len(blocks)
    return text, blocks


def thread_message(model: Mapping[str, Any], title: str, line: LineFn) -> tuple[str, list[Block]]:
    """A thread reply: its title, then every item line packed into sections."""
    blocks = [
        context(title),
        *pack_sections(line(i, item_state(model, i["key"])) for i in model["items"]),
    ]
    assert len(blocks) <= MAX_BLOCKS, len(blocks)
    return title, blocks


# --- readable text -----------------------------------------------------------------------------


def digest_text(
    models: list[dict[str, Any]], head: list[str], item_text: Callable[[dict[str, Any]], str]
) -> str:
    """A digest as plain text: its head lines, its notes, then every item, thread ones marked."""
    main, replies = models[0], models[1:]
    lines = [*head, *(f"! {note}" for note in main["notes"])]
    items = main["items"] + [i for r in replies for i in r["items"]]
    for n, item in enumerate(items, 1):
        if n == len(main["items"]) + 1:
            lines.append("  -- thread reply --")
        lines.append(item_text(item))
    return "\n".join(lines)
