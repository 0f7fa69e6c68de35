"""The real `serve` process takes Coperniq webhooks: on its HTTP port, or on WEBHOOK_PORT in Socket
Mode; the secret never reaches its log, and SIGTERM stops the worker before the store."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.slack.harness import SIGNING_SECRET
from tests.slack.test_socket_mode import LocalSocketModeServer
from tests.webhooks.conftest import SECRET, event_body

REPO = Path(__file__).resolve().parents[2]


def _env(fake_slack, sandbox, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COPERNIQ_"))},
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_API_URL": fake_slack.base_url,
        "COPERNIQ_API_KEY": sandbox.api_key,
        "COPERNIQ_BASE_URL": sandbox.base_url,
        "COPERNIQ_WEBHOOK_SECRET": SECRET,
        "BOT_DB_PATH": str(tmp_path / "bot.db"),
        "PYTHONPATH": str(REPO),
        **extra,
    }


def _serve(args: list[str], env: dict[str, str], cwd: Path, ready: str):
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-m", "bot", "serve", "--no-jobs", *args],
        cwd=cwd,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 30
    port = None
    while port is None and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if m := re.search(ready, line):
            port = int(m.group(1))
    return proc, port, lines


def _stop(proc, lines: list[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        rest = proc.communicate(timeout=30)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        rest = proc.communicate()[1]
    log = "".join(lines) + rest
    assert proc.returncode == 0, log
    return log


def _statuses(tmp_path: Path) -> dict[str, str]:
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        return dict(conn.execute("select trigger_key, status from webhook_events").fetchall())


def test_serve_http_takes_webhooks_on_its_port_and_never_logs_the_secret(
    fake_slack, coperniq_sandbox, tmp_path
) -> None:
    env = _env(fake_slack, coperniq_sandbox, tmp_path, SLACK_SIGNING_SECRET=SIGNING_SECRET)
    proc, port, lines = _serve(
        ["--http", "--port", "0"], env, tmp_path, r"Serving HTTP on port (\d+)"
    )
    try:
        assert port, "".join(lines)
        base = f"http://127.0.0.1:{port}/coperniq/webhooks/"
        kept = httpx.post(
            base + SECRET, json=event_body("TASK_COMPLETED", workOrderId=7), timeout=5
        )
        assert kept.status_code == 200
        started = event_body("PROJECT_PHASE_STARTED", phaseTemplateId=5107)
        assert httpx.post(base + SECRET, json=started, timeout=5).status_code == 200
        assert httpx.post(base + "guess", json=started, timeout=5).status_code == 404
        deadline = time.monotonic() + 10
        while _statuses(tmp_path) != {"TASK_COMPLETED": "failed", "PROJECT_PHASE_STARTED": "done"}:
            assert time.monotonic() < deadline, _statuses(tmp_path)
            time.sleep(0.05)
    finally:
        log = _stop(proc, lines)
    # Work order 7 is not in the sandbox: read once, 404, failed.
    assert _statuses(tmp_path) == {"TASK_COMPLETED": "failed", "PROJECT_PHASE_STARTED": "done"}
    assert "/coperniq/webhooks/***" in log
    assert SECRET not in log
    assert "Traceback" not in log


def test_serve_in_socket_mode_listens_on_webhook_port_for_that_path_alone(
    fake_slack, coperniq_sandbox, tmp_path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with LocalSocketModeServer() as ws:
        fake_slack.socket_mode_url = ws.url
        env = _env(
            fake_slack,
            coperniq_sandbox,
            tmp_path,
            SLACK_APP_TOKEN=fake_slack.app_token,
            WEBHOOK_PORT=str(free),
        )
        proc, port, lines = _serve([], env, tmp_path, r"Receiving Coperniq webhooks on port (\d+)")
        try:
            assert port == free, "".join(lines)
            base = f"http://127.0.0.1:{port}"
            body = event_body("TASK_STATUS_MOVEMENT", workOrderId=8, currentStatus="WORKING")
            answer = httpx.post(f"{base}/coperniq/webhooks/{SECRET}", json=body, timeout=5)
            assert answer.status_code == 200
            # That path alone: Slack's events and the health check are not served here.
            assert httpx.post(f"{base}/slack/events", content=b"x=1", timeout=5).status_code == 404
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 404
        finally:
            log = _stop(proc, lines)
    assert _statuses(tmp_path)["TASK_STATUS_MOVEMENT"] in {"received", "processing", "failed"}
    assert f"Receiving Coperniq webhooks on port {free} (POST /coperniq/webhooks/***)" in log
    assert SECRET not in log
