"""`coperniq-bot check`: configuration, Slack and Coperniq, one OK/FAIL line each.

`--deep` adds read-only probes of what the bot assumes about the Coperniq API (bot.deepcheck).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import TextIO

from bot.config import ConfigError, Settings, load_settings

logger = logging.getLogger(__name__)

# Missing ones are configuration problems, listed with the malformed ones (exit 2).
CHECK_NEEDS = ("slack_bot_token", "coperniq_api_key")


def check_slack(settings: Settings) -> tuple[bool, str]:
    """Call auth.test with the bot token; say who the bot is or why it failed."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    if not settings.slack_bot_token:
        return False, "SLACK_BOT_TOKEN is not set"
    client = WebClient(
        token=settings.slack_bot_token.reveal(), base_url=settings.slack_api_url, timeout=10
    )
    try:
        resp = client.auth_test()
    except SlackApiError as exc:
        from bot.slackstart import describe_refusal

        error = exc.response.get("error", "unknown_error") if exc.response else "unknown_error"
        return False, describe_refusal(error)
    except Exception as exc:  # noqa: BLE001 - any transport failure is a FAIL line, not a traceback
        return False, f"could not reach Slack at {settings.slack_api_url} ({type(exc).__name__})"
    return True, f"connected as @{resp.get('user')} in {resp.get('team')}"


def check_coperniq(settings: Settings) -> tuple[bool, str]:
    """One cheap Coperniq call (the first project, page size 1) with the configured key."""
    from bot.coperniq import CoperniqClient
    from bot.coperniq.errors import CoperniqError

    if not settings.coperniq_api_key:
        return False, "COPERNIQ_API_KEY is not set"
    from bot.store import Store

    # The bot's own ledger: the call is counted, and "left today" includes serve's and the jobs'.
    client = CoperniqClient(
        api_key=settings.coperniq_api_key,
        base_url=settings.coperniq_base_url,
        store=Store(settings.db_path),
        daily_budget=settings.coperniq_daily_budget,
    )
    try:
        # The list is a lazy generator: taking one item costs exactly one request.
        next(iter(client.interactive.projects.list(page_size=1)), None)
    except CoperniqError as exc:
        return False, exc.user_message
    finally:
        client.close()
    left = client.budget.remaining()
    return True, f"API key accepted at {settings.coperniq_base_url} ({left} requests left today)"


def run_checks(
    settings_loader: Callable[[], Settings] = lambda: load_settings(required=CHECK_NEEDS),
    out: TextIO = sys.stdout,
    *,
    deep: bool = False,
) -> int:
    """Print one line per check; 0 when none fails, 2 on configuration errors, 1 otherwise."""
    try:
        settings = settings_loader()
    except ConfigError as exc:
        print("FAIL configuration: " + "; ".join(exc.problems), file=out)
        print("SKIP Slack: fix the configuration first", file=out)
        print("SKIP Coperniq: fix the configuration first", file=out)
        if deep:
            print("SKIP deep probes: fix the configuration first", file=out)
        return 2
    print("OK   configuration", file=out)
    ok = True
    passed_by_name: dict[str, bool] = {}
    for name, check in (("Slack", check_slack), ("Coperniq", check_coperniq)):
        try:
            passed, why = check(settings)
        except Exception:  # noqa: BLE001 - a bug in one check must not hide the other
            logger.exception("%s check crashed", name)
            passed, why = False, "the check itself failed; see the log above"
        print(f"{'OK  ' if passed else 'FAIL'} {name}: {why}", file=out)
        passed_by_name[name] = passed
        ok = ok and passed
    if deep:
        from bot.deepcheck import run_probes

        for finding in run_probes(settings, coperniq_ok=passed_by_name["Coperniq"]):
            print(finding.line(), file=out)
            ok = ok and finding.status != "FAIL"
    return 0 if ok else 1


def main(args: argparse.Namespace) -> int:
    return run_checks(deep=bool(getattr(args, "deep", False)))
