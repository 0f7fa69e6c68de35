"""`coperniq-bot serve` runs the scheduled jobs in the same process unless --no-jobs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.slack.harness import SIGNING_SECRET

REPO = Path(__file__).resolve().parent.parent


def _serve_log(extra_args: list[str], env: dict[str, str], cwd: Path) -> str:
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-m", "bot", "serve", "--http", "--port", "0", *extra_args],
        cwd=cwd,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            if re.search(r"Serving HTTP on port \d+", line):
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rest = proc.communicate(timeout=30)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            rest = proc.communicate()[1]
    assert proc.returncode == 0, "".join(lines) + rest
    return "".join(lines) + rest


def test_serve_schedules_the_jobs_and_no_jobs_leaves_them_out(
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
        "SLA_ALERT_CHANNEL": "C0SLAALERTS",
        # A real process runs on the real clock: tick half an hour from now, so no tick (and no
        # Coperniq call) can fall inside the few seconds this test runs, at any hour or weekday.
        "SLA_ALERT_CRON": f"{(datetime.now(UTC).minute + 30) % 60} * * * *",
        "PYTHONPATH": str(REPO),
    }
    with_jobs = _serve_log([], env, tmp_path)
    assert "job form-sla next run" in with_jobs
    # No channel and nobody opted in yet: scheduled all the same (a channel may subscribe at any
    # time), and the log says it serves nobody yet; such a run stops before calling Coperniq.
    assert "job overdue-invoices on" in with_jobs and "nobody yet" in with_jobs
    without = _serve_log(["--no-jobs"], env, tmp_path)
    assert "job form-sla next run" not in without
    # Starting the scheduler costs no Coperniq call: nothing runs until the first tick.
    assert coperniq_sandbox.requests == []
