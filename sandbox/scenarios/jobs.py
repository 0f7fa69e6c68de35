"""Both digests under Slack and Coperniq faults: a dated sandbox, the faults, how each is played.

The jobs' sandbox is seeded for a fixed day (JOB_TODAY) and every run is given a fixed `now` on it
(JOB_NOW). The fault hits the first run; two fault-free runs follow an hour apart; then every item
Coperniq's own data says is due must have been listed by exactly one digest.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from jobs import engine, state
from jobs.digest import RunResult
from jobs.invoices import select as invoices
from jobs.registry import JOBS
from jobs.sla import select as sla
from sandbox.coperniq import CoperniqSandbox
from sandbox.jobenv import Env, make_env, stuck_project
from sandbox.scenarios.outcome import Outcome
from sandbox.wiring import INVOICE_CHANNEL, SANDBOX_KEY, SLA_CHANNEL

JOB_TODAY = date(2026, 1, 15)
JOB_NOW = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
JOB_PROJECTS = 150  # two pages of projects, five of invoices: room for a page-2 fault


def start_job_sandbox() -> CoperniqSandbox:
    """A started Coperniq sandbox seeded for JOB_TODAY, checking every exchange against the spec."""
    return CoperniqSandbox(
        api_key=SANDBOX_KEY, projects=JOB_PROJECTS, today=JOB_TODAY, validate=True
    ).start()


@dataclass
class JobWorld:
    """A dated Coperniq sandbox, the fake Slack and a database path for one job scenario."""

    sb: Any
    fs: Any
    path: Path


@dataclass(frozen=True)
class JobFault:
    """One fault for a digest's first run, on Slack's chat.postMessage or Coperniq's listing."""

    label: str
    slack: dict[str, Any] | None = None  # FakeSlack.fail(**) on chat.postMessage
    coperniq: dict[str, Any] | None = None  # sandbox.inject(**) on the job's listing


JOB_FAULTS = {
    "slack-ratelimited": JobFault(
        "Slack ratelimited once", slack={"error": "ratelimited", "times": 1, "retry_after": 2}
    ),
    "slack-ratelimited-stays": JobFault(
        "Slack ratelimited on every try", slack={"error": "ratelimited", "times": None}
    ),
    "slack-500": JobFault(
        "Slack HTTP 500", slack={"error": "internal_error", "times": 1, "status": 500}
    ),
    "page2-500": JobFault("Coperniq 500 on page 2, once", coperniq={"status": 500, "times": 1}),
    "page2-500-stays": JobFault("Coperniq 500 on page 2 all run", coperniq={"status": 500}),
    "page2-429": JobFault("Coperniq 429 on page 2, once", coperniq={"status": 429, "times": 1}),
    "page2-timeout-stays": JobFault(
        "Coperniq timeout on page 2 all run", coperniq={"timeout": 0.2}
    ),
}
JOB_LISTINGS = {"overdue-invoices": "/invoices", "form-sla": "/projects"}


def _job_run(job: str, env: Env, now: datetime) -> RunResult:
    return engine.run(JOBS[job], env.deps, now, poster=env.poster)


def _expected(job: str, env: Env) -> set[str]:
    """What the digests must have announced by now, from Coperniq's own data."""
    sb, tz = env.sb, env.settings.timezone
    if job == "overdue-invoices":
        return {i.key for i in invoices.select(sb.find("invoices"), JOB_NOW, tz)}
    projects = sb.find("projects")
    risky = {int(p["id"]) for p, _ in sla.at_risk(projects)}
    forms: dict[int, list[dict[str, Any]]] = {pid: [] for pid in risky}
    for f in sb.find("forms"):
        if f.get("projectId") in forms:
            forms[int(f["projectId"])].append(f)
    return {a.key for a in sla.select(projects, forms, JOB_NOW, tz)}


def _digests_per_item(env: Env, channel: str) -> dict[str, int]:
    """For each item, how many digests (a message with its thread replies or CSV) listed it."""
    roots: dict[str, set[str]] = {}
    for message in env.fs.messages(channel):
        model = state.load_model(env.deps.store.db, channel, message["ts"]) or {}
        root = message.get("thread_ts") or message["ts"]
        for item in model.get("items") or []:
            roots.setdefault(item["key"], set()).add(root)
    # A long digest's full list is a CSV file in its thread: each row is an item it listed.
    for upload in env.fs.uploaded():
        if upload.get("channel_id") == channel:
            for key in _csv_keys(env, upload["content"]):
                roots.setdefault(key, set()).add(upload["thread_ts"])
    return {key: len(found) for key, found in roots.items()}


def _csv_keys(env: Env, content: bytes) -> list[str]:
    """The items of a digest's CSV: invoices by number, forms by project number and form name."""
    header, *rows = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
    if header[0] == "Invoice":
        by_uid = {str(i["uid"]): f"invoice:{i['id']}" for i in env.sb.find("invoices")}
        return [by_uid.get(row[0], f"unknown invoice {row[0]}") for row in rows]
    numbers = {p["id"]: str(p["number"]) for p in env.sb.find("projects")}
    by_name = {
        (numbers.get(f.get("projectId")), f["name"]): f"form:{f['id']}"
        for f in env.sb.find("forms")
    }
    return [by_name.get((row[1], row[6]), f"unknown form {row[1]}/{row[6]}") for row in rows]


def play_job_fault(job: str, fault: str) -> Callable[[JobWorld], Outcome]:
    """The fault hits the first run; the next two runs (an hour apart) are fault-free."""

    def play(world: JobWorld) -> Outcome:
        channel = INVOICE_CHANNEL if job == "overdue-invoices" else SLA_CHANNEL
        env = make_env(world.sb, world.fs, world.path)
        out = Outcome()
        try:
            if job == "form-sla":
                for days in (30, 20, 9):
                    stuck_project(world.sb, days=days, forms=2)
            spec = JOB_FAULTS[fault]
            if spec.slack:
                world.fs.fail("chat.postMessage", **spec.slack)
            if spec.coperniq:
                world.sb.inject(path=JOB_LISTINGS[job], method="GET", page=2, **spec.coperniq)
            for n in range(3):
                try:
                    result = _job_run(job, env, JOB_NOW + timedelta(hours=n))
                except Exception as exc:  # the scheduler logs it; the next run must make up
                    out.raised += 1
                    out.notes.append(f"run {n + 1} raised {type(exc).__name__}")
                else:
                    if result.failed:
                        out.notes.append(f"run {n + 1}: {result.failed} failed")
                world.sb.clear_faults()
                world.fs.clear_faults()
            expected = _expected(job, env)
            listed = _digests_per_item(env, channel)
            missing = expected - set(listed)
            out.lost = len(missing)
            if missing:
                out.notes.append(f"never announced: {sorted(missing)[:5]}")
            out.duplicates = sum(n - 1 for n in listed.values() if n > 1)
            if not expected:
                out.notes.append("nothing was due: the scenario proves nothing")
                out.lost += 1
        finally:
            env.deps.coperniq.close()
            env.deps.store.close()
        return out

    return play
