"""Fixtures for the fault scenarios: the app against the fakes, or a dated sandbox for the jobs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.slackclient import SlackHarness
from sandbox.wiring import SANDBOX_KEY, running_harness
from tests.faults.scenarios import JOB_PROJECTS, JOB_TODAY, JobWorld


@pytest.fixture
def slack(fake_slack: Any, coperniq_sandbox: Any, tmp_path: Path) -> Iterator[SlackHarness]:
    """The real app served over HTTP, wired to the fake Slack Web API and the Coperniq sandbox."""
    with running_harness(fake_slack, coperniq_sandbox, tmp_path, listener_threads=16) as harness:
        yield harness


@pytest.fixture
def job_world(fake_slack: Any, tmp_path: Path) -> Iterator[JobWorld]:
    """A sandbox seeded for a fixed day (the runs get a fixed `now`), checked against the spec."""
    from sandbox.coperniq import CoperniqSandbox

    sb = CoperniqSandbox(
        api_key=SANDBOX_KEY, projects=JOB_PROJECTS, today=JOB_TODAY, validate=True
    ).start()
    try:
        yield JobWorld(sb=sb, fs=fake_slack, path=tmp_path / "bot.db")
    finally:
        sb.close()
    assert sb.conformance_errors == [], "\n".join(sb.conformance_errors)
