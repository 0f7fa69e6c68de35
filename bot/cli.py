"""`coperniq-bot`: the command line; each command lives in its own module, imported lazily."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from bot.config import ConfigError
from bot.slackstart import SlackRefused

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="coperniq-bot",
        description="Slack bot for contractors who run their jobs in Coperniq.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser(
        "serve", help="run the Slack app (Socket Mode or HTTP) and the scheduled jobs"
    )
    s.add_argument(
        "--http", action="store_true", help="serve HTTP even when SLACK_APP_TOKEN is set"
    )
    s.add_argument("--port", type=int, help="HTTP port (default: PORT, 3000)")
    s.add_argument("--no-jobs", action="store_true", help="do not run the scheduled jobs here")
    s.set_defaults(target="bot.serve:main")

    s = sub.add_parser("clock", help="run only the scheduled jobs")
    s.set_defaults(target="jobs.cli:clock_main")

    s = sub.add_parser("jobs", help="list the scheduled jobs or run one once")
    jsub = s.add_subparsers(dest="jobs_command", metavar="JOBS_COMMAND", required=True)
    j = jsub.add_parser("list", help="each job's id, schedule, next run, channel and on/off")
    j.set_defaults(target="jobs.cli:list_main")
    j = jsub.add_parser("run", help="run one job once")
    from jobs.registry import JOBS  # the one list of jobs

    j.add_argument("name", choices=list(JOBS))
    j.add_argument("--dry-run", action="store_true", help="print the messages instead of posting")
    j.add_argument("--now", help="fix the clock (ISO-8601)")
    j.set_defaults(target="jobs.cli:run_main")

    s = sub.add_parser(
        "check", help="check configuration, Slack and Coperniq; one OK/FAIL line each"
    )
    s.add_argument(
        "--deep",
        action="store_true",
        help="also probe, read-only (at most 10 Coperniq calls), what the bot assumes about the "
        "Coperniq API; one OK/WARN/FAIL line each",
    )
    s.set_defaults(target="bot.check:main")

    s = sub.add_parser("manifest", help="print the Slack app manifest")
    s.add_argument("--url", help="public base URL for HTTP mode (Socket Mode when omitted)")
    s.set_defaults(target="bot.manifest:main")

    s = sub.add_parser(
        "webhooks",
        help="print the Coperniq Automations to create, with the webhook URL and its secret",
    )
    s.add_argument(
        "--url",
        help="the bot's public base URL: HTTP mode, the one Slack uses; Socket Mode, the one "
        "that forwards to WEBHOOK_PORT",
    )
    s.add_argument(
        "--http",
        action="store_true",
        help="the bot runs `serve --http` though SLACK_APP_TOKEN is set",
    )
    s.set_defaults(target="bot.webhook_setup:main")

    s = sub.add_parser("sandbox", help="run a local stand-in for an external service")
    ssub = s.add_subparsers(dest="sandbox_command", metavar="SERVICE", required=True)
    c = ssub.add_parser("coperniq", help="the Coperniq API sandbox")
    c.add_argument("--port", type=int, default=8765)
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--db", help="SQLite file for the sandbox's data (default: in memory)")
    c.add_argument("--projects", type=int, default=300, help="seeded projects")
    c.add_argument("--invoices", type=int, default=None, help="seeded invoices")
    c.add_argument("--seed", type=int, default=388)
    c.add_argument("--api-key", default="sandbox-key", help="the key the sandbox accepts")
    c.add_argument(
        "--webhook-url",
        metavar="URL",
        help="send Coperniq webhooks there when state changes, e.g. "
        "http://127.0.0.1:3000/coperniq/webhooks/<COPERNIQ_WEBHOOK_SECRET>",
    )
    c.add_argument(
        "--webhook-duplicate",
        action="store_true",
        help="deliver every webhook event twice, as Coperniq sometimes does",
    )
    c.set_defaults(target="sandbox.coperniq.cli:main")

    s = sub.add_parser(
        "demo", help="run the bot's jobs on the built-in sandbox, no credentials needed"
    )
    s.set_defaults(target="jobs.demo:main")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every URL at INFO; ours are fine but keep the noise down.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not getattr(args, "target", None):
        parser.print_help()
        return EXIT_USAGE
    module_name, func_name = args.target.split(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        return int(func(args) or 0)
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "sandbox":
            raise
        # The sandbox (sandbox/ in the repository) is not in the bot's wheel.
        hint = "./dev demo" if args.command == "demo" else "./dev bot sandbox coperniq"
        print(
            f"coperniq-bot {args.command} needs the sandbox package, which only a source "
            f"checkout of the bot has: run {hint} there.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except SlackRefused as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
