"""`coperniq-bot jobs run`, `clock` and `demo` end to end (sandbox and fake Slack on loopback)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from tests.conftest import SANDBOX_KEY

ENV_NAMES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "COPERNIQ_API_KEY",
    "COPERNIQ_BASE_URL",
    "COPERNIQ_APP_URL",
    "BOT_DB_PATH",
    "BOT_TIMEZONE",
    "INVOICE_ALERT_CHANNEL",
    "SLA_ALERT_CHANNEL",
    "INVOICE_ALERT_CRON",
    "SLA_ALERT_CRON",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_jobs_run_without_a_coperniq_key_is_a_config_error(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", "run", "form-sla", "--dry-run"]) == 2
    assert "COPERNIQ_API_KEY" in capsys.readouterr().err


def test_jobs_run_posting_needs_the_slack_token(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The channels come from the environment or from `/coperniq subscribe` (the store): the run
    # itself says when nobody is subscribed.
    monkeypatch.setenv("COPERNIQ_API_KEY", "k")
    assert main(["jobs", "run", "overdue-invoices"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN" in err and "INVOICE_ALERT_CHANNEL" not in err


def test_jobs_run_rejects_a_bad_now(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COPERNIQ_API_KEY", "k")
    assert main(["jobs", "run", "form-sla", "--dry-run", "--now", "tomorrow"]) == 2


def test_jobs_run_dry_run_prints_the_digest_and_posts_nothing(
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    coperniq_sandbox: Any,
    fake_slack: Any,
) -> None:
    monkeypatch.setenv("COPERNIQ_API_KEY", SANDBOX_KEY)
    monkeypatch.setenv("COPERNIQ_BASE_URL", coperniq_sandbox.base_url)
    monkeypatch.setenv("BOT_DB_PATH", str(clean_env / "bot.db"))
    code = main(
        [
            "jobs",
            "run",
            "overdue-invoices",
            "--dry-run",
            "--now",
            time.strftime("%Y-%m-%dT12:00:00", time.gmtime()),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Overdue invoices" in out and "overdue across" in out and "(dry run)" in out
    assert fake_slack.calls == []


def test_jobs_run_posts_to_the_channel(
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    coperniq_sandbox: Any,
    fake_slack: Any,
) -> None:
    monkeypatch.setenv("COPERNIQ_API_KEY", SANDBOX_KEY)
    monkeypatch.setenv("COPERNIQ_BASE_URL", coperniq_sandbox.base_url)
    monkeypatch.setenv("BOT_DB_PATH", str(clean_env / "bot.db"))
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.base_url)
    monkeypatch.setenv("INVOICE_ALERT_CHANNEL", "C0CLIINVOICE")
    assert main(["jobs", "run", "overdue-invoices"]) == 0
    assert fake_slack.calls_to("chat.postMessage")
    assert main(["jobs", "run", "overdue-invoices"]) == 0  # nothing new: no second digest
    posted = fake_slack.calls_to("chat.postMessage")
    assert posted[0]["channel"] == "C0CLIINVOICE"
    assert len([p for p in posted if not p.get("thread_ts")]) == 1


def test_demo_runs_with_no_credentials_and_no_env_file(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Overdue invoices" in out and "Forms past their phase SLA" in out
    assert "Coperniq calls:" in out and "Nothing was posted" in out


def test_clock_stops_cleanly_on_sigterm(clean_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    env.update(
        COPERNIQ_API_KEY="k",
        COPERNIQ_BASE_URL="http://127.0.0.1:9/v1",
        BOT_DB_PATH=str(clean_env / "bot.db"),
    )
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "bot", "clock"],
        cwd=clean_env,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        seen = ""
        assert proc.stdout is not None
        while "clock running" not in seen and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen += line
        assert "clock running" in seen, seen
        assert "job overdue-invoices is off" in seen and "job form-sla is off" in seen
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_jobs_run_says_what_failed_when_coperniq_refuses_the_key(
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    coperniq_sandbox: Any,
) -> None:
    monkeypatch.setenv("COPERNIQ_API_KEY", "not-the-sandbox-key")
    monkeypatch.setenv("COPERNIQ_BASE_URL", coperniq_sandbox.base_url)
    monkeypatch.setenv("BOT_DB_PATH", str(clean_env / "bot.db"))
    assert main(["jobs", "run", "form-sla", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("form-sla failed: ") and "not-the-sandbox-key" not in err
