"""The one wiring of the bot against the fakes, shared by the demo, the tests and the benchmarks.

    settings = fake_settings(sandbox, fake_slack, db_path=tmp / "bot.db")   # Settings
    deps = fake_deps(sandbox, fake_slack, db_path=tmp / "bot.db")           # bot.deps.Deps
    with running_harness(fake_slack, sandbox, tmp) as slack: ...            # the app, served

`sandbox` is a started CoperniqSandbox (or anything with base_url and api_key), `fake_slack` a
started FakeSlack or None (no Slack: the demo's dry run). Keyword overrides replace Settings
fields. The bot's own packages never import this module at load time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Secret, Settings
from bot.deps import Deps, build_deps, build_slack_client
from sandbox.slackclient import SIGNING_SECRET, SlackHarness

SANDBOX_KEY = "test-sandbox-key"
APP_URL = "https://app.coperniq.io/388"  # with a company id, as the web app's own links have
COMPANY_PHONE = "+15125550100"
INVOICE_CHANNEL = "C0INVOICES"
SLA_CHANNEL = "C0SLAALERT"


def fake_settings(
    sandbox: Any, fake_slack: Any = None, *, db_path: Path, **overrides: Any
) -> Settings:
    """Settings pointing at the Coperniq sandbox and, when given, the fake Slack."""
    slack: dict[str, Any] = {}
    if fake_slack is not None:
        slack = {
            "slack_bot_token": Secret(fake_slack.bot_token),
            "slack_signing_secret": Secret(SIGNING_SECRET),
            "slack_api_url": fake_slack.base_url,
            # where the digests go; only the jobs read them
            "invoice_alert_channel": INVOICE_CHANNEL,
            "sla_alert_channel": SLA_CHANNEL,
        }
    base = Settings(
        coperniq_api_key=Secret(getattr(sandbox, "api_key", SANDBOX_KEY)),
        coperniq_base_url=sandbox.base_url,
        coperniq_app_url=APP_URL,
        db_path=db_path,
        company_phone=COMPANY_PHONE,
        **slack,
    )
    return replace(base, **overrides)


def fake_deps(
    sandbox: Any,
    fake_slack: Any = None,
    *,
    db_path: Path,
    store: Any = None,
    coperniq_sleep: Callable[[float], None] | None = None,
    slack_retries: bool = True,
    clock: Callable[[], datetime] | None = None,
    **overrides: Any,
) -> Deps:
    """Deps (settings, store, Coperniq and Slack clients) against the fakes.

    coperniq_sleep replaces the client's waits between retries (jobs tests: no waiting);
    slack_retries=False gives a Slack client that answers `ratelimited` instead of waiting it
    out (the jobs' poster handles it and records the wait). clock (a benchmark playing days in
    minutes) is the time of the Coperniq client's budget ledger and of Deps.clock.
    """
    from bot.coperniq import CoperniqClient
    from bot.store import Store

    settings = fake_settings(sandbox, fake_slack, db_path=db_path, **overrides)
    store = store or Store(settings.db_path)
    client_kw: dict[str, Any] = {} if coperniq_sleep is None else {"sleep": coperniq_sleep}
    if clock is not None:
        client_kw["clock"] = clock
    coperniq = CoperniqClient(
        settings.coperniq_api_key,  # type: ignore[arg-type]
        settings.coperniq_base_url,
        store=store,
        daily_budget=settings.coperniq_daily_budget,
        **client_kw,
    )
    slack = None
    if fake_slack is not None:
        if slack_retries:
            slack = build_slack_client(settings)
        else:
            from slack_sdk import WebClient

            slack = WebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url)
    deps = build_deps(settings, store=store, coperniq=coperniq, slack=slack)
    return deps if clock is None else replace(deps, clock=clock)


@contextmanager
def running_harness(
    fake_slack: Any,
    sandbox: Any,
    tmp_dir: Path,
    *,
    listener_threads: int = 64,
    http_threads: int = 32,
    store: Any = None,
    **settings_overrides: Any,
) -> Iterator[SlackHarness]:
    """The app built from fake_deps(), served on loopback, with a SlackHarness to talk to it.

    Closing shuts the HTTP server and the listener pool down before anyone stops the fakes.
    """
    from bot.app import create_app
    from bot.serve import make_wsgi_server

    own_store = store is None
    deps = fake_deps(
        sandbox, fake_slack, db_path=tmp_dir / "bot.db", store=store, **settings_overrides
    )
    # As serve does: the guard in front of Bolt checks signatures (bot.httpguard).
    app = create_app(deps, listener_threads=listener_threads, request_verification_enabled=False)
    server = make_wsgi_server(
        app,
        "127.0.0.1",
        0,
        threads=http_threads,
        signing_secret=deps.settings.slack_signing_secret,
    ).start()
    harness = SlackHarness(
        app=app,
        server=server,
        fake_slack=fake_slack,
        sandbox=sandbox,
        settings=deps.settings,
        store=deps.store,
        coperniq=deps.coperniq,
    )
    try:
        yield harness
    finally:
        harness.close()
        if own_store:
            deps.store.close()
