"""Fixtures for the fault scenarios: the app against the fakes, or a dated sandbox for the jobs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.scenarios import JobWorld, start_job_sandbox
from sandbox.slackclient import SlackHarness
from sandbox.wiring import running_harness


@pytest.fixture
def slack(fake_slack: Any, coperniq_sandbox: Any, tmp_path: Path) -> Iterator[SlackHarness]:
    """The real app served over HTTP, wired to the fake Slack Web API and the Coperniq sandbox."""
    with running_harness(fake_slack, coperniq_sandbox, tmp_path, listener_threads=16) as harness:
        yield harness


@pytest.fixture
def job_world(fake_slack: Any, tmp_path: Path) -> Iterator[JobWorld]:
    """A sandbox seeded for a fixed day (the runs get a fixed `now`), checked against the spec."""
    sb = start_job_sandbox()
    try:
        yield JobWorld(sb=sb, fs=fake_slack, path=tmp_path / "bot.db")
    finally:
        sb.close()
    assert sb.conformance_errors == [], "\n".join(sb.conformance_errors)
