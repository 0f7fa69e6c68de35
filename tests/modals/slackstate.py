"""Test helpers: fill a built modal the way Slack would report it, and check Slack's limits."""

from __future__ import annotations

import copy
from typing import Any

from bot.blocks.common import base_id
from sandbox.slack.limits import assert_slack_limits, options_response_problems


def _element_state(el: dict[str, Any], value: Any) -> dict[str, Any]:
    kind = el["type"]
    state: dict[str, Any] = {"type": kind}
    if kind in ("static_select", "external_select", "radio_buttons"):
        if isinstance(value, dict):
            state["selected_option"] = value
        elif value is None:
            state["selected_option"] = None
        else:
            opts = el.get("options") or [
                o for g in el.get("option_groups") or [] for o in g["options"]
            ]
            match = next((o for o in opts if o["value"] == value), None)
            state["selected_option"] = match or {
                "text": {"type": "plain_text", "text": str(value)},
                "value": value,
            }
    elif kind == "multi_static_select":
        opts = {o["value"]: o for o in el.get("options") or []}
        state["selected_options"] = [
            opts.get(v) or {"text": {"type": "plain_text", "text": v}, "value": v}
            for v in value or []
        ]
    elif kind == "datetimepicker":
        state["selected_date_time"] = value
    elif kind == "file_input":
        state["files"] = list(value or [])
    else:
        state["value"] = value
    return state


def fill(
    view: dict[str, Any], values: dict[str, Any], *, keep_initial: bool = True
) -> dict[str, Any]:
    """A copy of `view` with state.values as Slack sends it; `values` keyed by base block id."""
    out = copy.deepcopy(view)
    state: dict[str, dict[str, Any]] = {}
    for block in out["blocks"]:
        if block.get("type") != "input":
            continue
        el = block["element"]
        key = base_id(block["block_id"])
        if key in values:
            value = values[key]
        elif keep_initial:
            value = (
                el["initial_option"]
                if "initial_option" in el
                else (
                    [o["value"] for o in el.get("initial_options", [])]
                    if el["type"].startswith("multi")
                    else el.get("initial_date_time")
                    if el["type"] == "datetimepicker"
                    else el.get("initial_value")
                )
            )
        else:
            value = None
        state[block["block_id"]] = {el["action_id"]: _element_state(el, value)}
    out["state"] = {"values": state}
    out.setdefault("id", "V123")
    out.setdefault("hash", "h1")
    return out


def check_view(view: dict[str, Any]) -> None:
    """Raise when a modal breaks Slack's limits (sandbox/slack/limits.py)."""
    assert_slack_limits(view)


def check_message(msg: dict[str, Any]) -> None:
    """Raise when a message breaks Slack's limits (≤ 50 blocks, text fallback present...)."""
    assert_slack_limits(msg)


def check_options_response(payload: dict[str, Any]) -> None:
    """An options-load answer within Slack's limits."""
    problems = options_response_problems(payload)
    assert not problems, "\n".join(problems)
