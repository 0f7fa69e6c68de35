"""One check for Slack's documented Block Kit limits, for every message and modal the bot builds.

    from tests.slack.limits import assert_slack_limits
    assert_slack_limits(build_call_modal(...))         # a view (type modal/home)
    assert_slack_limits(build_find_results(...))       # a message ({"text", "blocks", ...})

Uses slack_sdk.models (which raise on limit violations) plus the limits they do not check:
modal title ≤ 24, ≤ 100 blocks per view, ≤ 50 per message, a text fallback beside blocks,
option text ≤ 75 and value ≤ 150, ≤ 100 options, unique block_ids, private_metadata ≤ 3000.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_TITLE = 24
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_BLOCKS = 50
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTIONS = 100
MAX_METADATA = 3000


def _options(node: Any) -> Iterator[list[Mapping[str, Any]]]:
    """Every options list anywhere in a Block Kit structure (static selects, option groups...)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "options" and isinstance(value, list):
                yield value
            yield from _options(value)
    elif isinstance(node, list):
        for item in node:
            yield from _options(item)


def _text(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, Mapping) else str(obj or "")


def slack_limit_problems(surface: Mapping[str, Any]) -> list[str]:
    """Every limit `surface` (a view or a message) breaks; empty when Slack would accept it."""
    problems: list[str] = []
    blocks = list(surface.get("blocks") or [])
    is_view = surface.get("type") in ("modal", "home")
    try:
        json.dumps(surface)
    except (TypeError, ValueError) as exc:
        return [f"not JSON-serialisable: {exc}"]
    try:
        if is_view:
            View(**surface).validate_json()
        else:
            for block in blocks:
                parsed = Block.parse(block)
                if parsed is None:
                    problems.append(f"unknown block: {block}")
                else:
                    parsed.validate_json()
    except Exception as exc:  # slack_sdk raises SlackObjectFormationError and friends
        problems.append(f"slack_sdk.models: {exc}")
    if is_view:
        if len(blocks) > MAX_VIEW_BLOCKS:
            problems.append(f"{len(blocks)} blocks in a view (max {MAX_VIEW_BLOCKS})")
        if surface.get("type") == "modal":
            for key in ("title", "submit", "close"):
                if key in surface and len(_text(surface[key])) > MAX_TITLE:
                    problems.append(f"{key} longer than {MAX_TITLE}: {_text(surface[key])!r}")
        if len(surface.get("private_metadata") or "") > MAX_METADATA:
            problems.append(f"private_metadata longer than {MAX_METADATA}")
    else:
        if len(blocks) > MAX_MESSAGE_BLOCKS:
            problems.append(f"{len(blocks)} blocks in a message (max {MAX_MESSAGE_BLOCKS})")
        if blocks and not surface.get("text"):
            problems.append("blocks without a plain text fallback")
    block_ids = [b["block_id"] for b in blocks if isinstance(b, Mapping) and b.get("block_id")]
    if len(block_ids) != len(set(block_ids)):
        problems.append(f"duplicate block_id in {block_ids}")
    for options in _options(blocks):
        if len(options) > MAX_OPTIONS:
            problems.append(f"{len(options)} options (max {MAX_OPTIONS})")
        for option in options:
            if len(_text(option.get("text"))) > MAX_OPTION_TEXT:
                problems.append(f"option text longer than {MAX_OPTION_TEXT}: {option}")
            if len(str(option.get("value", ""))) > MAX_OPTION_VALUE:
                problems.append(f"option value longer than {MAX_OPTION_VALUE}: {option}")
    return problems


def assert_slack_limits(surface: Mapping[str, Any]) -> None:
    """Fail with every broken limit when Slack would refuse `surface`."""
    problems = slack_limit_problems(surface)
    assert not problems, "Slack would refuse this:\n" + "\n".join(problems)
