"""Fixtures for job runs: the sandbox and fake Slack wired into Deps; helpers for their data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox.jobenv import Env, api_time, make_env, stuck_project
from sandbox.wiring import INVOICE_CHANNEL, SLA_CHANNEL

# Env, make_env, api_time and stuck_project live in sandbox/jobenv.py, shared with the fault
# scenarios; the jobs tests import them from here as before.
__all__ = ["INVOICE_CHANNEL", "SLA_CHANNEL", "Env", "api_time", "make_env", "stuck_project"]


@pytest.fixture
def env(coperniq_sandbox: Any, fake_slack: Any, tmp_path: Path) -> Iterator[Env]:
    e = make_env(coperniq_sandbox, fake_slack, tmp_path / "bot.db")
    yield e
    e.deps.coperniq.close()
    e.deps.store.close()


def now() -> datetime:
    """The jobs' clock in run tests: the sandbox seeds its data relative to the real date."""
    return datetime.now(UTC)


def sandbox_today() -> date:
    return datetime.now(UTC).date()


def posts(fs: Any, channel: str) -> list[dict[str, Any]]:
    return [a for a in fs.calls_to("chat.postMessage") if a.get("channel") == channel]


def requests_to(sb: Any, path_glob: str) -> list[Any]:
    import fnmatch

    return [r for r in sb.requests if fnmatch.fnmatch(r.path, path_glob)]


def set_days_in_phase(sb: Any, project_id: int, days: int) -> None:
    sb.set_phase(project_id, time_in_stage_days=days)


def move_to_another_phase(sb: Any, project_id: int) -> None:
    """The project completes its phase and starts another one of its workflow (0 days in)."""
    p = sb.get("projects", project_id)
    phases = sb.get("workflows", p["workflowId"])["phases"]
    other = next(ph for ph in phases if ph["id"] != p["phase"]["templateId"])
    sb.set_phase(project_id, template_id=other["id"])
