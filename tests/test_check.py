"""`coperniq-bot check`: one OK/FAIL line each for configuration, Slack and Coperniq."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import SANDBOX_KEY

ROOT = Path(__file__).resolve().parent.parent


def _check(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COPERNIQ_"))}
    base.update(env, BOT_DB_PATH=str(tmp_path / "bot.db"))
    # Run where no .env can leak in: the check must rely on the environment given here.
    return subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        capture_output=True,
        text=True,
        timeout=120,
        env=base,
        cwd=tmp_path,
    )


def test_check_passes_against_slack_and_coperniq(coperniq_sandbox, fake_slack, tmp_path) -> None:
    proc = _check(
        {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_API_URL": fake_slack.base_url,
            "COPERNIQ_API_KEY": SANDBOX_KEY,
            "COPERNIQ_BASE_URL": coperniq_sandbox.base_url,
        },
        tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("OK") and "configuration" in lines[0]
    assert lines[1].startswith("OK") and "Slack" in lines[1]
    assert lines[2].startswith("OK") and "Coperniq" in lines[2]
    # One cheap Coperniq call, not a listing.
    assert [(r.method, r.path) for r in coperniq_sandbox.requests] == [("GET", "/projects")]
    assert coperniq_sandbox.requests[0].query.get("page_size") in ("1", ["1"])
    # Counted in the bot's ledger like any other call.
    from bot.store import Store, api_calls_since

    since = datetime.now(UTC) - timedelta(hours=1)
    assert api_calls_since(Store(tmp_path / "bot.db").db, since) == 1


def test_a_wrong_key_is_a_clear_authentication_failure(coperniq_sandbox, fake_slack, tmp_path):
    wrong = "cq-wrong-key-0123456789"
    proc = _check(
        {
            "SLACK_BOT_TOKEN": "xoxb-wrong-token",
            "SLACK_API_URL": fake_slack.base_url,
            "COPERNIQ_API_KEY": wrong,
            "COPERNIQ_BASE_URL": coperniq_sandbox.base_url,
        },
        tmp_path,
    )
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    assert wrong not in out and "xoxb-wrong-token" not in out
    coperniq_line = next(line for line in proc.stdout.splitlines() if "Coperniq" in line)
    assert coperniq_line.startswith("FAIL")
    assert "key" in coperniq_line.lower()
    slack_line = next(line for line in proc.stdout.splitlines() if "Slack" in line)
    assert slack_line.startswith("FAIL") and "invalid_auth" in slack_line


def test_missing_configuration_exits_2_and_names_every_variable(tmp_path) -> None:
    proc = _check({"BOT_TIMEZONE": "Nowhere/Land"}, tmp_path)
    assert proc.returncode == 2
    assert "BOT_TIMEZONE" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_unreachable_services_fail_without_a_traceback(tmp_path) -> None:
    proc = _check(
        {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
            "COPERNIQ_API_KEY": "some-key-123",
            "COPERNIQ_BASE_URL": "http://127.0.0.1:9/v1",
        },
        tmp_path,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout.count("FAIL") == 2
