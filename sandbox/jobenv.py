"""The scheduled jobs wired against the fakes, one 'process' at a time, and data staged for them.

    env = make_env(sandbox, fake_slack, tmp / "bot.db")    # Env: settings, deps, a poster
    project, forms = stuck_project(sandbox, days=30)       # a project late in its phase

Shared by the jobs tests (tests/jobs/conftest.py) and the digest fault scenarios
(sandbox/scenarios/jobs.py). The Deps come from sandbox.wiring.fake_deps.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.deps import Deps
from jobs.slackpost import SlackPoster
from sandbox.wiring import fake_deps


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


def api_time(dt: datetime) -> str:
    """A datetime as Coperniq writes it: UTC, milliseconds, a Z."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
