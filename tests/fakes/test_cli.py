"""`coperniq-bot sandbox coperniq` runs the sandbox alone until interrupted."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_cli_serves_until_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    cmd = [
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        "coperniq",
        "--port",
        "0",
        "--projects",
        "8",
        "--api-key",
        "cli-key",
        "--db",
        str(db),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        cmd,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/v1)", first)
        assert match, first
        base = match.group(1)
        r = httpx.get(f"{base}/projects", headers={"x-api-key": "cli-key"}, timeout=10)
        assert r.status_code == 200 and len(r.json()) == 8
        assert httpx.get(f"{base}/projects", timeout=10).status_code == 401
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert db.exists()


def test_cli_reports_a_port_in_use(capsys) -> None:
    import argparse

    from sandbox.coperniq import CoperniqSandbox
    from sandbox.coperniq.cli import main

    with CoperniqSandbox(api_key="k", projects=2) as busy:
        port = int(busy.base_url.rsplit(":", 1)[1].split("/")[0])
        args = argparse.Namespace(
            api_key="k", seed=388, projects=2, invoices=None, db=None, host="127.0.0.1", port=port
        )
        assert main(args) == 1
    assert "Cannot listen" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "hint"),
    [(["demo"], "./dev demo"), (["sandbox", "coperniq", "--port", "0"], "./dev bot sandbox")],
)
def test_without_the_sandbox_demo_and_sandbox_say_they_need_a_source_checkout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list, hint: str
) -> None:
    import sys

    from bot.cli import main

    # As in an install of the bot's wheel alone: no sandbox package to import.
    for name in [n for n in sys.modules if n == "sandbox" or n.startswith("sandbox.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "sandbox", None)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "source checkout" in err and hint in err
    assert "Traceback" not in err
