"""Photos from a phone: time to the confirmation and peak memory for 1 and for 10 photos of 5 MB.

Serves the real app as in production (`python -m bot serve --http --no-jobs`, its own process, a
fresh one and a fresh database per run) against the fake Slack and the Coperniq sandbox, both
answering every call after an added latency (150 ms by default: every Slack Web API call and file
download, every Coperniq call). Per run: open the photo modal, pick the project, the form and its
FILE field (not timed), then submit N photos of 5 MB and time from the submission sent to the
confirmation message reaching Slack (chat.postMessage). Memory is the app process's RSS
high-water mark (VmHWM) and its RSS just before the submission: what the pipeline added is the
difference, as the app's own process measures nothing else (the fakes run in this one).

    python benchmarks/bench_photos.py [--latency 0.15] [--size-mb 5] [--photos 1,10]
        [--target 2.5]

Prints one line per run and the ratio of the last run's time to the first's; exits 1 when that
ratio is not under the target (10 photos in under 2.5x the time of 1).
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
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# Run as a script from the repository root or anywhere: make the repo importable.
sys.path.insert(0, str(REPO))

from bot.flows.photo import PARALLEL_PHOTOS  # noqa: E402
from bot.ids import Block  # noqa: E402
from sandbox.coperniq import CoperniqSandbox  # noqa: E402
from sandbox.scenarios.modals import (  # noqa: E402
    choose_project_and_form,
    open_form_with_file,
    open_modal,
    posts_to,
    submit,
)
from sandbox.slack import FakeSlack  # noqa: E402
from sandbox.slackclient import CHANNEL, SIGNING_SECRET, SlackHarness  # noqa: E402
from sandbox.wiring import fake_settings  # noqa: E402

SANDBOX_KEY = "bench-sandbox-key"
MB = 1024 * 1024


class _RemoteServer:
    """What SlackHarness needs of a server it does not own: its URL."""

    def __init__(self, url: str) -> None:
        self.url = url

    def close(self) -> None:
        pass


@contextmanager
def app_subprocess(
    fake: FakeSlack, sandbox: Any, tmp: Path
) -> Iterator[tuple[SlackHarness, subprocess.Popen[str]]]:
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
            yield harness, proc
        finally:
            harness.http.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (RSS high-water mark) of a process, in kB (Linux /proc)."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def photo_bytes(n: int, size: int) -> bytes:
    """`size` bytes that start as a JPEG (the bot checks the magic number), distinct per photo."""
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
    block = bytes((n * 31 + i) % 256 for i in range(4096))
    body = (block * (size // len(block) + 1))[: size - len(head)]
    return head + body


def run_once(
    fake: FakeSlack, sandbox: Any, count: int, size: int, latency: float
) -> dict[str, float]:
    """One fresh app process: N photos submitted; seconds to the confirmation and memory."""
    with tempfile.TemporaryDirectory() as tmp, app_subprocess(fake, sandbox, Path(tmp)) as served:
        slack, proc = served
        fake.set_latency(0)
        sandbox.latency = 0.0
        slack.command("help")  # warm up: the first request builds Bolt's lazy pieces
        project, form, field = open_form_with_file(slack)
        view = choose_project_and_form(slack, open_modal(slack, "photo"), project, form)
        files = [fake.add_file(photo_bytes(i, size), f"site{i:02d}.jpg") for i in range(count)]
        before_posts = len(posts_to(slack, CHANNEL))
        fake.set_latency(latency)
        sandbox.latency = latency
        before = memory_kb(proc.pid)
        sent = time.monotonic()
        submit(slack, view, {Block.PHOTO_FIELD: str(field["columnId"]), Block.PHOTO_FILES: files})
        call = fake.wait_call(
            lambda c: (
                c.method == "chat.postMessage" and c.args.get("channel") == CHANNEL and c.at > sent
            ),
            timeout=120,
        )
        took = call.at - sent
        after = memory_kb(proc.pid)
        text = posts_to(slack, CHANNEL)[before_posts]["text"]
        fake.set_latency(0)
        sandbox.latency = 0.0
    attached = re.search(r"(\d+) photos? attached", text)
    if attached is None or int(attached.group(1)) != count:
        raise RuntimeError(f"not every photo was attached: {text!r}")
    return {
        "seconds": took,
        "rss_before_mb": before["VmRSS"] / 1024,
        "hwm_mb": after["VmHWM"] / 1024,
        "added_mb": (after["VmHWM"] - before["VmRSS"]) / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--latency", type=float, default=0.15, help="seconds added to every Slack/Coperniq call"
    )
    p.add_argument("--size-mb", type=float, default=5.0, help="size of each photo")
    p.add_argument("--photos", default="1,10", help="photo counts to run, e.g. 1,10")
    p.add_argument("--target", type=float, default=2.5, help="most the last/first ratio may be")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    counts = [int(c) for c in args.photos.split(",") if c.strip()]
    size = int(args.size_mb * MB)
    print(
        f"photos of {args.size_mb:g} MB; {args.latency * 1000:.0f} ms added to every Slack call "
        f"(downloads included) and every Coperniq call; {PARALLEL_PHOTOS} photos in flight"
    )
    results: dict[int, dict[str, float]] = {}
    with (
        FakeSlack() as fake,
        CoperniqSandbox(api_key=SANDBOX_KEY, projects=40, validate=False) as sandbox,
    ):
        for count in counts:
            r = results[count] = run_once(fake, sandbox, count, size, args.latency)
            print(
                f"  {count:2d} photo{'s' if count != 1 else ' '}: {r['seconds']:5.2f} s to the "
                f"confirmation; app RSS {r['rss_before_mb']:.0f} MB before, high-water "
                f"{r['hwm_mb']:.0f} MB (+{r['added_mb']:.1f} MB)"
            )
    if len(counts) < 2:
        return 0
    first, last = counts[0], counts[-1]
    ratio = results[last]["seconds"] / results[first]["seconds"]
    met = ratio < args.target
    print(
        f"  ratio {last}/{first}: {ratio:.2f}x (target: under {args.target:g}x) "
        f"{'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
