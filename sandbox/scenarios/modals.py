"""Driving a modal as Slack would: open it, fill its state, submit (again), and read what followed.

Shared by the modal tests (tests/modals/e2e.py and slackstate.py re-export it) and the fault
scenarios. Every view the app shows is checked against Slack's limits (sandbox/slack/limits.py);
a check that fails raises AssertionError, as a test's own assert would.
"""

from __future__ import annotations

import copy
from typing import Any

from bot.blocks.common import base_id
from bot.ids import Action, Block
from sandbox.slack.limits import assert_slack_limits, options_response_problems
from sandbox.slackclient import SlackHarness


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


def _answered(reply: Any) -> None:
    """Slack counts anything but HTTP 200 as a failed delivery."""
    if reply.status != 200:
        raise AssertionError(f"the app answered HTTP {reply.status}, not 200")


def open_modal(slack: SlackHarness, text: str, *, updates: int = 0) -> dict[str, Any]:
    """Run the slash command; wait for views.open (and `updates` views.update); the current view."""
    before_open = len(slack.fake_slack.calls_to("views.open"))
    before_upd = len(slack.fake_slack.calls_to("views.update"))
    _answered(slack.command(text))
    slack.wait_for("views.open", before_open + 1)
    if updates:
        slack.wait_for("views.update", before_upd + updates)
    view = slack.fake_slack.view(slack.last_view_id())
    assert_slack_limits(view)
    return view


def current(slack: SlackHarness, view_id: str) -> dict[str, Any]:
    """The view as the fake Slack shows it now, within Slack's limits."""
    view = slack.fake_slack.view(view_id)
    assert_slack_limits(view)
    return view


def submit(slack: SlackHarness, view: dict[str, Any], values: dict[str, Any]) -> Any:
    """Submit `view` with `values` (keyed by base block id) over signed HTTP; the ack's JSON."""
    state = fill(view, values)["state"]["values"]
    reply = slack.submit_view(view["id"], state)
    _answered(reply)
    answer = reply.json()
    if answer and answer.get("view"):
        assert_slack_limits(answer["view"])  # a response_action=update view obeys the same limits
    return answer


def resubmit(slack: SlackHarness, view: dict[str, Any], values: dict[str, Any]) -> Any:
    """The same view_submission again, as Slack sends it when its first delivery timed out."""
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEST", "domain": "test"},
        "user": {"id": "U0USER", "username": "u0user", "name": "u0user", "team_id": "T0TEST"},
        "api_app_id": "A0FAKE",
        "token": "legacy-verification-token",
        "trigger_id": slack.fake_slack.new_trigger_id(view_id=view["id"]),
        "view": fill(view, values),
        "response_urls": [],
        "is_enterprise_install": False,
    }
    reply = slack.interactive(payload)
    _answered(reply)
    return reply.json()


def posts_to(slack: SlackHarness, channel: str) -> list[dict[str, Any]]:
    """The chat.postMessage calls the app made to `channel`, in order."""
    return [c for c in slack.fake_slack.calls_to("chat.postMessage") if c.get("channel") == channel]


def writes(slack: SlackHarness, method: str, path_prefix: str) -> list[Any]:
    """Coperniq requests of `method` whose path starts with `path_prefix`, with status."""
    return [
        r for r in slack.sandbox.requests if r.method == method and r.path.startswith(path_prefix)
    ]


def input_block(view: dict[str, Any], base: str) -> dict[str, Any] | None:
    """The block of `view` whose id is `base` (with or without its ~suffix), or None."""
    return next((b for b in view["blocks"] if b.get("block_id", "").split("~")[0] == base), None)


def open_form_with_file(
    slack: SlackHarness,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A project with an open form that has a FILE field: (project, form, file field)."""
    sb = slack.sandbox
    for form in sb.find("forms"):
        if form["status"] in ("COMPLETED", "CANCELLED"):
            continue
        detail = sb.get("forms", form["id"])
        for group in detail["formLayouts"]:
            for field in group["properties"]:
                if field["type"] == "FILE":
                    return sb.get("projects", form["projectId"]), form, field
    raise AssertionError("the sandbox has no open form with a FILE field")


def choose_project_and_form(
    slack: SlackHarness, view: dict[str, Any], project: dict[str, Any], form: dict[str, Any]
) -> dict[str, Any]:
    """Pick the project (suggestion, then select), then the form, as a person would; the view."""
    # Raises when the forms offered are not exactly the project's open ones.
    reply = slack.block_suggestion(
        Action.PHOTO_PROJECT,
        str(project["number"]),
        block_id=Block.PHOTO_PROJECT,
        view_id=view["id"],
    )
    payload = reply.json()
    problems = options_response_problems(payload)
    if problems:
        raise AssertionError("\n".join(problems))
    option = next(o for o in payload["options"] if o["value"] == f"project:{project['id']}")
    updates = len(slack.fake_slack.calls_to("views.update"))
    state = fill(view, {Block.PHOTO_PROJECT: option})["state"]["values"]
    slack.block_action(
        Action.PHOTO_PROJECT,
        view_id=view["id"],
        block_id=Block.PHOTO_PROJECT,
        values=state,
        action={"type": "external_select", "selected_option": option},
    )
    slack.wait_for("views.update", updates + 2)  # loading, then the forms
    view = current(slack, view["id"])
    form_block = input_block(view, Block.PHOTO_FORM)
    if form_block is None:
        raise AssertionError("the photo modal shows no form select after the project is chosen")
    offered = [int(o["value"]) for o in form_block["element"]["options"]]
    if form["id"] not in offered:
        raise AssertionError(f"form {form['id']} is not offered: {offered}")
    open_ids = {
        f["id"]
        for f in slack.sandbox.find("forms", projectId=project["id"])
        if f["status"] not in ("COMPLETED", "CANCELLED")
    }
    if set(offered) != open_ids:
        raise AssertionError(f"offered {sorted(offered)}, the open forms are {sorted(open_ids)}")
    state = fill(view, {Block.PHOTO_FORM: str(form["id"])})["state"]["values"]
    option = state[form_block["block_id"]][Action.PHOTO_FORM]["selected_option"]
    slack.block_action(
        Action.PHOTO_FORM,
        view_id=view["id"],
        block_id=form_block["block_id"],
        values=state,
        action={"type": "static_select", "selected_option": option},
    )
    slack.wait_for("views.update", updates + 3)
    return current(slack, view["id"])
