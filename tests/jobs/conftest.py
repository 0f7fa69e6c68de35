"""Fixtures for job runs: the sandbox and fake Slack wired into Deps; helpers for their data."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.deps import Deps
from jobs.slackpost import SlackPoster
from sandbox.wiring import INVOICE_CHANNEL, SLA_CHANNEL, fake_deps

__all__ = ["INVOICE_CHANNEL", "SLA_CHANNEL"]


@dataclass
class Env:
    """One 'process': settings, store, Coperniq client and Slack client, plus the fakes."""

    sb: Any
    fs: Any
    path: Path
    settings: Settings
    deps: Deps
    sleeps: list[float] = field(default_factory=list)

    @property
    def poster(self) -> SlackPoster:
        # Pacing and Retry-After waits are recorded instead of slept.
        return SlackPoster(self.deps.slack, sleep=self.sleeps.append)  # type: ignore[arg-type]

    def new_process(self, *, daily_budget: int = 5000) -> Env:
        """A second process on the same database file (new Store, new clients)."""
        return make_env(self.sb, self.fs, self.path, daily_budget=daily_budget)


def make_env(sb: Any, fs: Any, path: Path, *, daily_budget: int = 5000) -> Env:
    """One 'process' of the jobs against the fakes (sandbox.wiring.fake_deps)."""
    # No waits between Coperniq retries; Slack answers `ratelimited` to the poster, which records
    # the wait, instead of the client waiting it out.
    deps = fake_deps(
        sb,
        fs,
        db_path=path,
        coperniq_daily_budget=daily_budget,
        coperniq_sleep=lambda s: None,
        slack_retries=False,
    )
    return Env(sb=sb, fs=fs, path=path, settings=deps.settings, deps=deps)


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


def api_time(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def posts(fs: Any, channel: str) -> list[dict[str, Any]]:
    return [a for a in fs.calls_to("chat.postMessage") if a.get("channel") == channel]


def requests_to(sb: Any, path_glob: str) -> list[Any]:
    import fnmatch

    return [r for r in sb.requests if fnmatch.fnmatch(r.path, path_glob)]


def stuck_project(
    sb: Any, *, days: int, yellow: int | None = 7, red: int | None = 14, forms: int = 1
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Clone a seeded Workflows 2.0 project as an ACTIVE one `days` into its phase, with forms."""
    template = next(
        p for p in sb.find("projects") if p.get("phase") and p.get("status") == "ACTIVE"
    )
    form_template = next(f for f in sb.find("forms"))
    pid = max(p["id"] for p in sb.find("projects")) + 1
    p = copy.deepcopy(template)
    p["id"] = pid
    p["number"] = 90000 + pid % 10000
    p["title"] = f"Stuck Residence {pid}"
    p["phase"]["instanceId"] = 800000 + pid
    p["phase"]["yellowSla"], p["phase"]["redSla"] = yellow, red
    p["phase"]["timeInStageDays"] = days  # the sandbox turns this into the phase's start date
    p.pop("phaseInstances", None)
    p["updatedAt"] = api_time(datetime.now(UTC))
    sb.put("projects", p)
    made = []
    next_form = max(f["id"] for f in sb.find("forms")) + 1
    for k in range(forms):
        f = copy.deepcopy(form_template)
        f["id"] = next_form + k
        f["name"] = f"Stuck form {k + 1} of {pid}"
        f["status"] = "ASSIGNED"
        f["isCompleted"] = False
        f["completedAt"] = None
        f["projectId"] = pid
        f["phaseId"] = p["phase"]["templateId"]
        f["phaseName"] = p["phase"]["name"]
        f["_parentType"], f["_parentId"] = "project", pid
        sb.put("forms", f)
        made.append(f)
    return p, made


def set_days_in_phase(sb: Any, project_id: int, days: int) -> None:
    sb.set_phase(project_id, time_in_stage_days=days)


def move_to_another_phase(sb: Any, project_id: int) -> None:
    """The project completes its phase and starts another one of its workflow (0 days in)."""
    p = sb.get("projects", project_id)
    phases = sb.get("workflows", p["workflowId"])["phases"]
    other = next(ph for ph in phases if ph["id"] != p["phase"]["templateId"])
    sb.set_phase(project_id, template_id=other["id"])
