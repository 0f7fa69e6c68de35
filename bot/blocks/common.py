"""Shared pieces of the modals: the one state flattener, metadata, small element builders."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from bot.ids import Action

# Slack's documented limits (views and messages).
TITLE_MAX = 24
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
OPTIONS_MAX = 100
METADATA_MAX = 3000
BLOCK_TEXT_MAX = 3000

# A versioned block id is "<base>~<suffix>": the suffix changes when the bot must replace what the
# person sees (Slack keeps typed input across views.update for an unchanged block_id).
VERSION_SEP = "~"


def truncate(text: str, limit: int) -> str:
    """Cut text to `limit` characters, ending with an ellipsis when cut."""
    text = str(text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def escape(text: object) -> str:
    """Text from people or Coperniq made inert in mrkdwn (no <!channel>, links or mentions)."""
    # Slack's mrkdwn needs exactly these three escaped.
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


MESSAGE_TEXT_MAX = 40000  # a message's top-level `text`
NO_NAME = "(no name)"  # shown for a name that is empty or only spaces
SHOWN_INPUT_MAX = 80  # typed text repeated back to the person ("I don't know `…`")


def slack_text(text: object, limit: int = SHOWN_INPUT_MAX) -> str:
    """Untrusted text (typed, or from Coperniq) as inert mrkdwn within `limit` characters.

    The one place that makes such text safe to show: `<!channel>`, `<@U…>` and links become
    literal text, newlines fold to spaces, and the cut never splits an `&amp;`-style escape.
    """
    flat = " ".join(str(text).split())
    shown = escape(truncate(flat, limit))
    cut = limit
    while len(shown) > limit and cut > 1:
        # Escaping lengthened it (one character becomes at most five): cut the raw text shorter.
        cut -= max(1, (len(shown) - limit) // 5)
        shown = escape(truncate(flat, cut))
    return shown


def plain(text: str, limit: int = BLOCK_TEXT_MAX) -> dict[str, Any]:
    # Plain text shows on one line in labels and options: fold newlines and runs of spaces.
    """A plain_text object on one line, cut to `limit`; never empty (Slack rejects that)."""
    # A FILE field or a trade named "   " in Coperniq would otherwise fail the whole view.
    return {
        "type": "plain_text",
        "text": truncate(" ".join(str(text).split()), limit) or NO_NAME,
        "emoji": True,
    }


def mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object within Slack's 3000 characters."""
    return {"type": "mrkdwn", "text": truncate(text, BLOCK_TEXT_MAX)}


def option(text: str, value: str) -> dict[str, Any]:
    """One select option within Slack's limits (text ≤ 75, value ≤ 150)."""
    if len(value) > OPTION_VALUE_MAX:
        raise ValueError(f"option value longer than {OPTION_VALUE_MAX}: {value[:20]}…")
    return {"text": plain(text, OPTION_TEXT_MAX), "value": value}


def section(text: str) -> dict[str, Any]:
    """A section block of mrkdwn text."""
    return {"type": "section", "text": mrkdwn(text)}


def context(text: str) -> dict[str, Any]:
    """A context block of one mrkdwn line."""
    return {"type": "context", "elements": [mrkdwn(text)]}


def versioned(base: str, suffix: object | None) -> str:
    """A block id that forces Slack to show a new initial value when `suffix` changes."""
    return base if suffix in (None, "") else f"{base}{VERSION_SEP}{suffix}"


def base_id(block_id: str) -> str:
    """The block id without its version suffix."""
    return block_id.split(VERSION_SEP, 1)[0]


def input_block(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
    dispatch: bool = False,
) -> dict[str, Any]:
    """An input block; `dispatch` makes Slack send block_actions on change."""
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    if dispatch:
        block["dispatch_action"] = True
    return block


def text_input(
    initial: str | None = None,
    *,
    multiline: bool = False,
    placeholder: str | None = None,
    max_length: int | None = None,
    action_id: str = Action.INPUT,
) -> dict[str, Any]:
    """A plain_text_input element."""
    el: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
    }
    if initial:
        el["initial_value"] = initial
    if placeholder:
        el["placeholder"] = plain(placeholder, 150)
    if max_length:
        el["max_length"] = max_length
    return el


def static_select(
    options: Iterable[dict[str, Any]],
    *,
    initial: str | None = None,
    placeholder: str = "Choose…",
    action_id: str = Action.INPUT,
) -> dict[str, Any]:
    """A static_select (at most 100 options) with `initial` chosen when offered."""
    opts = list(options)[:OPTIONS_MAX]
    el: dict[str, Any] = {
        "type": "static_select",
        "action_id": action_id,
        "options": opts,
        "placeholder": plain(placeholder, 150),
    }
    chosen = next((o for o in opts if o["value"] == initial), None)
    if chosen:
        el["initial_option"] = chosen
    return el


# Every suggestion load costs Coperniq searches from the shared daily budget, and one character
# matches too much to be worth them: Slack asks only from this many characters, and so do we.
MIN_SEARCH_CHARS = 2


def external_select(
    action_id: str,
    *,
    initial: dict[str, Any] | None = None,
    placeholder: str = "Type to search…",
    min_query_length: int = 0,
) -> dict[str, Any]:
    """An external_select served by an options listener."""
    el: dict[str, Any] = {
        "type": "external_select",
        "action_id": action_id,
        "placeholder": plain(placeholder, 150),
        "min_query_length": min_query_length,
    }
    if initial:
        el["initial_option"] = initial
    return el


def modal(
    callback_id: str,
    title: str,
    blocks: list[dict[str, Any]],
    *,
    submit: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    close: str = "Cancel",
) -> dict[str, Any]:
    """A modal view with its context in private_metadata."""
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, TITLE_MAX),
        "close": plain(close, TITLE_MAX),
        "blocks": blocks,
        "private_metadata": encode_metadata(metadata or {}),
    }
    if submit:
        view["submit"] = plain(submit, TITLE_MAX)
    return view


