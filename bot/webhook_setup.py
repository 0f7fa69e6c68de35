"""`coperniq-bot webhooks`: the Coperniq Automations to create, with the webhook URL and its secret.

Coperniq has no API for webhooks: an admin builds one Automation per trigger in the Coperniq UI,
with the action "Call webhook" and the bot's URL. Coperniq signs nothing, so the secret in the
URL is the only protection; this command shows it on purpose, to the admin who runs it (it is
printed, never logged).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.config import Settings, load_settings

WEBHOOK_PATH = "/coperniq/webhooks/"
KEYGEN_COMMAND = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"

# The triggers the bot acts on, in the order an admin should create them (the one that alerts
# first), with what each does in the bot.
TRIGGERS: tuple[tuple[str, str], ...] = (
    (
        "PROJECT_PHASE_SLA_VIOLATION",
        "posts the project's open forms of that phase to the subscribed channels within seconds, "
        "instead of at the next hourly form-sla run (which then does not repeat them)",
    ),
    (
        "PROJECT_PHASE_COMPLETED",
        "shows the finished phase's alerts resolved, edited in place",
    ),
    (
        "PROJECT_PHASE_STARTED",
        "records the project's new phase and when it started, so time in phase is counted from "
        "it; the previous phase's alerts are shown resolved",
    ),
    (
        "TASK_STATUS_MOVEMENT",
        "updates the work order's card in the technician's DM in place with its new status",
    ),
    (
        "TASK_COMPLETED",
        "shows the work order done on the technician's card, edited in place",
    ),
)


@dataclass(frozen=True)
class Where:
    """Where the bot takes deliveries: its public base URL and the local port behind it."""

    base_url: str
    socket_mode: bool
    port: int


def webhook_url(base_url: str, secret: str) -> str:
    """The URL Coperniq calls: `<base>/coperniq/webhooks/<secret>`."""
    return f"{base_url.rstrip('/')}{WEBHOOK_PATH}{secret}"


def base_url_problem(url: str) -> str | None:
    """Why `url` cannot be the public base URL, or None."""
    split = urlsplit(url)
    if split.scheme not in ("http", "https") or not split.hostname:
        return f"--url must be the bot's public base URL, such as https://bot.example.com: {url!r}"
    if WEBHOOK_PATH.rstrip("/") in split.path:
        return "--url takes the base only (https://bot.example.com); the webhook path is added"
    if split.query or split.fragment:
        return "--url must not have a query or fragment"
    return None


def build_setup(where: Where, secret: str) -> str:
    """The setup steps as printed: where in Coperniq, one Automation per trigger, the URL."""
    url = webhook_url(where.base_url, secret)
    if where.socket_mode:
        listener = (
            f"Socket Mode: `coperniq-bot serve` listens on WEBHOOK_PORT ({where.port}) for this "
            f"path alone; {where.base_url} must forward to that port on the bot's host."
        )
    else:
        listener = (
            f"HTTP mode: `coperniq-bot serve` takes it beside /slack/events on PORT "
            f"({where.port}), behind {where.base_url}."
        )
    lines = [
        "Coperniq Automations for real-time alerts",
        "",
        "Webhook URL (keep it private: Coperniq signs nothing, the secret in it is the only key):",
        f"  {url}",
        *textwrap.wrap(listener, 96),
        "",
        "In Coperniq, as a company admin: Company Settings → Process Studio → Automations.",
        f"Create these {len(TRIGGERS)} automations, each the same way: new automation → the",
        'trigger → no conditions → action "Call webhook" with the URL → save → Active.',
        "(No conditions: the bot keeps what its channel subscriptions ask for, and an event for",
        "another project costs it nothing.)",
    ]
    for n, (key, effect) in enumerate(TRIGGERS, 1):
        lines += [
            "",
            f"{n}. Trigger: {key}",
            f'   Action: "Call webhook", URL {url}',
            *textwrap.wrap(
                f"In the bot: {effect}.", 96, initial_indent="   ", subsequent_indent="   "
            ),
        ]
    lines += [
        "",
        "Good to know:",
        "  - Coperniq sends nothing for what happened before an automation was switched on; the",
        "    scheduled runs still find those (and a full project sweep runs once a day).",
        "  - Invoices and forms have no triggers: the overdue-invoices digest and form completion",
        "    stay on the scheduled runs.",
        "  - Coperniq retries failed deliveries and sometimes sends one twice; the bot handles an",
        "    event once.",
        "  - To change the secret: set a new COPERNIQ_WEBHOOK_SECRET, restart the bot, run this",
        f"    command again and put the new URL into all {len(TRIGGERS)} automations.",
    ]
    return "\n".join(lines)


def where_from(settings: Settings, url: str | None, *, force_http: bool) -> Where | str:
    """Where deliveries go, or the sentence that says what is missing."""
    from bot.serve import uses_socket_mode  # the one rule for which mode serve runs in

    socket_mode = uses_socket_mode(settings, force_http=force_http)
    if socket_mode and settings.webhook_port is None:
        return (
            "In Socket Mode (SLACK_APP_TOKEN is set) the bot takes webhooks only on WEBHOOK_PORT: "
            "set WEBHOOK_PORT, expose that port on a public https URL, and run "
            "`coperniq-bot webhooks --url https://that-url`. (Running `serve --http`? Add --http.)"
        )
    if not url:
        if socket_mode:
            return (
                "Give the public https URL that forwards to WEBHOOK_PORT "
                f"({settings.webhook_port}) on the bot's host: "
                "`coperniq-bot webhooks --url https://hooks.example.com`. "
                "Coperniq calls the bot from the internet, so a public URL is needed in Socket "
                "Mode too."
            )
        return (
            "Give the bot's public base URL, the one Slack uses (`manifest --url`): "
            "`coperniq-bot webhooks --url https://bot.example.com`."
        )
    if problem := base_url_problem(url):
        return problem
    port = settings.webhook_port if socket_mode and settings.webhook_port else settings.port
    return Where(base_url=url.rstrip("/"), socket_mode=socket_mode, port=port)


def main(args: argparse.Namespace) -> int:
    """Print the Automation setup; exit 2 when the secret, the URL or WEBHOOK_PORT is missing."""
    settings = load_settings()
    secret = settings.coperniq_webhook_secret
    if not secret:
        print(
            "COPERNIQ_WEBHOOK_SECRET is not set, so the bot takes no webhooks. Create one with\n"
            f"  {KEYGEN_COMMAND}\n"
            "put it into .env as COPERNIQ_WEBHOOK_SECRET=<it>, restart `coperniq-bot serve`\n"
            "and run this command again.",
            file=sys.stderr,
        )
        return 2
    where = where_from(settings, getattr(args, "url", None), force_http=bool(args.http))
    if isinstance(where, str):
        print(where, file=sys.stderr)
        return 2
    if urlsplit(where.base_url).scheme != "https":
        # The secret travels in the URL: over plain http anyone on the way can read it.
        print(
            "Warning: the URL is not https, so the secret in it crosses the network in clear.",
            file=sys.stderr,
        )
    print(build_setup(where, secret.reveal()))
    return 0
