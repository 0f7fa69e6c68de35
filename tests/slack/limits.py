"""The tests' name for Slack's Block Kit limits check; the rules live in sandbox/slack/limits.py.

from tests.slack.limits import assert_slack_limits
assert_slack_limits(build_call_modal(...))         # a view (type modal/home)
assert_slack_limits(build_find_results(...))       # a message ({"text", "blocks", ...})
"""

from __future__ import annotations

from sandbox.slack.limits import assert_slack_limits, slack_limit_problems

__all__ = ["assert_slack_limits", "slack_limit_problems"]
