"""`coperniq-bot serve`: configuration checks, and the real process serving HTTP until SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.cli import main as cli_main
from tests.slack.harness import SIGNING_SECRET

REPO = Path(__file__).resolve().parents[2]


def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "COPERNIQ_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env


def test_serve_http_without_credentials_exits_2_listing_each(monkeypatch, tmp_path, capsys) -> None:
    _clean_env(monkeypatch, tmp_path)
    assert cli_main(["serve", "--http"]) == 2
    err = capsys.readouterr().err
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "COPERNIQ_API_KEY"):
        assert name in err
    assert "SLACK_APP_TOKEN" not in err


def test_socket_mode_needs_no_signing_secret(monkeypatch, tmp_path, capsys) -> None:
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-test")
    assert cli_main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN" in err and "COPERNIQ_API_KEY" in err
    assert "SLACK_SIGNING_SECRET" not in err


def test_serve_http_answers_and_stops_cleanly_on_sigterm(
    fake_slack, coperniq_sandbox, tmp_path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COPERNIQ_"))},
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.base_url,
        "COPERNIQ_API_KEY": coperniq_sandbox.api_key,
        "COPERNIQ_BASE_URL": coperniq_sandbox.base_url,
        "BOT_DB_PATH": str(tmp_path / "bot.db"),
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--http", "--port", "0", "--no-jobs"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = None
        deadline = time.monotonic() + 20
        lines = []
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            if m := re.search(r"Serving HTTP on port (\d+)", line):
                port = int(m.group(1))
        assert port, "".join(lines)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["ok"] is True
        unsigned = httpx.post(f"http://127.0.0.1:{port}/slack/events", content=b"x=1", timeout=5)
        assert unsigned.status_code == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        proc.stderr.close()
    assert fake_slack.calls_to("auth.test")  # Bolt checked the token at start-up
