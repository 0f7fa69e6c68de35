"""Slack's Block Kit limits, written once: the fake Slack refuses what breaks them, tests want none.

view_problems(view) / message_block_problems(blocks) / block_problems(blocks, pointer)
    what Slack itself refuses, as Slack words it ("[ERROR] ... [json-pointer:/view/...]");
    the fake Slack (sandbox/slack/fake.py) answers invalid_arguments / invalid_blocks with them
slack_limit_problems(surface) / assert_slack_limits(surface)
    the same rules plus what the bot holds itself to for everything it builds: a plain text
    fallback beside message blocks, and what slack_sdk.models validate (imported lazily)
options_response_problems(payload)
    an options-load answer: at most 100 options, text ≤ 75 and value ≤ 150 characters
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_TITLE = 24  # also submit and close
MAX_VIEW_STACK = 3
MAX_PRIVATE_METADATA = 3000
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTIONS = 100
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_BLOCK_ID = 255
MAX_URL = 3000


def _text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, Mapping) else len(str(obj or ""))


def option_problems(options: list[Any], pointer: str) -> list[str]:
    """An options list: how many, and each option's text and value."""
    problems: list[str] = []
    if len(options) > MAX_OPTIONS:
        problems.append(f"[ERROR] no more than {MAX_OPTIONS} options [json-pointer:{pointer}]")
    for k, option in enumerate(options):
        where = f"{pointer}/options/{k}"
        if not isinstance(option, Mapping) or not isinstance(option.get("text"), Mapping):
            problems.append(f"[ERROR] option needs a text object [json-pointer:{where}]")
            continue
        if "value" not in option:
            problems.append(f"[ERROR] option needs a value [json-pointer:{where}]")
        if _text_len(option.get("text")) > MAX_OPTION_TEXT:
            problems.append(f"[ERROR] option text too long [json-pointer:{where}]")
        if len(str(option.get("value", ""))) > MAX_OPTION_VALUE:
            problems.append(f"[ERROR] option value too long [json-pointer:{where}]")
    return problems


def _element_problems(element: Mapping[str, Any], pointer: str) -> list[str]:
    problems: list[str] = []
    if element.get("type") == "button":
        if _text_len(element.get("text")) > MAX_BUTTON_TEXT:
            problems.append(f"[ERROR] button text too long [json-pointer:{pointer}/text]")
        if len(str(element.get("value", ""))) > MAX_BUTTON_VALUE:
            problems.append(f"[ERROR] button value too long [json-pointer:{pointer}/value]")
        if len(str(element.get("url", ""))) > MAX_URL:
            problems.append(f"[ERROR] url too long [json-pointer:{pointer}/url]")
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options += group.get("options", [])
    problems += option_problems(options, pointer)
    return problems


def block_problems(blocks: list[Any], pointer: str) -> list[str]:
    """Block Kit limits Slack rejects: unique ids; section, input, actions, button, option sizes."""
    problems: list[str] = []
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"{pointer}/{i}"
        if not isinstance(block, Mapping) or "type" not in block:
            problems.append(f"[ERROR] missing required field: type [json-pointer:{where}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen_ids:
                problems.append(f"[ERROR] duplicate block_id {block_id} [json-pointer:{where}]")
            seen_ids.add(block_id)
            if len(block_id) > MAX_BLOCK_ID:
                problems.append(f"[ERROR] block_id too long [json-pointer:{where}/block_id]")
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"[ERROR] must provide text or fields [json-pointer:{where}]")
            if _text_len(block.get("text")) > MAX_SECTION_TEXT:
                problems.append(f"[ERROR] text too long [json-pointer:{where}/text]")
            if len(block.get("fields", [])) > MAX_SECTION_FIELDS:
                problems.append(
                    f"[ERROR] no more than {MAX_SECTION_FIELDS} fields "
                    f"[json-pointer:{where}/fields]"
                )
        if kind == "input" and ("label" not in block or "element" not in block):
            problems.append(f"[ERROR] input needs label and element [json-pointer:{where}]")
        if kind == "actions" and len(block.get("elements", [])) > MAX_ACTIONS_ELEMENTS:
            problems.append(
                f"[ERROR] no more than {MAX_ACTIONS_ELEMENTS} elements "
                f"[json-pointer:{where}/elements]"
            )
        elements = list(block.get("elements", [])) if kind in ("actions", "context") else []
        for key in ("element", "accessory"):
            if isinstance(block.get(key), Mapping):
                elements.append(block[key])
        action_ids: set[str] = set()
        for j, element in enumerate(elements):
            if not isinstance(element, Mapping):
                continue
            epath = f"{where}/elements/{j}"
            action_id = element.get("action_id")
            if action_id is not None:
                if action_id in action_ids:
                    problems.append(f"[ERROR] duplicate action_id [json-pointer:{epath}]")
                action_ids.add(action_id)
            problems += _element_problems(element, epath)
    return problems


