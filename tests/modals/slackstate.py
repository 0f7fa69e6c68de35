"""Test helpers: fill a built modal the way Slack would report it, and check Slack's limits.

`fill` lives with the rest of the modal driving in sandbox/scenarios/modals.py (the fault
scenarios use it too); the limit checks below are the tests' own names for sandbox/slack/limits.py.
"""

from __future__ import annotations

from typing import Any

from sandbox.scenarios.modals import fill
from sandbox.slack.limits import assert_slack_limits, options_response_problems

__all__ = ["check_message", "check_options_response", "check_view", "fill"]


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
