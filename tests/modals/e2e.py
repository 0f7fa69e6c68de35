"""Helpers for the modal end-to-end tests: open a modal, fill it as Slack would, submit, wait."""

from __future__ import annotations

from typing import Any

from tests.modals.slackstate import check_view, fill
from tests.slack.harness import SlackHarness


def open_modal(slack: SlackHarness, text: str, *, updates: int = 0) -> dict[str, Any]:
    """Run the slash command; wait for views.open (and `updates` views.update); the current view."""
    before_open = len(slack.fake_slack.calls_to("views.open"))
    before_upd = len(slack.fake_slack.calls_to("views.update"))
    reply = slack.command(text)
    assert reply.status == 200
    slack.wait_for("views.open", before_open + 1)
    if updates:
        slack.wait_for("views.update", before_upd + updates)
    view = slack.fake_slack.view(slack.last_view_id())
    check_view(view)
    return view


def current(slack: SlackHarness, view_id: str) -> dict[str, Any]:
    view = slack.fake_slack.view(view_id)
    check_view(view)
    return view


def submit(slack: SlackHarness, view: dict[str, Any], values: dict[str, Any]) -> Any:
    """Submit `view` with `values` (keyed by base block id) over signed HTTP; the ack's JSON."""
    state = fill(view, values)["state"]["values"]
    reply = slack.submit_view(view["id"], state)
    assert reply.status == 200
    answer = reply.json()
    if answer and answer.get("view"):
        check_view(answer["view"])  # a response_action=update view obeys the same limits
    return answer


def posts_to(slack: SlackHarness, channel: str) -> list[dict[str, Any]]:
    return [c for c in slack.fake_slack.calls_to("chat.postMessage") if c.get("channel") == channel]


def writes(slack: SlackHarness, method: str, path_prefix: str) -> list[Any]:
    """Coperniq requests of `method` whose path starts with `path_prefix`, with status."""
    return [
        r for r in slack.sandbox.requests if r.method == method and r.path.startswith(path_prefix)
    ]


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
    assert reply.status == 200
    return reply.json()