def encode_metadata(meta: Mapping[str, Any]) -> str:
    """Compact JSON for private_metadata; refuses what Slack would reject (over 3000 characters)."""
    # Slack counts characters: \uXXXX escapes would make a non-Latin file name six times longer.
    text = json.dumps(
        {k: v for k, v in meta.items() if v not in (None, "", [], {})},
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,
    )
    if len(text) > METADATA_MAX:
        raise ValueError("private_metadata over 3000 characters")
    return text


def decode_metadata(view_or_text: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """The dict in private_metadata, from a view or the raw text; {} when absent or malformed."""
    text = (
        view_or_text.get("private_metadata") if isinstance(view_or_text, Mapping) else view_or_text
    )
    if not text:
        return {}
    try:
        meta = json.loads(text)
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _element_value(el: Mapping[str, Any]) -> Any:
    kind = el.get("type")
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        return el.get("value")
    if kind in ("static_select", "external_select", "radio_buttons"):
        chosen = el.get("selected_option")
        return chosen.get("value") if chosen else None
    if kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        return [o.get("value") for o in el.get("selected_options") or []]
    if kind == "datetimepicker":
        return el.get("selected_date_time")
    if kind == "datepicker":
        return el.get("selected_date")
    if kind == "timepicker":
        return el.get("selected_time")
    if kind == "file_input":
        return list(el.get("files") or [])
    if kind in ("users_select", "conversations_select", "channels_select"):
        return el.get(f"selected_{kind.split('_')[0].rstrip('s')}")
    return el.get("value")


def flatten_state(view: Mapping[str, Any]) -> dict[str, Any]:
    """The one place that reads view.state.values: {base block_id: value of its element}."""
    values = ((view.get("state") or {}).get("values")) or {}
    out: dict[str, Any] = {}
    for block_id, elements in values.items():
        for el in (elements or {}).values():
            out[base_id(block_id)] = _element_value(el)
            break
    return out


def selected_texts(view: Mapping[str, Any]) -> dict[str, str]:
    """{base block_id: the shown text of the chosen option} for single selects."""
    values = ((view.get("state") or {}).get("values")) or {}
    out: dict[str, str] = {}
    for block_id, elements in values.items():
        for el in (elements or {}).values():
            chosen = el.get("selected_option")
            if chosen:
                out[base_id(block_id)] = (chosen.get("text") or {}).get("text", "")
            break
    return out


def selected_option(view: Mapping[str, Any], block: str) -> dict[str, Any] | None:
    """The chosen option (text and value) of the select in `block`, to show again as initial."""
    values = ((view.get("state") or {}).get("values")) or {}
    for block_id, elements in values.items():
        if base_id(block_id) == block:
            for el in (elements or {}).values():
                chosen = el.get("selected_option")
                if chosen:
                    return {"text": chosen["text"], "value": chosen["value"]}
    return None


def errors_for_view(
    view: Mapping[str, Any], errors: Mapping[str, str], fallback: str | None = None
) -> dict[str, str]:
    """Map errors keyed by base block id onto the view's real (maybe versioned) block ids."""
    actual = {
        base_id(b["block_id"]): b["block_id"]
        for b in view.get("blocks") or []
        if b.get("type") == "input" and b.get("block_id")
    }
    out: dict[str, str] = {}
    for key, message in errors.items():
        target = actual.get(key)
        if target is None and fallback in actual:
            # Slack rejects errors for blocks the view does not show: say it on one it does.
            target = actual[fallback]  # type: ignore[index]
        target = target or key
        out[target] = truncate(f"{out[target]} {message}" if target in out else message, 500)
    return out


def with_inline_errors(
    blocks: list[dict[str, Any]], errors: Mapping[str, str], banner: str | None = None
) -> list[dict[str, Any]]:
    """For a views.update after the submission was acked: errors as warnings under their blocks."""
    out: list[dict[str, Any]] = []
    if banner:
        out.append(section(f":warning: {banner}"))
    placed = set()
    for block in blocks:
        out.append(block)
        key = base_id(block.get("block_id") or "")
        if key in errors:
            out.append(context(f":warning: *{errors[key]}*"))
            placed.add(key)
    # An error for a field the modal no longer shows still reaches the person.
    for key, message in errors.items():
        if key not in placed:
            out.insert(1 if banner else 0, section(f":warning: {message}"))
    return out


def loading_modal(
    callback_id: str, title: str, what: str, metadata: Mapping[str, Any]
) -> dict[str, Any]:
    """What a modal shows during the first Coperniq call (the trigger id dies within 3 s)."""
    return modal(
        callback_id, title, [section(f":hourglass_flowing_sand: {what}")], metadata=metadata
    )


def message_modal(
    callback_id: str,
    title: str,
    text: str,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A modal that only says something (success, already done, could not load)."""
    return modal(callback_id, title, [section(text)], metadata=metadata, close="Close")


def link_button(text: str, url: str, action_id: str = Action.OPEN_IN_COPERNIQ) -> dict[str, Any]:
    """A button that opens `url` (Slack still sends an action to ack)."""
    return {"type": "button", "text": plain(text, 75), "url": url[:3000], "action_id": action_id}


def input_options(view: dict[str, Any], base_block: str) -> list[dict[str, Any]]:
    """The options of the select in a view's input block (to rebuild that block unchanged)."""
    for block in view.get("blocks") or []:
        if block.get("type") == "input" and base_id(block.get("block_id", "")) == base_block:
            return list(block["element"].get("options") or [])
    return []
