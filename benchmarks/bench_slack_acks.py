"""Ack and modal-open latency of the Slack app over HTTP with a slow Coperniq.

Serves the real app (create_app on the waitress server) against the fake Slack and the Coperniq
sandbox with 500 ms injected latency, fires 200 signed `/coperniq call <number>` commands, 20 at a
time, and prints p50/p99 of:
  ack          HTTP round trip of the slash command (Slack's 3 s limit; target p99 < 100 ms)
  views.open   command sent -> the fake Slack receives views.open (target p99 < 500 ms)
  views.update command sent -> the modal is filled in after the Coperniq lookup
Timestamps come from time.monotonic() in this process (the fake records its calls with it).

    python benchmarks/bench_slack_acks.py [--commands 200] [--concurrency 20]
        [--latency 0.5] [--threads 64] [--text "call {number}"]

"20 at a time" models 20 people: each sends a command and waits until their modal has loaded
(views.update) before sending the next, so at most 20 commands are in flight end to end.
`--wait ack` instead sends the next command as soon as the previous one is acked: a stress test
in which post-ack work piles up without bound and occupies every listener thread.
`--threads 5` reproduces Bolt's default listener pool. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# Run as a script from the repository root or anywhere: make the repo importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.sandbox.coperniq import CoperniqSandbox  # noqa: E402
from bot.sandbox.slack import FakeSlack  # noqa: E402
from tests.slack.harness import running_harness  # noqa: E402

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


def _view_of(fake: FakeSlack, trigger_id: str | None) -> tuple[str | None, bool]:
    """(view id opened with `trigger_id`, whether views.open was answered at all)."""
    for call in fake.calls:
        if call.method == "views.open" and call.args.get("trigger_id") == trigger_id:
            if call.ok and call.response:
                return call.response["view"]["id"], True
            return None, True
    return None, False


def _wait_modal_loaded(fake: FakeSlack, trigger_id: str | None, timeout: float) -> None:
    """Block until the modal opened with `trigger_id` got its views.update (or gave up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view_id, answered = _view_of(fake, trigger_id)
        if answered and view_id is None:
            return  # views.open failed: nothing more will come
        if view_id and any(
            c.method == "views.update" and c.args.get("view_id") == view_id for c in fake.calls
        ):
            return
        time.sleep(0.02)


def run(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeSlack() as fake,
        CoperniqSandbox(api_key=SANDBOX_KEY, projects=60) as sandbox,
    ):
        numbers = [p["number"] for p in sandbox.all("projects") if p.get("number") is not None]
        sandbox.inject(path="*", latency=args.latency)
        with running_harness(
            fake, sandbox, Path(tmp), listener_threads=args.threads, http_threads=32
        ) as slack:
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
                if sum(1 for c in fake.calls if c.method == "views.update") >= args.commands:
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
        "each of them waits for their modal to load before the next command"
        if args.wait == "modal"
        else "each fires the next command as soon as the last one is acked (stress)"
    )
    print(
        f"{args.commands} x {args.text!r}: {args.concurrency} people at a time, {model}; "
        f"Coperniq latency {args.latency * 1000:.0f} ms; listener threads {args.threads}"
    )
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
    p.add_argument("--threads", type=int, default=64, help="Bolt listener threads")
    p.add_argument(
        "--text", default="call {number}", help="command text; {number}: a project number"
    )
    p.add_argument(
        "--wait",
        choices=["modal", "ack"],
        default="modal",
        help="modal: each sender waits for its modal to load; ack: only for the ack (stress)",
    )
    run(p.parse_args())


if __name__ == "__main__":
    main()
