"""The tests' names for the end-to-end harness, which lives in the sandbox package.

The signed-request sender is sandbox/slackclient.py (SlackHarness, Reply, the ids it sends as);
the app served against the fakes is sandbox/wiring.py (running_harness, fake_settings). In tests,
take the `slack` fixture (tests/slack/conftest.py); `bare_slack` is the same harness with Coperniq
unreachable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config import Settings
from sandbox.slackclient import API_APP_ID, CHANNEL, SIGNING_SECRET, TEAM, USER, Reply, SlackHarness
from sandbox.wiring import APP_URL, SANDBOX_KEY, fake_settings, running_harness

__all__ = [
    "API_APP_ID",
    "APP_URL",
    "CHANNEL",
    "SANDBOX_KEY",
    "SIGNING_SECRET",
    "TEAM",
    "USER",
    "Reply",
    "SlackHarness",
    "harness_settings",
    "running_harness",
]


def harness_settings(fake_slack: Any, sandbox: Any, db_path: Path, **overrides: Any) -> Settings:
    """Settings pointing at the fakes (sandbox.wiring.fake_settings)."""
    return fake_settings(sandbox, fake_slack, db_path=db_path, **overrides)
