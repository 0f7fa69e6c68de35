"""End-to-end fixtures for the modals: the app on loopback against fake Slack and the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.slack.harness import SlackHarness, running_harness


@pytest.fixture
def slack(fake_slack: object, coperniq_sandbox: object, tmp_path: Path) -> Iterator[SlackHarness]:
    """The real app served over HTTP, wired to the fake Slack Web API and the Coperniq sandbox."""
    with running_harness(fake_slack, coperniq_sandbox, tmp_path, listener_threads=16) as harness:
        yield harness
