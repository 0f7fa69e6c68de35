"""`coperniq-bot jobs list|run` and `coperniq-bot clock`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.config import Settings, load_settings
from bot.slackstart import call_slack_at_start
from jobs import engine, scheduler
from jobs.registry import JOBS

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def list_main(args: argparse.Namespace) -> int:
    """Print each job's id, schedule, next run in BOT_TIMEZONE, channel and on/off."""
    settings = load_settings()
    from bot.store import Store

    store = Store(settings.db_path)
    try:
        infos = scheduler.job_infos(settings, db=store.db)
    finally:
        store.close()
    rows = [("JOB", "SCHEDULE", f"NEXT RUN ({settings.timezone})", "CHANNELS", "STATE")]
    for info in infos:
        nxt = info.next_run.strftime("%a %Y-%m-%d %H:%M %Z") if info.next_run else "never"
        rows.append(
            (
                info.id,
                info.cron,
                nxt if info.on else f"({nxt})",
                info.channel or "-",
                "on"
                if info.on
                else (f"off ({info.error})" if info.error else "off (no subscription)"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return EXIT_OK


def parse_now(value: str, tz: ZoneInfo) -> datetime:
    """An ISO-8601 instant; without an offset it is read in the business time zone."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)


def _needs_for_run(job_id: str, dry_run: bool) -> list[str]:
    needs = ["coperniq_api_key"]
    if not dry_run:
        # Channels come from the environment or from `/coperniq subscribe`: the run says when
        # none is subscribed.
        needs += ["slack_bot_token"]
    return needs


def _needs_slack(settings: Settings) -> bool:
    # Subscriptions and personal settings live in the store and come from Slack: with a token,
    # the clock serves them; without one, only the environment's channels could need it.
    return bool(settings.slack_bot_token) or any(
        job.config.off_reason(settings) is None for job in JOBS.values()
    )


def _needs_for_clock(settings: Settings) -> list[str]:
    needs = ["coperniq_api_key"]
    return needs + ["slack_bot_token"] if _needs_slack(settings) else needs


def run_main(args: argparse.Namespace) -> int:
    """Run one job once, posting (or with --dry-run printing) its message; print what it did."""
    settings = load_settings(required=_needs_for_run(args.name, args.dry_run))
    now = datetime.now(UTC)
    if args.now:
        try:
            now = parse_now(args.now, settings.timezone)
        except ValueError:
            print(f"--now {args.now!r} is not an ISO-8601 date-time", file=sys.stderr)
            return EXIT_USAGE
    from bot.coperniq.errors import CoperniqError
    from bot.deps import build_deps

    deps = build_deps(settings)
    try:
        # Nothing sets this stop: a run started by hand ends with Ctrl-C.
        result = engine.run(
            JOBS[args.name], deps, now, dry_run=args.dry_run, stop=threading.Event(), out=print
        )
    except CoperniqError as exc:
        log.debug("jobs run %s failed", args.name, exc_info=True)
        print(f"{args.name} failed: {exc.user_message}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        deps.coperniq.close()
        deps.store.close()
    print(result.summary())
    for note in result.notes:
        print(f"note: {note}")
    return EXIT_FAILURE if result.failed else EXIT_OK


def clock_main(args: argparse.Namespace) -> int:
    """Run only the scheduled jobs until SIGTERM or Ctrl-C."""
    settings = load_settings(required=_needs_for_clock)
    from bot.deps import build_deps

    deps = build_deps(settings)
    stop_event = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        log.info("signal %s: stopping the scheduler", signum)
        stop_event.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    stop = None
    try:
        # The jobs post to Slack: a refused token stops here with one line (SlackRefused, exit
        # 1) rather than failing every run; an outage is waited out, SIGTERM ends the wait.
        if _needs_slack(settings) and deps.slack is not None:
            where = settings.slack_api_url
            if call_slack_at_start(deps.slack.auth_test, stop=stop_event, where=where) is None:
                return EXIT_OK
        stop = scheduler.start_background(deps, stop_event)
        log.info("clock running; SIGTERM or Ctrl-C stops it")
        while not stop_event.wait(timeout=3600):
            pass
    finally:
        if stop is not None:
            stop()  # waits for a running job to finish: its lease and alert records stay consistent
        for s, handler in previous.items():
            signal.signal(s, handler)
        deps.coperniq.close()
        deps.store.close()
    return EXIT_OK