def view_problems(view: Mapping[str, Any], pointer: str = "/view") -> list[str]:
    """A modal or Home tab: type, title/submit/close, blocks, submit with inputs, metadata size."""
    problems: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        problems.append(f"[ERROR] must be one of modal, home [json-pointer:{pointer}/type]")
    if kind == "modal":
        for key in ("title", "submit", "close"):
            part = view.get(key)
            if part is None:
                if key == "title":
                    problems.append(
                        f"[ERROR] missing required field: title [json-pointer:{pointer}]"
                    )
                continue
            if not isinstance(part, Mapping) or part.get("type") != "plain_text":
                problems.append(
                    f"[ERROR] must be a plain_text object [json-pointer:{pointer}/{key}]"
                )
            elif len(part.get("text", "")) > MAX_VIEW_TITLE:
                problems.append(
                    f"[ERROR] must be less than {MAX_VIEW_TITLE + 1} characters "
                    f"[json-pointer:{pointer}/{key}/text]"
                )
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        problems.append(f"[ERROR] missing required field: blocks [json-pointer:{pointer}]")
        blocks = []
    if len(blocks) > MAX_VIEW_BLOCKS:
        problems.append(
            f"[ERROR] no more than {MAX_VIEW_BLOCKS} items allowed [json-pointer:{pointer}/blocks]"
        )
    has_input = any(isinstance(b, Mapping) and b.get("type") == "input" for b in blocks)
    if kind == "modal" and has_input and not view.get("submit"):
        problems.append(
            f"[ERROR] submit is required when an input block is present [json-pointer:{pointer}]"
        )
    if len(view.get("private_metadata", "") or "") > MAX_PRIVATE_METADATA:
        problems.append(
            f"[ERROR] must be less than {MAX_PRIVATE_METADATA + 1} characters "
            f"[json-pointer:{pointer}/private_metadata]"
        )
    return problems + block_problems(blocks, f"{pointer}/blocks")


def message_block_problems(blocks: list[Any], pointer: str = "/blocks") -> list[str]:
    """A message's blocks: at most 50, each within the block limits."""
    problems: list[str] = []
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        problems.append(
            f"[ERROR] no more than {MAX_MESSAGE_BLOCKS} items allowed [json-pointer:{pointer}]"
        )
    return problems + block_problems(blocks, pointer)


def options_response_problems(payload: Mapping[str, Any]) -> list[str]:
    """An options-load answer ({"options": [...]} or {"option_groups": [...]})."""
    options = list(payload.get("options") or [])
    for group in payload.get("option_groups") or []:
        options += group.get("options", [])
    return option_problems(options, "")


def sdk_problems(surface: Mapping[str, Any]) -> list[str]:
    """What slack_sdk.models refuse in a view or a message's blocks."""
    from slack_sdk.models.blocks import Block
    from slack_sdk.models.views import View

    problems: list[str] = []
    try:
        if surface.get("type") in ("modal", "home"):
            View(**copy.deepcopy(dict(surface))).validate_json()
        for block in surface.get("blocks") or []:
            parsed = Block.parse(copy.deepcopy(block))
            if parsed is None:
                problems.append(f"unknown block: {block}")
            else:
                parsed.validate_json()
    except Exception as exc:  # slack_sdk raises SlackObjectFormationError and friends
        problems.append(f"slack_sdk.models: {exc}")
    return problems


def slack_limit_problems(surface: Mapping[str, Any]) -> list[str]:
    """Every limit a view or message the bot built breaks; empty when Slack would accept it."""
    try:
        json.dumps(surface)
    except (TypeError, ValueError) as exc:
        return [f"not JSON-serialisable: {exc}"]
    problems = sdk_problems(surface)
    if surface.get("type") in ("modal", "home"):
        return problems + view_problems(surface)
    blocks = list(surface.get("blocks") or [])
    problems += message_block_problems(blocks)
    if blocks and not surface.get("text"):
        problems.append("blocks without a plain text fallback")
    return problems


def assert_slack_limits(surface: Mapping[str, Any]) -> None:
    """Fail with every broken limit when Slack would refuse `surface`."""
    problems = slack_limit_problems(surface)
    assert not problems, "Slack would refuse this:\n" + "\n".join(problems)  # noqa: S101
