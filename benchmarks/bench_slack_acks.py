"""Ack and modal-open latency of the Slack app over HTTP with a slow Coperniq.

Serves the real app over HTTP against the fake Slack and the Coperniq sandbox (500 ms injected
latency on every Coperniq call), fires 200 signed `/coperniq call <number>` commands, 20 at a time,
and prints p50/p99 of:
  ack          HTTP round trip of the slash command (Slack's 3 s limit; target p99 < 100 ms)
  views.open   command sent -> the fake Slack receives views.open (target p99 < 500 ms)
  views.update command sent -> the modal is filled in after the Coperniq lookup
Times are time.monotonic() (system-wide), taken by the sender and by the fake Slack.

    python benchmarks/bench_slack_acks.py [--commands 200] [--concurrency 20] [--latency 0.5]
        [--text "call {number}"] [--wait modal|ack] [--in-process [--threads 64]]

By default the app runs as in production, `python -m bot serve --http --no-jobs` in its own
process (64 listener threads); `--in-process` serves create_app() on make_wsgi_server in this
process instead (sharing its GIL with the senders and fakes), where `--threads 5` reproduces
Bolt's default listener pool.
"20 at a time" models 20 people: each sends a command and waits until their modal has loaded
(views.update) before sending the next, so at most 20 commands are in flight end to end.
`--wait ack` instead sends the next command as soon as the previous one is acked: a stress test
in which post-ack work piles up without bound and occupies every listener thread.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# Run as a script from the repository root or anywhere: make the repo importable.
sys.path.insert(0, str(REPO))

from sandbox.coperniq import CoperniqSandbox  # noqa: E402
from sandbox.slack import FakeSlack  # noqa: E402
from sandbox.slackclient import SIGNING_SECRET, SlackHarness  # noqa: E402
from sandbox.wiring import fake_settings, running_harness  # noqa: E402

SANDBOX_KEY = "bench-sandbox-key"


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of non-empty `values`."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def fmt(values: list[float]) -> str:
    if not values:
        return "n/a (none recorded)"
    return (
        f"p50 {percentile(values, 50) * 1000:7.1f} ms   p99 {percentile(values, 99) * 1000:7.1f} ms"
        f"   max {max(values) * 1000:7.1f} ms   (n={len(values)})"
    )


class _RemoteServer:
    """What SlackHarness needs of a server it does not own: its URL."""

    def __init__(self, url: str) -> None:
        self.url = url

    def close(self) -> None:
        pass


@contextmanager
def app_subprocess(fake: FakeSlack, sandbox: Any, tmp: Path) -> Iterator[SlackHarness]:
    """`python -m bot serve --http` in its own process, with a harness that sends to it."""
    settings = fake_settings(sandbox, fake, db_path=tmp / "bot.db")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COPERNIQ_"))},
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.base_url,
        "COPERNIQ_API_KEY": sandbox.api_key,
        "COPERNIQ_BASE_URL": sandbox.base_url,
        "BOT_DB_PATH": str(settings.db_path),
        "PYTHONPATH": str(REPO),
    }
    cmd = [sys.executable, "-m", "bot", "serve", "--http", "--port", "0", "--no-jobs"]
    proc = subprocess.Popen(cmd, cwd=tmp, env=env, stderr=subprocess.PIPE, text=True)  # noqa: S603
    port = None
    try:
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline() if proc.stderr else ""
            if not line:
                raise RuntimeError("the app exited before serving")
            if m := re.search(r"Serving HTTP on port (\d+)", line):
                port = int(m.group(1))
        if port is None:
            raise RuntimeError("the app did not start serving in time")
        # Keep draining the app's log so a full pipe never blocks it.
        threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
        harness = SlackHarness(
            app=None,
            server=_RemoteServer(f"http://127.0.0.1:{port}"),
            fake_slack=fake,
            sandbox=sandbox,
            settings=settings,
            store=None,
            coperniq=None,
        )
        try:
            yield harness
        finally:
            harness.http.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_modal_loaded(fake: FakeSlack, trigger_id: str | None, timeout: float) -> None:
    """Block until the modal opened with `trigger_id` got its views.update (or gave up)."""
    try:
        opened = fake.wait_call(
            lambda c: c.method == "views.open" and c.args.get("trigger_id") == trigger_id, timeout
        )
        if not (opened.ok and opened.response):
            return  # views.open failed: nothing more will come
        view_id = opened.response["view"]["id"]
        fake.wait_call(
            lambda c: c.method == "views.update" and c.args.get("view_id") == view_id, timeout
        )
    except TimeoutError:
        return


def run(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeSlack() as fake,
        CoperniqSandbox(api_key=SANDBOX_KEY, projects=60) as sandbox,
    ):
        numbers = [p["number"] for p in sandbox.all("projects") if p.get("number") is not None]
        sandbox.inject(path="*", latency=args.latency)
        serving = (
            running_harness(fake, sandbox, Path(tmp), listener_threads=args.threads)
            if args.in_process
            else app_subprocess(fake, sandbox, Path(tmp))
        )
        with serving as slack:
            slack.command("help")  # warm up: first request builds Bolt's lazy pieces

            def fire(i: int) -> tuple[str | None, float, float, int]:
                text = args.text.format(number=numbers[i % len(numbers)] if numbers else i)
                reply = slack.command(text, user=f"U{i:06d}")
                if args.wait == "modal":
                    # A person waits for the modal to fill in before typing the next command.
                    _wait_modal_loaded(fake, reply.trigger_id, timeout=30)
                return reply.trigger_id, reply.sent_at, reply.elapsed, reply.status

            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
                sent = list(pool.map(fire, range(args.commands)))
            # Let the post-ack work (views.open, Coperniq, views.update) finish.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if len(fake.calls_to("views.update")) >= args.commands:
                    break
                time.sleep(0.1)
            finished = time.monotonic()
            calls = fake.calls

    sent_at = {trigger: at for trigger, at, _, _ in sent}
    acks = [elapsed for _, _, elapsed, _ in sent]
    statuses = [status for _, _, _, status in sent]
    opened: list[float] = []
    view_sent_at: dict[str, float] = {}
    failed_opens = 0
    for call in calls:
        trigger = call.args.get("trigger_id")
        if call.method != "views.open" or trigger not in sent_at:
            continue
        if call.ok and call.response:
            opened.append(call.at - sent_at[trigger])
            view_sent_at[call.response["view"]["id"]] = sent_at[trigger]
        else:
            failed_opens += 1
    updated: dict[str, float] = {}
    for call in calls:
        view_id = str(call.args.get("view_id"))
        if call.method == "views.update" and call.ok and view_id in view_sent_at:
            updated.setdefault(view_id, call.at - view_sent_at[view_id])

    model = (
        "each waits for their modal to load before the next command"
        if args.wait == "modal"
        else "each sends the next command once the last is acked (stress)"
    )
    where = (
        f"in this process, {args.threads} listener threads"
        if args.in_process
        else "`serve --http` in its own process, 64 listener threads"
    )
    print(f"{args.commands} x {args.text!r}: {args.concurrency} people at a time, {model}")
    print(f"  app: {where}; Coperniq latency {args.latency * 1000:.0f} ms per call")
    print(f"  HTTP statuses: { {s: statuses.count(s) for s in sorted(set(statuses))} }")
    print(f"  ack          {fmt(acks)}")
    print(f"  views.open   {fmt(opened)}   failed: {failed_opens}")
    print(f"  views.update {fmt(list(updated.values()))}")
    print(f"  wall time    {finished - started:.1f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--commands", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument(
        "--latency", type=float, default=0.5, help="seconds added to every Coperniq call"
    )
    p.add_argument(
        "--text", default="call {number}", help="command text; {number}: a project number"
    )
    p.add_argument(
        "--wait",
        choices=["modal", "ack"],
        default="modal",
        help="modal: each sender waits for its modal to load; ack: only for the ack (stress)",
    )
    p.add_argument("--in-process", action="store_true", help="serve the app in this process")
    p.add_argument(
        "--threads", type=int, default=64, help="Bolt listener threads (with --in-process)"
    )
    run(p.parse_args())


if __name__ == "__main__":
    main()
