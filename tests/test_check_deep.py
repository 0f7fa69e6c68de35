"""`coperniq-bot check --deep`: one OK/WARN/FAIL line per assumption about the real Coperniq API."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Secret, Settings
from bot.deepcheck import run_probes
from bot.deepcheck.judges import (
    APP_LINKS,
    DEEP_REQUESTS,
    FORM_PHASES,
    INVOICES,
    MAX_REQUESTS,
    PHASE_MOVES,
    PROBES,
    PROJECT_PHASES,
    RATE_LIMITS,
    USERS,
    Finding,
    judge_app_url,
    judge_rate_limits,
)
from tests.conftest import SANDBOX_KEY

APP_URL = "https://app.coperniq.io/388"


def _settings(sb: Any, tmp_path: Path, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "coperniq_api_key": Secret(SANDBOX_KEY),
        "coperniq_base_url": sb.base_url,
        "coperniq_app_url": APP_URL,
        "db_path": tmp_path / "bot.db",
    }
    values.update(over)
    return Settings(**values)


def _probe(sb: Any, tmp_path: Path, **over: Any) -> dict[str, Finding]:
    return {f.name: f for f in run_probes(_settings(sb, tmp_path, **over))}


def _fetch(sb: Any, path: str, **params: Any) -> Any:
    """What the sandbox answers, read outside the check (and forgotten by its request log)."""
    with httpx.Client(base_url=sb.base_url, headers={"x-api-key": SANDBOX_KEY}) as http:
        body = http.get(path, params=params).json()
    sb.reset_requests()
    return body


def _check_deep(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COPERNIQ_"))}
    base.update(env, BOT_DB_PATH=str(tmp_path / "bot.db"))
    return subprocess.run(
        [sys.executable, "-m", "bot", "check", "--deep"],
        capture_output=True,
        text=True,
        timeout=120,
        env=base,
        cwd=tmp_path,
    )


def _env(sb: Any, fs: Any, key: str = SANDBOX_KEY) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": fs.base_url,
        "COPERNIQ_API_KEY": key,
        "COPERNIQ_BASE_URL": sb.base_url,
        "COPERNIQ_APP_URL": APP_URL,
    }


# --- the whole command -------------------------------------------------------------------------


def test_check_deep_is_green_against_the_sandbox(coperniq_sandbox, fake_slack, tmp_path) -> None:
    proc = _check_deep(_env(coperniq_sandbox, fake_slack), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert [line[:4] for line in lines] == ["OK  "] * (3 + len(PROBES)), proc.stdout
    for name, line in zip(PROBES, lines[3:], strict=True):
        assert line.startswith(f"OK   {name}: ")
    requests = coperniq_sandbox.requests
    # Read-only, and within the cap, check's own call included.
    assert {r.method for r in requests} == {"GET"}
    assert len(requests) <= MAX_REQUESTS
    # Every request counted in the bot's ledger like any other call.
    from bot.store import Store, api_calls_since

    since = datetime.now(UTC) - timedelta(hours=1)
    assert api_calls_since(Store(tmp_path / "bot.db").db, since) == len(requests)
    # Counts only: people's emails are not the check's to print.
    assert not any(u["email"] in proc.stdout for u in coperniq_sandbox.all("users"))


def test_a_failing_probe_makes_check_deep_exit_1(coperniq_sandbox, fake_slack, tmp_path) -> None:
    no_emails = [{"id": 1, "firstName": "Ana", "lastName": "Ruiz", "email": ""}]
    coperniq_sandbox.inject(path="/users", method="GET", status=200, body=no_emails, times=1)
    proc = _check_deep(_env(coperniq_sandbox, fake_slack), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert any(line.startswith("FAIL users: ") for line in proc.stdout.splitlines())


def test_a_refused_key_skips_the_probes_without_a_traceback(
    coperniq_sandbox, fake_slack, tmp_path
) -> None:
    wrong = "cq-wrong-key-0123456789"
    proc = _check_deep(_env(coperniq_sandbox, fake_slack, key=wrong), tmp_path)
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out and wrong not in out
    lines = {line.split(":")[0][5:]: line[:4] for line in proc.stdout.splitlines()}
    assert lines["Coperniq"] == "FAIL"
    assert all(lines[name] == "SKIP" for name in PROBES if name != APP_LINKS)
    # check's own call was refused: the probes spent nothing more.
    assert len(coperniq_sandbox.requests) == 1


def test_missing_configuration_skips_the_probes(tmp_path) -> None:
    proc = _check_deep({"BOT_TIMEZONE": "Nowhere/Land"}, tmp_path)
    assert proc.returncode == 2
    assert "SKIP deep probes" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


# --- the request cap ---------------------------------------------------------------------------


def test_the_probes_stay_within_nine_requests_after_checks_own(coperniq_sandbox, tmp_path):
    found = run_probes(_settings(coperniq_sandbox, tmp_path))
    assert len(coperniq_sandbox.requests) <= DEEP_REQUESTS == MAX_REQUESTS - 1
    assert all(f.status == "OK" for f in found), found


def test_the_cap_refuses_requests_before_they_are_sent(coperniq_sandbox, tmp_path) -> None:
    found = {f.name: f for f in run_probes(_settings(coperniq_sandbox, tmp_path), cap=2)}
    assert len(coperniq_sandbox.requests) == 2
    assert found[PROJECT_PHASES].status == "OK"
    for name in (INVOICES, USERS):
        assert found[name].status == "SKIP" and "cap of 2" in found[name].seen


def test_a_refused_key_stops_the_probes_after_one_request(coperniq_sandbox, tmp_path) -> None:
    found = _probe(coperniq_sandbox, tmp_path, coperniq_api_key=Secret("cq-wrong-key-0123456789"))
    assert found[PROJECT_PHASES].status == "FAIL"
    assert "COPERNIQ_API_KEY" in found[PROJECT_PHASES].seen
    assert [found[n].status for n in (FORM_PHASES, INVOICES, USERS)] == ["SKIP"] * 3
    assert len(coperniq_sandbox.requests) == 1


# --- rate-limit headers ------------------------------------------------------------------------


def test_missing_rate_limit_headers_warn(coperniq_sandbox, tmp_path) -> None:
    coperniq_sandbox.rate_limit_headers = False
    found = _probe(coperniq_sandbox, tmp_path)
    rate = found[RATE_LIMITS]
    assert rate.status == "WARN"
    assert "no X-RateLimit-Limit" in rate.seen and "COPERNIQ_DAILY_BUDGET" in rate.todo


def test_a_limit_other_than_the_daily_budget_setting_warns(coperniq_sandbox, tmp_path) -> None:
    rate = _probe(coperniq_sandbox, tmp_path, coperniq_daily_budget=4000)[RATE_LIMITS]
    assert rate.status == "WARN"
    assert "COPERNIQ_DAILY_BUDGET=5000" in rate.todo


def test_a_limit_of_100_or_less_is_read_as_the_per_second_window() -> None:
    rate = judge_rate_limits([("100", "99"), ("100", "98")], 5000)
    assert rate.status == "OK" and "per-second" in rate.seen


@pytest.mark.parametrize(
    ("samples", "ledger_left", "expect"),
    [
        ([("5000", "4990"), ("5000", "4990")], 4990, "did not count down"),
        ([("5000", "1200"), ("5000", "1199")], 4990, "something else spent"),
        ([("5000", "soon"), ("5000", None)], 4990, "unreadable"),
    ],
)
def test_rate_limit_headers_the_client_cannot_trust_warn(samples, ledger_left, expect) -> None:
    rate = judge_rate_limits(samples, 5000, ledger_left)
    assert rate.status == "WARN" and expect in rate.seen


# --- projects and forms ------------------------------------------------------------------------


def _strip_sla(p: dict[str, Any]) -> None:
    for key in ("phase", "stage"):
        if p.get(key):
            p[key].pop("yellowSla", None)
            p[key].pop("redSla", None)


def _strip_phase(p: dict[str, Any]) -> None:
    p.pop("phase", None)
    p.pop("stage", None)


@pytest.mark.parametrize(
    ("mangle", "expect"),
    [(_strip_sla, "lack yellowSla, redSla"), (_strip_phase, "`phase` or `stage`")],
)
def test_projects_without_phase_sla_fields_fail(coperniq_sandbox, tmp_path, mangle, expect):
    projects = _fetch(coperniq_sandbox, "/projects", page=1, page_size=100)
    for p in projects:
        mangle(p)
    coperniq_sandbox.inject(path="/projects", method="GET", status=200, body=projects, times=1)
    found = _probe(coperniq_sandbox, tmp_path)
    assert found[PROJECT_PHASES].status == "FAIL"
    assert expect in found[PROJECT_PHASES].seen


def _one_project_with_forms(sb: Any, forms: Callable[[dict[str, Any]], list[Any]]) -> None:
    """Make the listing one real project in a phase with an SLA, whose forms are `forms(it)`."""
    projects = _fetch(sb, "/projects", page=1, page_size=100)
    project = copy.deepcopy(next(p for p in projects if p.get("phase")))
    project["phase"].update(instanceId=900001, yellowSla=3, redSla=7)
    sb.inject(path="/projects", method="GET", status=200, body=[project], times=1)
    path = f"/projects/{project['id']}/forms"
    sb.inject(path=path, method="GET", status=200, body=forms(project), times=1)


def test_forms_whose_phase_id_is_the_phase_instance_fail(coperniq_sandbox, tmp_path) -> None:
    _one_project_with_forms(
        coperniq_sandbox, lambda p: [{"id": 1, "name": "Permit", "phaseId": 900001}]
    )
    found = _probe(coperniq_sandbox, tmp_path)
    assert found[FORM_PHASES].status == "FAIL"
    assert "phase.instanceId, not phase.templateId" in found[FORM_PHASES].seen


def test_forms_without_a_phase_fail(coperniq_sandbox, tmp_path) -> None:
    _one_project_with_forms(coperniq_sandbox, lambda p: [{"id": 1, "name": "Permit"}])
    found = _probe(coperniq_sandbox, tmp_path)
    assert found[FORM_PHASES].status == "FAIL"
    assert "phaseId or phaseName" in found[FORM_PHASES].seen


def test_forms_in_the_projects_phase_pass(coperniq_sandbox, tmp_path) -> None:
    _one_project_with_forms(
        coperniq_sandbox,
        lambda p: [{"id": 1, "name": "Permit", "phaseId": p["phase"]["templateId"]}],
    )
    assert _probe(coperniq_sandbox, tmp_path)[FORM_PHASES].status == "OK"


# --- phase moves and updatedAt -------------------------------------------------------------------


def _one_project_read_as(sb: Any, started: str | None, updated: str) -> None:
    """Make the listing one real project in a phase whose GET says when that phase started."""
    projects = _fetch(sb, "/projects", page=1, page_size=100)
    project = copy.deepcopy(next(p for p in projects if p.get("phase")))
    project["updatedAt"] = updated
    sb.inject(path="/projects", method="GET", status=200, body=[project], times=1)
    detail = copy.deepcopy(project)
    instance = project["phase"]["instanceId"]
    detail["phaseInstances"] = (
        [{"id": instance, "status": "IN_PROGRESS", "startedAt": started, "completedAt": None}]
        if started
        else []
    )
    sb.inject(path=f"/projects/{project['id']}", method="GET", status=200, body=detail, times=1)


def test_a_phase_started_after_the_projects_updated_at_warns(coperniq_sandbox, tmp_path):
    _one_project_read_as(
        coperniq_sandbox, started="2026-11-20T15:00:00Z", updated="2026-11-02T09:00:00Z"
    )
    found = _probe(coperniq_sandbox, tmp_path)
    assert found[PHASE_MOVES].status == "WARN"
    assert "does not change updatedAt" in found[PHASE_MOVES].seen
    assert "daily full sweep" in found[PHASE_MOVES].todo
    # One page listed, one project read: GETs only, within the cap.
    assert {r.method for r in coperniq_sandbox.requests} == {"GET"}
    assert len(coperniq_sandbox.requests) <= DEEP_REQUESTS


def test_an_updated_at_no_earlier_than_the_phase_start_passes(coperniq_sandbox, tmp_path):
    _one_project_read_as(
        coperniq_sandbox, started="2026-11-20T15:00:00Z", updated="2026-11-20T15:00:01Z"
    )
    assert _probe(coperniq_sandbox, tmp_path)[PHASE_MOVES].status == "OK"


def test_no_phase_instance_start_to_compare_is_reported_unknown(coperniq_sandbox, tmp_path):
    _one_project_read_as(coperniq_sandbox, started=None, updated="2026-11-20T15:00:01Z")
    found = _probe(coperniq_sandbox, tmp_path)
    assert found[PHASE_MOVES].status == "WARN"
    assert found[PHASE_MOVES].seen.startswith("unknown")


# --- invoices ----------------------------------------------------------------------------------


def _envelope(sb: Any) -> dict[str, Any]:
    return _fetch(sb, "/invoices", page=1, page_size=20)


@pytest.mark.parametrize(
    ("mangle", "status", "expect"),
    [
        (lambda env: env["items"], "FAIL", "a plain list"),
        (lambda env: {"items": env["items"]}, "FAIL", "has_more"),
        (lambda env: {**env, "items": [_without(i, "dueDate") for i in env["items"]]}, "FAIL",
         "lack dueDate"),
        (lambda env: {**env, "items": [_without(i, "amountPaid") for i in env["items"]]}, "WARN",
         "lack amountPaid"),
    ],
)  # fmt: skip
def test_invoices_the_digest_cannot_read_are_reported(
    coperniq_sandbox, tmp_path, mangle, status, expect
) -> None:
    body = mangle(_envelope(coperniq_sandbox))
    coperniq_sandbox.inject(path="/invoices", method="GET", status=200, body=body, times=1)
    found = _probe(coperniq_sandbox, tmp_path)
    assert found[INVOICES].status == status
    assert expect in found[INVOICES].seen


def _without(item: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != key}


# --- users -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("emails", "status"), [(["", None], "FAIL"), (["a@x.test", ""], "WARN")])
def test_users_without_emails_are_reported(coperniq_sandbox, tmp_path, emails, status) -> None:
    users = _fetch(coperniq_sandbox, "/users")[: len(emails)]
    for user, email in zip(users, emails, strict=True):
        user["email"] = email
    coperniq_sandbox.inject(path="/users", method="GET", status=200, body=users, times=1)
    found = _probe(coperniq_sandbox, tmp_path)
    assert found[USERS].status == status
    assert "a@x.test" not in found[USERS].line()


# --- app links (no Coperniq call) --------------------------------------------------------------


def test_an_app_url_without_the_company_id_warns_and_says_what_to_set() -> None:
    found = judge_app_url("https://app.coperniq.io", 40001)
    assert found.status == "WARN"
    assert "https://app.coperniq.io/project/40001" in found.seen
    assert "COPERNIQ_APP_URL=https://app.coperniq.io/<company id>" in found.todo


@pytest.mark.parametrize(
    "url", ["https://app.coperniq.io/388/project", "https://app.coperniq.io/acme"]
)
def test_an_app_url_with_more_than_the_company_id_warns(url) -> None:
    assert judge_app_url(url, 1).status == "WARN"


def test_an_app_url_with_the_company_id_passes() -> None:
    found = judge_app_url(APP_URL, 40001)
    assert found.status == "OK" and "https://app.coperniq.io/388/project/40001" in found.seen
