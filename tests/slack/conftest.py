"""Fixtures for end-to-end Slack tests: `slack` is a SlackHarness (see tests/slack/harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.slack.harness import SlackHarness, running_harness


@pytest.fixture
def slack(fake_slack: object, coperniq_sandbox: object, tmp_path: Path) -> Iterator[SlackHarness]:
    """The app served on loopback against the fake Slack and the Coperniq sandbox."""
    with running_harness(fake_slack, coperniq_sandbox, tmp_path) as harness:
        yield harness


@pytest.fixture
def bare_slack(fake_slack: object, tmp_path: Path) -> Iterator[SlackHarness]:
    """The app against the fake Slack with Coperniq unreachable (a closed loopback port)."""
    import socket
    from types import SimpleNamespace

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nowhere = SimpleNamespace(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused-key")
    with running_harness(fake_slack, nowhere, tmp_path) as harness:
        yield harness
