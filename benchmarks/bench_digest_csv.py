"""A first overdue-invoices digest over a big backlog: Slack messages and time, CSV against replies.

Seeds the Coperniq sandbox with 16,000 projects (48,000 invoices, about a third of them overdue:
the backlog a large contractor's first digest meets), runs the `overdue-invoices` job once against
the local fake Slack, and prints what it posted: messages, the CSV's rows and size, and the time
the run took beside the thread replies the same digest would have needed at Slack's pace of about
a message a second per channel. Slack's pacing is counted, not slept.

16,000 rather than the big sandbox's 20,000: that one has 60,000 invoices, 600 pages, and the
Coperniq client stops a listing past 500 pages (bot/coperniq/pagination.py), so its full sync
fails there and the digest is built from the first 50,000.

Run: `.venv/bin/python benchmarks/bench_digest_csv.py [--projects 16000]` (about two minutes:
the seeding and the full invoice sync take most of it).
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jobs import blocks, engine  # noqa: E402
from jobs.invoices.render import MAIN_ITEMS  # noqa: E402
from jobs.registry import JOBS  # noqa: E402
from jobs.slackpost import SlackPoster  # noqa: E402
from sandbox.coperniq import CoperniqSandbox  # noqa: E402
from sandbox.slack import FakeSlack  # noqa: E402
from sandbox.wiring import INVOICE_CHANNEL, fake_deps  # noqa: E402

KEY = "bench-key"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=16_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.monotonic()
    sb = CoperniqSandbox(api_key=KEY, projects=args.projects, validate=False)
    sb.start()
    fs = FakeSlack()
    fs.start()
    seeded = time.monotonic() - started
    try:
        with tempfile.TemporaryDirectory(prefix="bench-digest-csv-") as tmp:
            deps = fake_deps(sb, fs, db_path=Path(tmp) / "bot.db", coperniq_sleep=lambda s: None)
            waits: list[float] = []
            poster = SlackPoster(deps.slack, sleep=waits.append)  # type: ignore[arg-type]
            t0 = time.monotonic()
            result = engine.run(JOBS["overdue-invoices"], deps, datetime.now(UTC), poster=poster)
            run_s = time.monotonic() - t0
            deps.coperniq.close()
            deps.store.close()
        posts = fs.calls_to("chat.postMessage")
        uploads = fs.uploaded()
        rest = max(0, result.posted - MAIN_ITEMS)
        replies = math.ceil(rest / blocks.ITEMS_PER_REPLY)
        print(f"sandbox: {args.projects} projects, seeded in {seeded:.0f} s")
        print(result.summary())
        print(f"Slack: {len(posts)} chat.postMessage, {len(uploads)} file(s) in the thread")
        for up in uploads:
            rows = up["content"].decode("utf-8-sig").count("\r\n") - 1
            size = len(up["content"]) / 1e6
            print(f"  {up['filename']}: {rows} rows, {size:.1f} MB, in thread {up['thread_ts']}")
        print(
            f"run: {run_s:.0f} s here, plus {sum(waits):.0f} s of pacing waits that Slack's "
            f"1 message/s/channel would take"
        )
        print(
            f"thread replies instead (before this change): 1 + {replies} messages, about "
            f"{replies / 60:.0f} min of posting at 1 message/s"
        )
        attached = rest > blocks.MAX_REPLIES * blocks.ITEMS_PER_REPLY
        ok = len(uploads) == int(attached) and all(
            u["channel_id"] == INVOICE_CHANNEL for u in uploads
        )
        return 0 if ok and result.failed == 0 else 1
    finally:
        fs.stop()
        sb.stop()


if __name__ == "__main__":
    raise SystemExit(main())
