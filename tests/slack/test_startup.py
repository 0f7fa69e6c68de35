"""`serve` and `clock` at start-up when Slack refuses the token or cannot be reached."""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.cli import main as cli_main
from tests.slack.harness import SIGNING_SECRET

REPO = Path(__file__).resolve().parents[2]


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"


def _env(monkeypatch, tmp_path: Path, slack_url: str, token: str, **extra: str) -> None:
    for name in ("SLACK_APP_TOKEN", "INVOICE_ALERT_CHANNEL", "SLA_ALERT_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    values = {
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_url,
        "COPERNIQ_API_KEY": "cq-startup-secret-key",
        "COPERNIQ_BASE_URL": "http://127.0.0.1:9/v1",
        "BOT_DB_PATH": str(tmp_path / "bot.db"),
        **extra,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no .env


@pytest.mark.parametrize(
    "code", ["invalid_auth", "token_revoked", "account_inactive", "not_authed"]
)
def test_serve_with_a_refused_token_exits_1_with_one_line(
    code, fake_slack, monkeypatch, tmp_path, capsys, caplog
) -> None:
    _env(monkeypatch, tmp_path, fake_slack.base_url, fake_slack.bot_token)
    fake_slack.fail("auth.test", code, times=None)
    assert cli_main(["serve", "--http", "--port", "0", "--no-jobs"]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [lines[-1]] and lines[0].startswith("Slack refused SLACK_BOT_TOKEN: ")
    assert f"({code})" in lines[0]
    assert "Traceback" not in err + caplog.text
    assert fake_slack.bot_token not in err + caplog.text
    assert len(fake_slack.calls_to("auth.test")) == 1


def test_clock_with_a_refused_token_exits_1_with_one_line(
    fake_slack, monkeypatch, tmp_path, capsys, caplog
) -> None:
    _env(
        monkeypatch,
        tmp_path,
        fake_slack.base_url,
        fake_slack.bot_token,
        INVOICE_ALERT_CHANNEL="C0ALERTS1",
    )
    fake_slack.fail("auth.test", "token_revoked", times=None)
    assert cli_main(["clock"]) == 1
    err = capsys.readouterr().err
    assert "Slack refused SLACK_BOT_TOKEN: the token was revoked; reinstall the app" in err
    assert "Traceback" not in err + caplog.text


def test_serve_waits_out_slack_trouble_then_serves(fake_slack, monkeypatch, tmp_path) -> None:
    from bot.serve import main as serve_main

    _env(monkeypatch, tmp_path, fake_slack.base_url, fake_slack.bot_token)
    fake_slack.fail("auth.test", "service_unavailable", times=2)
    waits: list[float] = []

    def stop_once_serving() -> None:
        # auth.test answered on the third try: the app is built; SIGTERM ends serve.
        fake_slack.wait_call(lambda c: c.method == "auth.test" and c.ok, timeout=20)
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=stop_once_serving, daemon=True)
    killer.start()
    args = argparse.Namespace(http=True, port=0, no_jobs=True)
    assert serve_main(args, sleep=waits.append) == 0
    killer.join(timeout=5)
    assert waits == [1, 2]
    assert len(fake_slack.calls_to("auth.test")) == 3


def test_serve_with_slack_unreachable_logs_each_try_and_stops_on_sigterm(tmp_path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COPERNIQ_"))},
        "SLACK_BOT_TOKEN": "xoxb-startup-secret-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": _closed_port_url(),
        "COPERNIQ_API_KEY": "cq-startup-secret-key",
        "COPERNIQ_BASE_URL": "http://127.0.0.1:9/v1",
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
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "Slack is not answering" in line:
                break
        assert any("Slack is not answering" in line for line in lines), "".join(lines)
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=15)[1]
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    err = "".join(lines) + rest
    assert "Traceback" not in err
    assert "xoxb-startup-secret-token" not in err and "cq-startup-secret-key" not in err
    tries = [line for line in err.splitlines() if "Slack is not answering" in line]
    assert tries and re.search(r"Connection refused", tries[0])


def test_socket_mode_with_a_refused_app_token_exits_1_with_one_line(
    fake_slack, monkeypatch, tmp_path, capsys, caplog
) -> None:
    _env(
        monkeypatch,
        tmp_path,
        fake_slack.base_url,
        fake_slack.bot_token,
        SLACK_APP_TOKEN="xapp-not-the-right-one",
    )
    assert cli_main(["serve", "--no-jobs"]) == 1
    err = capsys.readouterr().err
    assert "Slack refused SLACK_APP_TOKEN: the app-level token was rejected" in err
    assert "Traceback" not in err + caplog.text
    assert "xapp-not-the-right-one" not in err + caplog.text
